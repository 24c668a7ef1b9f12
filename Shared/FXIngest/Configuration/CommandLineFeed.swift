import FXVenues
import FXConfiguration

/// One feed given by flags or environment variables instead of the YAML file's `feeds` list.
public struct CommandLineFeed: ConfigSection {
    public static let sectionName = "feed"

    public var provider: String?
    public var symbols: [String] = []
    public var webSocketURL: String?
    public var restURL: String?
    public var maxSymbolsPerConnection: Int?
    public var symbolMap: [String] = []
    public var bookDepth: Int?
    public var captureRaw = false

    public init() {}

    public static let settings: [Setting<CommandLineFeed>] = [
        Setting(\.provider, key: "provider", env: "PROVIDER", flag: "provider",
                reader: ValueReader.choice(ProviderRegistry.all.keys.sorted()).optional, help: "Provider of the command-line feed."),
        Setting(\.symbols, key: "symbols", env: "SYMBOLS", flag: "symbols", reader: .list,
                help: "Its provider symbols, comma-separated, e.g. BTC-USD,ETH-USD, OANDA:EUR_USD or CS.D.EURUSD.CFD.IP (IG)."),
        Setting(\.webSocketURL, key: "ws_url", env: "WS_URL", flag: "ws-url", reader: ValueReader.string().optional,
                help: "Overrides the provider's stream endpoint: its WebSocket, OANDA's HTTP stream host, or IG's REST gateway (its login names the stream; the simulator, tests)."),
        Setting(\.restURL, key: "rest_url", env: "REST_URL", flag: "rest-url", reader: ValueReader.string().optional,
                help: "The provider's REST endpoint, where the ingestor fetches Binance's book snapshots (default: the venue's, or ws_url with http(s) when only ws_url is set; repairs use the backfiller's `rest_url`)."),
        Setting(\.maxSymbolsPerConnection, key: "max_symbols_per_connection", env: "MAX_SYMBOLS_PER_CONNECTION",
                flag: "max-symbols-per-connection", reader: ValueReader.int(1...10_000).optional,
                help: "Symbols per connection (default per provider: coinbase 100, finnhub 50, oanda 20, ig 20)."),
        Setting(\.symbolMap, key: "symbol_map", env: "SYMBOL_MAP", flag: "symbol-map", reader: .list,
                help: "IG only: canonical symbols of epics that do not name a currency pair, `EPIC=BASE/QUOTE` comma-separated (e.g. IX.D.FTSE.DAILY.IP=FTSE/GBP)."),
        Setting(\.bookDepth, key: "book_depth", env: "BOOK_DEPTH", flag: "book-depth", reader: ValueReader.int(0...5_000).optional,
                help: "Venues with order books: levels per side, 0 for no books (default and choices per venue: kraken 10 of 10, 25, 100, 500, 1000; binance 1000 of 5, 10, 20, 50, 100, 500, 1000, 5000; coinbase 0 or the whole book)."),
        Setting(\.captureRaw, key: "capture_raw", env: "CAPTURE_RAW", flag: "capture-raw", reader: .bool,
                help: "Publish every frame the feed receives, verbatim (with control records of its connections), to <prefix>raw, for `fxadmin replay` and `fxadmin capture-export`."),
    ]

    public mutating func validate(_ context: ConfigContext) throws(ConfigurationError) {
        if provider != nil, symbols.isEmpty {
            throw ConfigurationError(code: .missing, key: "symbols", reason: "--symbols is required with --provider")
        }
        if provider == nil, !symbols.isEmpty {
            throw ConfigurationError(code: .missing, key: "provider", origin: context.origin(of: "symbols"),
                                     reason: "--provider is required with --symbols")
        }
    }

    func feed(environment: EnvironmentReader) throws(ConfigurationError) -> FeedConfiguration? {
        guard let provider else { return nil }
        return FeedConfiguration(provider: provider, symbols: symbols, webSocketURL: webSocketURL, restURL: restURL,
                                 credentials: try FeedFile.credentials(prefix: provider.uppercased(), environment: environment),
                                 maxSymbolsPerConnection: maxSymbolsPerConnection,
                                 symbolMap: try FeedFile.symbolMap(symbolMap, key: "symbol_map"), bookDepth: bookDepth, captureRaw: captureRaw)
    }
}
