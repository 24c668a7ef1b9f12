import Foundation
import FXKafka
import FXPostgres
import Logging

/// The operations behind the `fxadmin` command. Results go to standard output, diagnostics to the log.
public struct AdminTasks: Sendable {
    public let settings: ServiceSettings
    let logger: Logger

    public init(options: CommonOptions) throws {
        settings = try options.resolve(serviceName: "fxadmin", defaultHTTPPort: 0)
        var logger = Logger(label: "fxstream.fxadmin")
        logger.logLevel = settings.logLevel
        self.logger = logger
    }

    /// Creates every pipeline topic that is missing; existing ones are left as they are.
    public func createTopics(partitions: Int32?, replicationFactor: Int32) async throws {
        let count = try partitions ?? EnvironmentReader().value("FX_PARTITIONS").flatMap { Int32($0) } ?? 3
        let admin = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        let outcomes = try await admin.createTopics(settings.topics.all.map {
            KafkaTopicSpec(name: $0, partitions: count, replicationFactor: replicationFactor)
        })
        for (topic, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
            print("\(topic)\t\(outcome.rawValue)")
        }
    }

    public func describeTopics() async throws {
        let admin = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        for topic in try await admin.describeTopics(settings.topics.all) {
            print("\(topic.name)\tpartitions=\(topic.partitions.count)")
        }
    }

    public func migrate() async throws {
        let connection = try await PostgresConnection.connect(settings.database, logger: logger)
        let report = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: logger).migrate()
        await connection.close()
        print("applied\t\(report.applied.isEmpty ? "none" : report.applied.map(String.init).joined(separator: ","))")
        print("already_applied\t\(report.alreadyApplied.count)")
        print("timescaledb\t\(report.capabilities.timescaleEnabled ? "enabled" : "not enabled (plain PostgreSQL tables)")")
    }

    public func pendingMigrations() async throws {
        let connection = try await PostgresConnection.connect(settings.database, logger: logger)
        let pending = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: logger).pending()
        await connection.close()
        for migration in pending { print("\(migration.version)\t\(migration.name)") }
        if pending.isEmpty { print("none") }
    }
}
