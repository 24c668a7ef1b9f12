import ArgumentParser
import FXServiceChassis

@main
struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Builds exactly-once OHLCV candles from the tick stream into PostgreSQL and the candles topic.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await ServiceMain.run(role: .aggregator, options: options)
    }
}
