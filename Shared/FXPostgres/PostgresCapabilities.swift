/// What the connected server offers, for schema decisions (hypertables or plain tables) and for the
/// features a service can turn on (TimescaleDB compression and policies need its Timescale License
/// edition; the Apache-only edition has hypertables only).
public struct PostgresCapabilities: Sendable, Equatable {
    /// `server_version_num`, e.g. 150018.
    public var serverVersion: Int
    /// The `timescaledb` extension is installed on the server (may be created).
    public var timescaleAvailable: Bool
    /// The `timescaledb` library is in `shared_preload_libraries` (required to create the extension).
    public var timescalePreloaded: Bool
    /// The `timescaledb` extension is created in this database: hypertables can be used.
    public var timescaleEnabled: Bool
    /// The extension's version when enabled, e.g. `2.28.3`.
    public var timescaleVersion: String?
    /// `timescale` (compression, policies, continuous aggregates) or `apache` (hypertables only); nil
    /// when not enabled.
    public var timescaleLicense: String?

    public init(serverVersion: Int, timescaleAvailable: Bool, timescalePreloaded: Bool, timescaleEnabled: Bool,
                timescaleVersion: String? = nil, timescaleLicense: String? = nil) {
        self.serverVersion = serverVersion
        self.timescaleAvailable = timescaleAvailable
        self.timescalePreloaded = timescalePreloaded
        self.timescaleEnabled = timescaleEnabled
        self.timescaleVersion = timescaleVersion
        self.timescaleLicense = timescaleLicense
    }

    /// Compression and job-based policies (compression, retention) are available.
    public var timescalePolicies: Bool { timescaleEnabled && timescaleLicense == "timescale" }

    public static func detect(_ session: PostgresSession) async throws -> PostgresCapabilities {
        let row = try await session.query("""
            SELECT current_setting('server_version_num')::int AS version,
                   EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
                   -- A created extension is preloaded; the setting itself is readable only with pg_read_all_settings
                   -- (a least-privilege role has not: then unknown, read as not preloaded).
                   CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN true
                        WHEN pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')
                        THEN current_setting('shared_preload_libraries') ~ '(^|[ ,])"?timescaledb"?($|[ ,])'
                        ELSE false END AS preloaded,
                   (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS extversion,
                   current_setting('timescaledb.license', true) AS license
            """).first
        guard let row else { throw PostgresError(code: .server, message: "capability query returned no row") }
        let extversion = try row.decodeIfPresent(String.self, "extversion")
        let license = try row.decodeIfPresent(String.self, "license")
        return PostgresCapabilities(serverVersion: try row.decode(Int.self, "version"),
                                    timescaleAvailable: try row.decode(Bool.self, "available"),
                                    timescalePreloaded: try row.decode(Bool.self, "preloaded"),
                                    timescaleEnabled: extversion != nil,
                                    timescaleVersion: extversion,
                                    timescaleLicense: extversion == nil ? nil : (license?.isEmpty == false ? license : "timescale"))
    }

    /// One line for logs and `fxadmin migrate`: what is on and, when something is off, why.
    public var timescaleSummary: String {
        if timescaleEnabled {
            let edition = timescaleLicense == "apache"
                ? "Apache-only edition: hypertables on; compression, compression/retention policies and the compressed tick archive off"
                : "hypertables, compression and policies on"
            return "TimescaleDB \(timescaleVersion ?? "?") enabled (\(edition))"
        }
        if timescaleAvailable, !timescalePreloaded {
            return "TimescaleDB installed but not preloaded (set shared_preload_libraries = 'timescaledb' and restart): plain PostgreSQL tables"
        }
        if timescaleAvailable { return "TimescaleDB installed but not enabled in this database: plain PostgreSQL tables" }
        return "TimescaleDB not installed: plain PostgreSQL tables"
    }
}
