/// What the connected server offers, for schema decisions (hypertables or plain tables).
public struct PostgresCapabilities: Sendable, Equatable {
    /// `server_version_num`, e.g. 150018.
    public var serverVersion: Int
    /// The `timescaledb` extension is installed on the server (may be created).
    public var timescaleAvailable: Bool
    /// The `timescaledb` extension is created in this database: hypertables can be used.
    public var timescaleEnabled: Bool

    public static func detect(_ session: PostgresSession) async throws -> PostgresCapabilities {
        let row = try await session.query("""
            SELECT current_setting('server_version_num')::int AS version,
                   EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
                   EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS enabled
            """).first
        guard let row else { throw PostgresError(code: .server, message: "capability query returned no row") }
        return PostgresCapabilities(serverVersion: try row.decode(Int.self, "version"),
                                    timescaleAvailable: try row.decode(Bool.self, "available"),
                                    timescaleEnabled: try row.decode(Bool.self, "enabled"))
    }
}
