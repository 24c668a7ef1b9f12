import ArgumentParser
import FXIngest
import FXServiceChassis
import Metrics

@main
struct IngestorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingestor",
        abstract: "Streams provider WebSockets into normalized ticks, gap, health and reject events on Kafka.")

    @OptionGroup var options: CommonOptions
    @OptionGroup var ingest: IngestorOptions

    func run() async throws {
        let configuration = try ingest.resolve()
        try await ServiceMain.run(role: .ingestor, options: options) { settings, observability in
            [IngestorService(configuration: configuration, kafka: settings.kafka, topics: settings.topics,
                             instance: settings.instanceID, metricsFactory: MetricsSystem.factory, logger: observability.logger)]
        }
    }
}
