import FXConfiguration
import FXKafka
import FXPostgres
import FXServiceChassis
import Foundation
import Logging

/// The operations behind the `fxadmin` command. Results go to standard output, diagnostics to the log.
/// Reads the same keys as the services (flags, environment, `FXADMIN_CONFIG` file).
public struct AdminTasks: Sendable {
    public let settings: ServiceSettings
    public let database: DatabaseSettings
    public let admin: AdminSettings
    public let logger: Logger

    /// Resolves the configuration from `arguments` (flags only); nil when `--help`/`--print-config` was
    /// answered. Exits with status 78 (64 for an unknown flag) on bad configuration.
    public static func load(arguments: [String], environment: EnvironmentReader = EnvironmentReader()) -> AdminTasks? {
        do {
            let flags = ServiceMain.flagSpecs(for: [DatabaseSettings.self, AdminSettings.self])
            let input = try ConfigInput.parse(arguments, flags: flags, configVariable: "FXADMIN_CONFIG", environment: environment)
            if input.help {
                print(ConfigDocumentation.help(ServiceSettings.self) + "\n" + ConfigDocumentation.help(DatabaseSettings.self)
                      + "\n" + ConfigDocumentation.help(AdminSettings.self))
                return nil
            }
            var resolver = ConfigResolver(input: input)
            let settings = try resolver.resolve(ServiceSettings(serviceName: "fxadmin", httpPort: 0))
            let database = try resolver.resolve(DatabaseSettings(serviceName: "fxadmin"))
            let admin = try resolver.resolve(AdminSettings.self)
            try resolver.finish()
            if input.printConfig {
                print(resolver.printout(service: "fxadmin"), terminator: "")
                return nil
            }
            return AdminTasks(settings: settings, database: database, admin: admin)
        } catch {
            ServiceMain.exitConfigurationFailure(error, program: "fxadmin")
        }
    }

    init(settings: ServiceSettings, database: DatabaseSettings, admin: AdminSettings) {
        self.settings = settings
        self.database = database
        self.admin = admin
        var logger = Logger(label: "fxstream.fxadmin")
        logger.logLevel = settings.logLevel
        self.logger = logger
    }

    /// Creates every pipeline topic that is missing; existing ones are left as they are.
    public func createTopics() async throws {
        let client = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        let outcomes = try await client.createTopics(settings.topics.all.map {
            KafkaTopicSpec(name: $0, partitions: admin.partitions, replicationFactor: admin.replicationFactor, configs: settings.topics.configs(for: $0))
        })
        for (topic, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
            print("\(topic)\t\(outcome.rawValue)")
        }
    }

    public func describeTopics() async throws {
        let client = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        for topic in try await client.describeTopics(settings.topics.all) {
            print("\(topic.name)\tpartitions=\(topic.partitions.count)")
        }
    }

    public func migrate() async throws {
        let connection = try await PostgresConnection.connect(database.postgres, logger: logger)
        let report: Migrator.Report
        do { report = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: logger).migrate() }
        catch { await connection.close(); throw error }
        await connection.close()
        print("applied\t\(report.applied.isEmpty ? "none" : report.applied.map(String.init).joined(separator: ","))")
        print("already_applied\t\(report.alreadyApplied.count)")
        print("timescaledb\t\(report.capabilities.timescaleSummary)")
    }

    /// The service roles' table grants (``DatabaseRoles/grantScript``), as the schema's owner: `fxadmin setup`
    /// runs it after migrating, so tables a migration adds are granted too. Roles that do not exist are skipped.
    public func grantRoles() async throws {
        let connection = try await PostgresConnection.connect(database.postgres, logger: logger)
        do { try await connection.transaction { try await $0.executeScript(DatabaseRoles.grantScript) } }
        catch { await connection.close(); throw error }
        await connection.close()
        print("grants\tapplied")
    }

    /// Creates the per-service roles and hands the schema to `fx_migrator` (``DatabaseRoles/setupScript``),
    /// then grants when the schema exists. Needs a role with CREATEROLE that owns the database, or a superuser.
    public func createRoles() async throws {
        let connection = try await PostgresConnection.connect(database.postgres, logger: logger)
        do {
            try await connection.transaction { session in
                try await session.executeScript(DatabaseRoles.setupScript)
                let migrated = try await session.query("SELECT to_regclass('public.candles') IS NOT NULL AS migrated").rows.first
                if try migrated?.decode(Bool.self, "migrated") == true {
                    try await session.executeScript(DatabaseRoles.grantScript)
                }
            }
        } catch { await connection.close(); throw error }
        await connection.close()
        print("roles\t\(([DatabaseRoles.migrator] + DatabaseRoles.services).joined(separator: ","))")
    }

    public func pendingMigrations() async throws {
        let connection = try await PostgresConnection.connect(database.postgres, logger: logger)
        let pending: [Migration]
        do { pending = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: logger).pending() }
        catch { await connection.close(); throw error }
        await connection.close()
        for migration in pending { print("\(migration.version)\t\(migration.name)") }
        if pending.isEmpty { print("none") }
    }
}
