import ArgumentParser
import FXServiceChassis

@main
struct FXAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fxadmin",
        abstract: "Operates an FXStream deployment: topics and database migrations.",
        subcommands: [CreateTopicsCommand.self, DescribeTopicsCommand.self, MigrateCommand.self, PendingMigrationsCommand.self])
}

struct CreateTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-topics",
                                                    abstract: "Create the pipeline's topics that do not exist yet.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Partitions per topic (env FX_PARTITIONS).") var partitions: Int32?
    @Option(help: "Replication factor.") var replicationFactor: Int32 = 1

    func run() async throws {
        let admin = try AdminTasks(options: options)
        try await admin.createTopics(partitions: partitions, replicationFactor: replicationFactor)
    }
}

struct DescribeTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe-topics", abstract: "Show the pipeline's topics and partitions.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await AdminTasks(options: options).describeTopics()
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await AdminTasks(options: options).migrate()
    }
}

struct PendingMigrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pending-migrations", abstract: "List migrations not applied yet.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await AdminTasks(options: options).pendingMigrations()
    }
}
