import Logging

/// Applies pending migrations once, in order, under a PostgreSQL advisory lock, recording each in
/// `schema_migrations` in the same transaction as its SQL. Safe to run from many services at once.
public struct Migrator: Sendable {
    /// The advisory lock key all FXStream migrators share.
    public static let advisoryLockKey: Int64 = 0x4658_5354_524d // "FXSTRM"

    public struct Report: Sendable, Equatable {
        /// Versions applied by this run.
        public var applied: [Int]
        /// Versions found already applied.
        public var alreadyApplied: [Int]
        public var capabilities: PostgresCapabilities
    }

    let connection: PostgresConnection
    let migrations: [Migration]
    let logger: Logger

    public init(connection: PostgresConnection, migrations: [Migration], logger: Logger) {
        self.connection = connection
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Applies what is pending. Throws `migration` when an applied migration's checksum no longer matches.
    public func migrate() async throws -> Report {
        try await connection.withSession { session in
            // Migrations (DDL on large tables, another replica's migration holding the lock) may take longer
            // than the connection's statement and lock deadlines: lifted for this session, restored after.
            try await session.executeScript("SET statement_timeout = 0; SET lock_timeout = 0")
            do {
                try await session.query("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
                let report = try await migrateLocked(session)
                try await session.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey])
                try await session.executeScript("RESET statement_timeout; RESET lock_timeout")
                return report
            } catch {
                _ = try? await session.query("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey])
                _ = try? await session.executeScript("RESET statement_timeout; RESET lock_timeout")
                throw error
            }
        }
    }

    /// Versions not yet applied. Runs no DDL (a role that may not create tables can ask): without the
    /// bookkeeping table, every migration is pending.
    public func pending() async throws -> [Migration] {
        try await connection.withSession { session in
            let exists = try await session.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").first?.decode(Bool.self, "present")
            guard exists == true else { return migrations }
            let applied = try await appliedChecksums(session)
            return migrations.filter { applied[$0.version] == nil }
        }
    }

    private func migrateLocked(_ session: PostgresSession) async throws -> Report {
        try await ensureTable(session)
        let applied = try await appliedChecksums(session)
        for migration in migrations {
            if let checksum = applied[migration.version], !migration.accepts(appliedChecksum: checksum) {
                throw PostgresError(code: .migration,
                                    message: "migration \(migration.version) (\(migration.name)) changed after it was applied",
                                    context: ["applied_checksum": checksum, "file_checksum": migration.checksum])
            }
        }
        let known = Set(migrations.map(\.version))
        for version in applied.keys.sorted() where !known.contains(version) {
            logger.warning("database has migration \(version) that this build does not know (newer build ran?)")
        }
        var newlyApplied: [Int] = []
        for migration in migrations where applied[migration.version] == nil {
            try await session.query("BEGIN")
            do {
                try await session.executeScript(migration.sql)
                try await session.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                        [migration.version, migration.name, migration.checksum])
                try await session.query("COMMIT")
            } catch {
                _ = try? await session.query("ROLLBACK")
                throw PostgresError(code: .migration, message: "migration \(migration.version) (\(migration.name)) failed: \(error)",
                                    sqlState: (error as? PostgresError)?.sqlState)
            }
            logger.info("applied migration", metadata: ["version": .stringConvertible(migration.version), "name": .string(migration.name)])
            newlyApplied.append(migration.version)
        }
        let capabilities = try await PostgresCapabilities.detect(session)
        return Report(applied: newlyApplied, alreadyApplied: applied.keys.sorted(), capabilities: capabilities)
    }

    private func ensureTable(_ session: PostgresSession) async throws {
        try await session.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    private func appliedChecksums(_ session: PostgresSession) async throws -> [Int: String] {
        var applied: [Int: String] = [:]
        for row in try await session.query("SELECT version, checksum FROM schema_migrations") {
            applied[try row.decode(Int.self, "version")] = try row.decode(String.self, "checksum")
        }
        return applied
    }
}
