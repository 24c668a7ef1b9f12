import FXKafka
import FXPostgres
import Logging
import Metrics
import ServiceLifecycle

/// Checks the service's dependencies until shutdown and publishes the result to ``Readiness`` and to the
/// gauge `fx_dependency_up{dependency}` (1 up, 0 down):
/// - `kafka`: the broker answers metadata requests and the pipeline topics this service needs exist;
/// - `postgres` (services that use the database): a connection answers `SELECT 1`, after pending
///   migrations were applied when `migrateOnStart` is set.
/// The first check runs at once; later ones every `interval`. A failing dependency is retried on the
/// next tick, so a service started before its broker or database becomes ready without a restart.
public final class DependencyWatch: Service, Sendable {
    public struct Configuration: Sendable {
        public var kafka: KafkaConfiguration
        public var requiredTopics: [String]
        /// nil for services that do not use PostgreSQL.
        public var database: PostgresConfiguration?
        public var migrateOnStart: Bool
        public var interval: Duration

        public init(kafka: KafkaConfiguration, requiredTopics: [String], database: PostgresConfiguration?,
                    migrateOnStart: Bool, interval: Duration = .seconds(5)) {
            self.kafka = kafka
            self.requiredTopics = requiredTopics
            self.database = database
            self.migrateOnStart = migrateOnStart
            self.interval = interval
        }
    }

    private let configuration: Configuration
    private let readiness: Readiness
    private let logger: Logger

    public init(configuration: Configuration, readiness: Readiness, logger: Logger) {
        self.configuration = configuration
        self.readiness = readiness
        self.logger = logger
        readiness.register("kafka")
        if configuration.database != nil { readiness.register("postgres") }
    }

    /// Clients kept between checks.
    private struct Clients {
        var admin: KafkaAdmin?
        var database: PostgresConnection?
        var migrated: Bool
    }

    public func run() async throws {
        var clients = Clients(migrated: !configuration.migrateOnStart)
        let gauges = (kafka: Gauge(label: "fx_dependency_up", dimensions: [("dependency", "kafka")]),
                      postgres: Gauge(label: "fx_dependency_up", dimensions: [("dependency", "postgres")]))
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await checkKafka(&clients, gauge: gauges.kafka)
            await checkPostgres(&clients, gauge: gauges.postgres)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.interval) }
        }
        await clients.database?.close()
    }

    private func checkKafka(_ clients: inout Clients, gauge: Gauge) async {
        do {
            if clients.admin == nil { clients.admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger) }
            let described = try await clients.admin!.describeTopics(configuration.requiredTopics, timeout: .seconds(5))
            let existing = Set(described.map(\.name))
            let missing = configuration.requiredTopics.filter { !existing.contains($0) }
            if missing.isEmpty {
                update("kafka", ready: true, detail: "broker answers; topics present", gauge: gauge)
            } else {
                update("kafka", ready: false, detail: "missing topics: \(missing.joined(separator: ","))", gauge: gauge)
            }
        } catch {
            update("kafka", ready: false, detail: "\(error)", gauge: gauge)
        }
    }

    private func checkPostgres(_ clients: inout Clients, gauge: Gauge) async {
        guard let databaseConfiguration = configuration.database else { return }
        do {
            if clients.database == nil {
                clients.database = try await PostgresConnection.connect(databaseConfiguration, logger: logger)
            }
            let database = clients.database!
            if !clients.migrated {
                let report = try await Migrator(connection: database, migrations: try Migration.bundled(), logger: logger).migrate()
                clients.migrated = true
                logger.info("database schema current", metadata: [
                    "applied": .string(report.applied.map(String.init).joined(separator: ",")),
                    "timescaledb": .stringConvertible(report.capabilities.timescaleEnabled),
                ])
            }
            try await database.query("SELECT 1")
            update("postgres", ready: true, detail: "answers; schema current", gauge: gauge)
        } catch {
            update("postgres", ready: false, detail: "\(error)", gauge: gauge)
        }
    }

    private func update(_ name: String, ready: Bool, detail: String, gauge: Gauge) {
        let previous = readiness.snapshot[name]
        readiness.set(name, ready: ready, detail: detail)
        gauge.record(ready ? 1 : 0)
        if previous?.ready != ready || previous == nil {
            if ready { logger.info("dependency ready", metadata: ["dependency": .string(name)]) }
            else { logger.warning("dependency not ready: \(detail)", metadata: ["dependency": .string(name)]) }
        }
    }
}
