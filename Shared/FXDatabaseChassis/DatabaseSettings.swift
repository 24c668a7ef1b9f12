import FXConfiguration
import FXCore
import FXPostgres

/// The settings of the services that use PostgreSQL. Each key once, default in the property.
public struct DatabaseSettings: ConfigSection {
    public static let sectionName = "database"
    public static let defaultURL = "postgres://postgres@127.0.0.1:15432/fxstream"

    public var url = DatabaseSettings.defaultURL
    public var migrateOnStart = true
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
    ]

    public var postgres: PostgresConfiguration { PostgresConfiguration(url: url, applicationName: applicationName) }
}
