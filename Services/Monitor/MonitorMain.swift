import FXConfiguration
import FXDatabaseChassis
import FXMonitor
import FXServiceChassis
import Metrics

@main
enum MonitorMain: ServiceDefinition {
    static let role = ServiceRole.monitor
    static let sections: [any ConfigSection.Type] = [DatabaseSettings.self, MonitorConfiguration.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> (DatabaseSettings, MonitorConfiguration) {
        (try resolver.resolve(DatabaseSettings(serviceName: role.name)), try resolver.resolve(MonitorConfiguration.self))
    }

    static func parts(_ configuration: (DatabaseSettings, MonitorConfiguration), context: ServiceContext) throws -> ServiceParts {
        let (database, monitor) = configuration
        let service = MonitorService(configuration: monitor, kafka: context.settings.kafka, topics: context.settings.topics,
                                     instance: context.settings.instanceID, metricsFactory: MetricsSystem.factory, logger: context.logger)
        return ServiceParts(checks: [DatabaseServiceParts(settings: database, logger: context.logger).check], services: [service],
                            counters: { service.counters }, routes: MonitorAPI.routes(service))
    }

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
