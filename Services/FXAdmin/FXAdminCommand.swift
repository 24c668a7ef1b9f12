import ArgumentParser
import FXDatabaseChassis

@main
struct FXAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fxadmin",
        abstract: "Operates an FXStream deployment: topics and database migrations. Takes the services' flags and environment (see --help of a subcommand's flags with `fxadmin migrate --help-config`).",
        subcommands: [SetupCommand.self, CreateTopicsCommand.self, DescribeTopicsCommand.self, MigrateCommand.self, PendingMigrationsCommand.self])
}

/// The subcommands' flags go to the configuration resolver (`--brokers`, `--database-url`, `--partitions`, ...).
struct AdminFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: "Configuration flags, e.g. --brokers HOST:PORT, --database-url URL, --partitions N; --help-config lists them.")
    var flags: [String] = []

    var tasks: AdminTasks? { AdminTasks.load(arguments: flags.map { $0 == "--help-config" ? "--help" : $0 }) }
}

/// What a deployment's one-shot init step runs (compose `setup`, the Kubernetes setup Job): both idempotent.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setup", abstract: "Create the missing topics, then apply pending migrations.")
    @OptionGroup var options: AdminFlags

    func run() async throws {
        guard let tasks = options.tasks else { return }
        try await tasks.createTopics()
        try await tasks.migrate()
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
