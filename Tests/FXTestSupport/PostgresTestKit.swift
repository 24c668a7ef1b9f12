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
    public static func freshDatabase(_ prefix: String) async throws -> String {
        let admin = try await connect()
        let name = uniqueTable(prefix)
        try await admin.query("CREATE DATABASE \(name)")
        await admin.close()
        var url = TestEnvironment.databaseURL
        if let slash = url.lastIndex(of: "/") { url = String(url[...slash]) + name }
        let connection = try await connect(url: url)
        _ = try await Migrator(connection: connection, migrations: try Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        await connection.close()
        return url
    }
}
