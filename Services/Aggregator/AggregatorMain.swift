import FXAggregate
import FXConfiguration
import FXDatabaseChassis
import FXServiceChassis
import Metrics

@main
enum AggregatorMain: ServiceDefinition {
    static let role = ServiceRole(name: "aggregator", defaultHTTPPort: 9102,
                                  requiredTopics: { [$0.ticks, $0.candles, $0.rejects, $0.health] }, metricHelp: AggregatorMetrics.help)
    static let sections: [any ConfigSection.Type] = [DatabaseSettings.self, AggregatorConfiguration.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> (DatabaseSettings, AggregatorConfiguration) {
        (try resolver.resolve(DatabaseSettings(serviceName: role.name)),
         try resolver.resolve(AggregatorConfiguration.withTopicPrefix(settings.topicPrefix)))
    }

    static func parts(_ configuration: (DatabaseSettings, AggregatorConfiguration), context: ServiceContext) throws -> ServiceParts {
        let (database, aggregate) = configuration
        let databaseParts = DatabaseServiceParts(settings: database, logger: context.logger)
        let service = AggregatorService(configuration: aggregate, kafka: context.settings.kafka, topics: context.settings.topics,
                                        database: database.postgres, schema: databaseParts.gate, instance: context.settings.instanceID,
                                        metricsFactory: MetricsSystem.factory, logger: context.logger)
        return ServiceParts(checks: [databaseParts.check], services: [service], counters: { service.counters })
    }

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
