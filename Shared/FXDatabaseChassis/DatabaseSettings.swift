import FXConfiguration
import FXCore
import FXPostgres

/// The settings of the services that use PostgreSQL. Each key once, default in the property.
public struct DatabaseSettings: ConfigSection {
    public static let sectionName = "database"
    public static let defaultURL = "postgres://postgres@127.0.0.1:15432/fxstream"

    public var url = DatabaseSettings.defaultURL
    public var migrateOnStart = true
    public var connectTimeout: Duration = .seconds(10)
    public var timeouts = PostgresConfiguration.Timeouts()
    /// Set by the role: `application_name` in `pg_stat_activity`.
    public var applicationName = "fxstream"

    public init() {}

    public init(serviceName: String) {
        applicationName = "fxstream-\(serviceName)"
    }

    public static let settings: [Setting<DatabaseSettings>] = [
        Setting(\.url, key: "database_url", env: "DATABASE_URL", flag: "database-url", reader: .string(),
                help: "PostgreSQL URL; with a password, prefer DATABASE_URL_FILE (printed with the password redacted).",
                render: { Redaction.redactURL($0) }),
        Setting(\.migrateOnStart, key: "migrate_on_start", env: "MIGRATE_ON_START", flag: "migrate-on-start", reader: .bool,
                help: "Apply pending migrations at start; when off, the service waits until `fxadmin migrate` made the schema current."),
        Setting(\.connectTimeout, key: "database_connect_timeout", env: "DATABASE_CONNECT_TIMEOUT", flag: "database-connect-timeout",
                reader: .duration(bareUnit: .seconds, min: .seconds(1), max: .seconds(600)),
                help: "Longest wait for a connection, handshake included (a server that accepts and never answers fails then; retried)."),
        Setting(\.timeouts.statement, key: "database_statement_timeout", env: "DATABASE_STATEMENT_TIMEOUT", flag: "database-statement-timeout",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(86_400)),
                help: "Server-side statement_timeout of every session (0 = none); migrations lift it for their own session."),
        Setting(\.timeouts.lock, key: "database_lock_timeout", env: "DATABASE_LOCK_TIMEOUT", flag: "database-lock-timeout",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(86_400)),
                help: "Server-side lock_timeout of every session (0 = none): the longest a statement waits for a lock."),
        Setting(\.timeouts.idleInTransaction, key: "database_idle_in_transaction_timeout", env: "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT",
                flag: "database-idle-in-transaction-timeout", reader: .duration(bareUnit: .milliseconds, max: .seconds(86_400)),
                help: "Server-side idle_in_transaction_session_timeout (0 = none): a transaction left idle this long is ended."),
        Setting(\.timeouts.tcpUser, key: "database_tcp_user_timeout", env: "DATABASE_TCP_USER_TIMEOUT", flag: "database-tcp-user-timeout",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(3_600)),
                help: "TCP_USER_TIMEOUT of the connection (0 = the kernel's): unacknowledged data this long breaks a black-holed connection."),
    ]

    public var postgres: PostgresConfiguration {
        PostgresConfiguration(url: url, applicationName: applicationName,
                              connectTimeoutSeconds: Int(max(1, connectTimeout.nanosecondsClamped / 1_000_000_000)), timeouts: timeouts)
    }
}
