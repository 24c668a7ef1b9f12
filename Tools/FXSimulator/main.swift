import ArgumentParser
import FXSim
import Logging
import ServiceLifecycle

@main
struct FXSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fxsim",
        abstract: "Exchange simulator: Coinbase and Finnhub WebSocket feeds and REST candles, with fault injection.")

    @Option(help: "Listen address.") var host = "127.0.0.1"
    @Option(name: [.customLong("port"), .customLong("http-port")], help: "Listen port (0 = any free port).") var port = 8790
    @Option(help: "Random-walk seed: the same seed gives the same price path per symbol.") var seed: UInt64 = 42
    @Option(help: "Market step in milliseconds.") var stepMs = 100
    @Option(help: "Probability that an instrument trades in a step.") var tradeProbability = 0.3
    @Option(help: "Finnhub symbols per connection before 'Subscribing to too many symbols'.") var finnhubMaxSymbols = 50
    @Option(help: "Minutes of trade history generated at start for the configured instruments (REST candles for backfill).") var historyMinutes = 0
    @Option(help: "Log level.") var logLevel = "info"

    func run() async throws {
        var configuration = SimConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.seed = seed
        configuration.stepInterval = .milliseconds(stepMs)
        configuration.tradeProbability = tradeProbability
        configuration.finnhubMaxSymbols = finnhubMaxSymbols
        configuration.historyMinutes = max(0, min(historyMinutes, 7 * 24 * 60))
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "fxsim")
        let simulator = SimulatorService(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: simulator)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("fxsim starting", metadata: ["address": .string("\(host):\(port)"), "seed": .stringConvertible(seed)])
        try await group.run()
    }
}
