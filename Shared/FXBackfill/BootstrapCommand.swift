import FXContracts
import FXConfiguration
import FXCore
import FXDatabaseChassis
import FXVenues
import FXPostgres
import FXServiceChassis
import Foundation
import Logging

/// `backfiller bootstrap --source coinbase --symbols BTC/USD,ETH/USD --days 7`: records a `bootstrap`
/// gap per symbol (the last `days` of whole minutes) in the ledger, where the running backfillers pick it
/// up like any gap. Takes the database flags and environment of the service (`--database-url`, ...).
public enum BootstrapCommand {
    /// What to load.
    public struct Request: ConfigSection {
        public static let sectionName = "bootstrap"
        public var source = ""
        public var symbols: [String] = []
        public var days = 7

        public init() {}

        public static let settings: [Setting<Request>] = [
            Setting(\.source, key: "source", env: nil, flag: "source", reader: .choice(BackfillerConfiguration.historySources),
                    help: "Source whose REST history is loaded."),
            Setting(list: \.symbols, key: "symbols", env: nil, flag: "symbols", item: .string(),
                    help: "Symbols, canonical (`BTC/USD`) or the venue's (`BTC-USD`, `OANDA:EUR_USD`), comma-separated."),
            Setting(\.days, key: "days", env: nil, flag: "days", reader: .int(1...3_650), help: "Days of 1-minute history to load."),
        ]
    }

    /// Runs the command and exits (0 when every symbol's gap was recorded).
    public static func main(arguments: [String]) async -> Never {
        let database: DatabaseSettings
        let request: Request
        do {
            let flags = ServiceMain.flagSpecs(for: [DatabaseSettings.self, Request.self])
            let input = try ConfigInput.parse(arguments, flags: flags, configVariable: "BACKFILLER_CONFIG", environment: EnvironmentReader())
            if input.help {
                print("usage: backfiller bootstrap --source SOURCE --symbols A,B [--days N] [database flags]\n\n"
                      + ConfigDocumentation.help(Request.self) + "\n" + ConfigDocumentation.help(DatabaseSettings.self))
                exit(0)
            }
            var resolver = ConfigResolver(input: input)
            _ = try resolver.resolve(ServiceSettings(serviceName: "backfiller", httpPort: 0))
            database = try resolver.resolve(DatabaseSettings(serviceName: "backfiller-bootstrap"))
            request = try resolver.resolve(Request.self)
            try resolver.finish()
        } catch {
            ServiceMain.exitConfigurationFailure(error, program: "backfiller bootstrap")
        }
        guard !request.source.isEmpty, !request.symbols.isEmpty else {
            FileHandle.standardError.write(Data("backfiller bootstrap: --source and --symbols are required\n".utf8))
            exit(ConfigInput.UsageError.exitCode)
        }
        var logger = Logger(label: "fxstream.backfiller")
        logger.logLevel = .warning
        do {
            let connection = try await PostgresConnection.connect(database.postgres, logger: logger)
            let ledger = GapLedger(connection: connection)
            let provider = try ProviderRegistry.provider(request.source)
            let history = provider as? any MarketHistory
            let now = WallClock.nanoseconds()
            let last = now / 60_000_000_000 * 60_000_000_000 - 60_000_000_000
            for input in request.symbols {
                let venue = history?.venueSymbol(forCanonical: input) ?? input
                let symbol = input.contains("/") && !input.contains(":") ? input.uppercased() : provider.canonicalSymbol(venue) ?? input
                let event = GapEvent(source: request.source, symbol: symbol, venueSymbol: venue,
                                     from: last - Int64(request.days) * 86_400_000_000_000, to: last, reason: .bootstrap,
                                     detectedAt: now, detail: "backfiller bootstrap --days \(request.days)", instance: "bootstrap")
                let gap = try await ledger.record(event)
                print("\(request.source) \(symbol) (\(venue)): \(request.days) day(s) to \(Timestamps.rfc3339(nanoseconds: last, fractionDigits: 0))"
                      + (gap.map { " -> gap \($0.id) \($0.status)" } ?? " (already recorded)"))
            }
            await connection.close()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("backfiller bootstrap: \(error)\n".utf8))
            exit(1)
        }
    }
}
