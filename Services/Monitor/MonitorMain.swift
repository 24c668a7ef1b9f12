import FXConfiguration
import FXDatabaseChassis
import FXMonitor
import FXServiceChassis
import Metrics

@main
enum MonitorMain: ServiceDefinition {
    static let role = ServiceRole(name: "monitor", defaultHTTPPort: 9104,
                                  requiredTopics: { [$0.health, $0.gaps, $0.ticks, $0.rejects, $0.candles, $0.alerts] }, metricHelp: MonitorMetrics.help)
    static let sections: [any ConfigSection.Type] = [DatabaseSettings.self, MonitorConfiguration.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> (DatabaseSettings, MonitorConfiguration, [AlertRule]) {
        let database = try resolver.resolve(DatabaseSettings(serviceName: role.name))
        let monitor = try resolver.resolve(MonitorConfiguration.self)
        return (database, monitor, try monitor.alertRules())
    }

    static func parts(_ configuration: (DatabaseSettings, MonitorConfiguration, [AlertRule]), context: ServiceContext) throws -> ServiceParts {
        let (database, monitor, rules) = configuration
        let service = MonitorService(configuration: monitor, rules: rules, kafka: context.settings.kafka, topics: context.settings.topics,
                                     instance: context.settings.instanceID, database: database.postgres,
                                     metricsFactory: MetricsSystem.factory, logger: context.logger)
        return ServiceParts(checks: [DatabaseServiceParts(settings: database, logger: context.logger).check, PartitionAssignmentCheck(service: service)],
                            services: [service],
                            counters: { service.counters }, routes: MonitorAPI.routes(service))
    }

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
