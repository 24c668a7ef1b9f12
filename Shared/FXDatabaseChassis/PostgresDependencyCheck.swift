import FXPostgres
import FXServiceChassis
import Logging
import Synchronization

/// `postgres`: a connection answers `SELECT 1` and the schema is current — after this service applied
/// the pending migrations (`migrate_on_start`), or, when it must not migrate, once none are pending.
/// Opens the ``SchemaGate`` the first time the schema is found current.
public final class PostgresDependencyCheck: DependencyCheck {
    public let name = "postgres"
    private let configuration: PostgresConfiguration
    private let migrateOnStart: Bool
    private let gate: SchemaGate
    private let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    public init(settings: DatabaseSettings, gate: SchemaGate, logger: Logger) {
        self.configuration = settings.postgres
        self.migrateOnStart = settings.migrateOnStart
        self.gate = gate
        self.logger = logger
    }

    public func check() async -> DependencyStatus {
        do {
            let database: PostgresConnection
            if let existing = connection.withLock({ $0 }) { database = existing }
            else {
                database = try await PostgresConnection.connect(configuration, logger: logger)
                connection.withLock { $0 = database }
            }
            if !gate.isOpen {
                let migrator = Migrator(connection: database, migrations: try Migration.bundled(), logger: logger)
                let capabilities: PostgresCapabilities
                if migrateOnStart {
                    let report = try await migrator.migrate()
                    capabilities = report.capabilities
                    logger.info("database schema current", metadata: [
                        "applied": .string(report.applied.map(String.init).joined(separator: ",")),
                        "timescaledb": .string(capabilities.timescaleSummary),
                    ])
                } else {
                    let pending = try await migrator.pending()
                    guard pending.isEmpty else {
                        return DependencyStatus(ready: false, detail: "schema not current: \(pending.count) pending migration(s); run `fxadmin migrate`")
                    }
                    capabilities = try await database.withSession { try await PostgresCapabilities.detect($0) }
                }
                gate.open(capabilities)
            }
            try await database.query("SELECT 1")
            return DependencyStatus(ready: true, detail: "answers; schema current")
        } catch {
            return DependencyStatus(ready: false, detail: "\(error)")
        }
    }

    public func close() async {
        await connection.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }?.close()
    }
}
