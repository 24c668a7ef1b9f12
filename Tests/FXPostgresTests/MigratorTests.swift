import Foundation
import FXPostgres
import FXTestSupport
import Testing

@Suite("PostgreSQL: versioned migrations", .tags(.integration))
struct MigratorTests {
    /// A database of its own, so migration state does not leak between tests.
    private func freshDatabase() async throws -> (PostgresConnection, String) {
        let admin = try await PostgresTestKit.connect()
        let name = PostgresTestKit.uniqueTable("mig")
        try await admin.query("CREATE DATABASE \(name)")
        await admin.close()
        let url = TestEnvironment.databaseURL.replacingOccurrences(of: "/fxstream", with: "/\(name)")
        return (try await PostgresTestKit.connect(url: url), url)
    }

    private let migrations = [
        Migration(version: 1, name: "one", sql: "CREATE TABLE m_one (id int); INSERT INTO m_one VALUES (1);"),
        Migration(version: 2, name: "two", sql: "ALTER TABLE m_one ADD COLUMN note text;"),
    ]

    @Test("pending migrations are applied once, in order, and recorded")
    func appliesOnce() async throws {
        let (db, _) = try await freshDatabase()
        let migrator = Migrator(connection: db, migrations: migrations.reversed(), logger: TestEnvironment.logger("migrator"))
        #expect(try await migrator.pending().map(\.version) == [1, 2])
        let first = try await migrator.migrate()
        #expect(first.applied == [1, 2])
        let second = try await migrator.migrate()
        #expect(second.applied == [])
        #expect(second.alreadyApplied == [1, 2])
        #expect(try await db.query("SELECT count(*) AS n FROM m_one").first?["n"] == "1")
        #expect(try await db.query("SELECT version FROM schema_migrations ORDER BY version").map { $0["version"] } == ["1", "2"])
        await db.close()
    }

    @Test("concurrent migrators apply each migration exactly once")
    func concurrent() async throws {
        let (db, url) = try await freshDatabase()
        await db.close()
        let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let connection = try await PostgresTestKit.connect(url: url)
                    defer { Task { await connection.close() } }
                    return try await Migrator(connection: connection, migrations: migrations,
                                              logger: TestEnvironment.logger("migrator")).migrate()
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.flatMap(\.applied).sorted() == [1, 2])
    }

    @Test("a failing migration is rolled back entirely and reported with its SQLSTATE")
    func failingMigration() async throws {
        let (db, _) = try await freshDatabase()
        let broken = [Migration(version: 1, name: "broken", sql: "CREATE TABLE m_broken (id int); INSERT INTO m_broken VALUES ('x');")]
        await #expect { try await Migrator(connection: db, migrations: broken, logger: TestEnvironment.logger("m")).migrate() } throws: { error in
            let error = error as! PostgresError
            return error.code == .migration && error.sqlState == .invalidTextRepresentation
        }
        #expect(try await db.query("SELECT to_regclass('m_broken') AS t").first?["t"] == nil)
        #expect(try await db.query("SELECT count(*) AS n FROM schema_migrations").first?["n"] == "0")
        await db.close()
    }

    @Test("an applied migration whose file changed is refused")
    func checksumMismatch() async throws {
        let (db, _) = try await freshDatabase()
        _ = try await Migrator(connection: db, migrations: migrations, logger: TestEnvironment.logger("m")).migrate()
        var edited = migrations
        edited[0] = Migration(version: 1, name: "one", sql: "CREATE TABLE m_one (id bigint);")
        await #expect { try await Migrator(connection: db, migrations: edited, logger: TestEnvironment.logger("m")).migrate() } throws: { error in
            (error as! PostgresError).code == .migration
        }
        await db.close()
    }

    @Test("the bundled migrations apply on plain PostgreSQL and report whether TimescaleDB is enabled")
    func bundled() async throws {
        let (db, _) = try await freshDatabase()
        let bundled = try Migration.bundled()
        #expect(bundled.first?.version == 1)
        let report = try await Migrator(connection: db, migrations: bundled, logger: TestEnvironment.logger("m")).migrate()
        #expect(report.applied == bundled.map(\.version))
        #expect(report.capabilities.serverVersion >= 150000)
        let enabled = try await db.query("SELECT count(*) AS n FROM pg_extension WHERE extname = 'timescaledb'").first?["n"] == "1"
        #expect(report.capabilities.timescaleEnabled == enabled)
        await db.close()
    }

    @Test("migration files are read in version order and bad names are refused")
    func loadingFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("migs"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 2;".write(to: directory.appendingPathComponent("0010_later.sql"), atomically: true, encoding: .utf8)
        try "SELECT 1;".write(to: directory.appendingPathComponent("0002_first.sql"), atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: directory).map(\.version) == [2, 10])
        #expect(try Migration.load(from: directory).map(\.name) == ["first", "later"])
        try "x".write(to: directory.appendingPathComponent("nonumber.sql"), atomically: true, encoding: .utf8)
        #expect(throws: PostgresError.self) { try Migration.load(from: directory) }
    }
}
