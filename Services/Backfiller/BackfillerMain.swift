import FXBackfill
import FXConfiguration
import FXDatabaseChassis
import FXServiceChassis
import Metrics

@main
enum BackfillerMain: ServiceDefinition {
    static let role = ServiceRole(name: "backfiller", defaultHTTPPort: 9103,
                                  requiredTopics: { [$0.gaps, $0.candles, $0.rejects, $0.health] }, metricHelp: BackfillMetrics.help)
    static let sections: [any ConfigSection.Type] = [DatabaseSettings.self, BackfillerConfiguration.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> (DatabaseSettings, BackfillerConfiguration) {
        (try resolver.resolve(DatabaseSettings(serviceName: role.name)),
         try resolver.resolve(BackfillerConfiguration.withTopicPrefix(settings.topicPrefix)))
    }

    static func parts(_ configuration: (DatabaseSettings, BackfillerConfiguration), context: ServiceContext) throws -> ServiceParts {
        let (database, backfill) = configuration
        let databaseParts = DatabaseServiceParts(settings: database, logger: context.logger)
        let context = BackfillerContext(configuration: backfill, kafka: context.settings.kafka, topics: context.settings.topics,
                                        database: database.postgres, schema: databaseParts.gate, instance: context.settings.instanceID,
                                        metricsFactory: MetricsSystem.factory, logger: context.logger)
        // One producer and one HTTP client for the process, shared by its services and stopped after them.
        let backfiller = try BackfillerServices(context: context)
        return ServiceParts(checks: [databaseParts.check], services: backfiller.services, counters: backfiller.counters)
    }

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "bootstrap" { await BootstrapCommand.main(arguments: Array(arguments.dropFirst())) }
        await ServiceMain.main(Self.self)
    }
}
