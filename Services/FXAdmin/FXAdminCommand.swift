import ArgumentParser
import FXDatabaseChassis
import FXServiceChassis
import Logging

@main
struct FXAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fxadmin",
        abstract: "Operates an FXStream deployment: topics, database migrations and roles, raw capture replays and exports. Takes the services' flags and environment (see --help of a subcommand's flags with `fxadmin migrate --help-config`).",
        subcommands: [SetupCommand.self, CreateTopicsCommand.self, DescribeTopicsCommand.self, MigrateCommand.self, PendingMigrationsCommand.self,
                      RolesCommand.self, GrantsCommand.self, AlertReceiverCommand.self, ReplayCommand.self, CaptureExportCommand.self])
}

/// The subcommands' flags go to the configuration resolver (`--brokers`, `--database-url`, `--partitions`, ...).
struct AdminFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: "Configuration flags, e.g. --brokers HOST:PORT, --database-url URL, --partitions N; --help-config lists them.")
    var flags: [String] = []

    var tasks: AdminTasks? { AdminTasks.load(arguments: flags.map { $0 == "--help-config" ? "--help" : $0 }) }
}

/// What a deployment's one-shot init step runs (compose `setup`, the Kubernetes setup Job): both idempotent.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setup", abstract: "Create the missing topics, apply pending migrations, then the service roles' grants (for the roles that exist).")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        guard let tasks = options.tasks else { return }
        try await tasks.createTopics()
        try await tasks.migrate()
        try await tasks.grantRoles()
    }
}

struct CreateTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-topics", abstract: "Create the pipeline's topics that do not exist yet.")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        try await options.tasks?.createTopics()
    }
}

struct DescribeTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe-topics", abstract: "Show the pipeline's topics and partitions.")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        try await options.tasks?.describeTopics()
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        try await options.tasks?.migrate()
    }
}

struct PendingMigrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pending-migrations", abstract: "List migrations not applied yet.")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        try await options.tasks?.pendingMigrations()
    }
}

/// Once per database, by its owner with CREATEROLE (or a superuser): the per-service roles.
struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles",
        abstract: "Create the per-service database roles (fx_migrator, fx_ingest, fx_aggregator, fx_backfiller, fx_monitor), hand the schema to fx_migrator and grant each role its tables. --print-sql prints the SQL instead, for a DBA to review and run.")
    @Flag(name: .customLong("print-sql"), help: "Print the SQL (roles, then grants) and exit.")
    var printSQL = false
    @OptionGroup var options: AdminFlags

    func run() async throws {
        if printSQL {
            print(DatabaseRoles.setupScript + "\n-- After the migrations (fxadmin setup runs this as fx_migrator):\n" + DatabaseRoles.grantScript)
            return
        }
        try await options.tasks?.createRoles()
    }
}

struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grants", abstract: "Apply the service roles' table grants (as the schema's owner; setup does it after migrating).")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        try await options.tasks?.grantRoles()
    }
}

/// A webhook receiver for a laptop stack: logs and keeps what Alertmanager and the monitor post.
struct AlertReceiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert-receiver",
        abstract: "Receive alert webhooks (any POST path) and show them: one log line each, and GET /received for the latest 200.")
    @Option(name: .customLong("http-host"), help: "Address to listen on.") var host = "0.0.0.0"
    @Option(name: .customLong("http-port"), help: "Port to listen on (0: any free one, logged).") var port = 8799

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "fxstream.alert-receiver")
        try await AlertReceiver.make(host: host, port: port, logger: logger).runService()
    }
}
