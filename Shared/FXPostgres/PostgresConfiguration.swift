import FXCore

/// How to reach PostgreSQL.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection URL or keyword/value string, e.g. `postgres://user@127.0.0.1:5432/fxstream`.
    /// Logged only through ``redactedURL``.
    public var url: String
    /// `application_name` shown in `pg_stat_activity`.
    public var applicationName: String
    /// Seconds to wait for a connection (libpq `connect_timeout`).
    public var connectTimeoutSeconds: Int

    public init(url: String, applicationName: String = "fxstream", connectTimeoutSeconds: Int = 10) {
        self.url = url
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// The URL with its password removed: safe to log.
    public var redactedURL: String { Redaction.redactURL(url) }
}
