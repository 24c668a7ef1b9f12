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
