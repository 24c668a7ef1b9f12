import Foundation
import FXPostgres

public enum PostgresTestKit {
    public static func connect(url: String = TestEnvironment.databaseURL) async throws -> PostgresConnection {
        try await PostgresConnection.connect(PostgresConfiguration(url: url, applicationName: "fxstream-tests"),
                                             logger: TestEnvironment.logger("postgres"))
    }

    /// A table name no other test uses.
    public static func uniqueTable(_ prefix: String) -> String {
        TestEnvironment.uniqueName(prefix).replacingOccurrences(of: "-", with: "_")
    }
}

extension PostgresTestKit {
    /// A new database of its own (migrated), for tests whose services would otherwise share work with
    /// other tests' services (e.g. backfillers claiming each other's gaps). Returns its URL.
    /// Databases a crashed run left behind under this prefix are dropped first: each TimescaleDB database
    /// holds a background scheduler, and the server has a bounded number of them. Call
    /// ``dropDatabase(_:)`` at the end of the test.
    public static func freshDatabase(_ prefix: String) async throws -> String {
        let admin = try await connect()
        let name = uniqueTable(prefix)
        let leftovers = try await admin.query("SELECT datname FROM pg_database WHERE datname LIKE $1", [prefix.replacingOccurrences(of: "-", with: "_") + "\\_%"])
        for row in leftovers.rows { if let old = row["datname"] { try await admin.query("DROP DATABASE IF EXISTS \(old) WITH (FORCE)") } }
        try await admin.query("CREATE DATABASE \(name)")
        if ProcessInfo.processInfo.environment["FX_TEST_TIMESCALEDB"] == "off" {   // the plain-PostgreSQL run
            try await admin.query("ALTER DATABASE \(name) SET fxstream.timescaledb = 'off'")
        }
        await admin.close()
        var url = TestEnvironment.databaseURL
        if let slash = url.lastIndex(of: "/") { url = String(url[...slash]) + name }
        let connection = try await connect(url: url)
        _ = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        await connection.close()
        return url
    }
}

extension PostgresTestKit {
    /// Drops a database made by ``freshDatabase(_:)`` (its connections are ended).
    public static func dropDatabase(_ url: String) async {
        guard let name = url.split(separator: "/").last.map(String.init), let admin = try? await connect() else { return }
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.close()
    }
}
