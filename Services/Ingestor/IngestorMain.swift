import FXConfiguration
import FXIngest
import FXServiceChassis
import Metrics

@main
enum IngestorMain: ServiceDefinition {
    static let role = ServiceRole(name: "ingestor", defaultHTTPPort: 9101,
                                  requiredTopics: { [$0.ticks, $0.gaps, $0.health, $0.rejects] }, metricHelp: IngestMetrics.help.merging(RawCapture.help) { first, _ in first })
    static let sections: [any ConfigSection.Type] = [IngestorConfiguration.self, CommandLineFeed.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> IngestorConfiguration {
        try IngestorConfiguration.resolve(&resolver)
    }

    static func parts(_ configuration: IngestorConfiguration, context: ServiceContext) throws -> ServiceParts {
        let service = IngestorService(configuration: configuration, kafka: context.settings.kafka, topics: context.settings.topics,
                                      instance: context.settings.instanceID, metricsFactory: MetricsSystem.factory, logger: context.logger)
        return ServiceParts(checks: service.readinessChecks, services: [service],
                            counters: { service.counters.snapshot.map { ($0.0, Int64($0.1)) } })
    }

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
