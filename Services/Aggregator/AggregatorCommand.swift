import ArgumentParser
import FXAggregate
import FXServiceChassis
import Metrics

@main
struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Builds exactly-once OHLCV candles from the tick stream into PostgreSQL and the candles topic.")

    @OptionGroup var options: CommonOptions
    @OptionGroup var aggregate: AggregatorOptions

    func run() async throws {
        let configuration = try aggregate.resolve()
        try await ServiceMain.run(role: .aggregator, options: options) { settings, observability in
            [AggregatorService(configuration: configuration, kafka: settings.kafka, topics: settings.topics, database: settings.database,
                               instance: settings.instanceID, metricsFactory: MetricsSystem.factory, logger: observability.logger)]
        }
    }
}
