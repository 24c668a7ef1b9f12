import FXVenues
import Foundation

/// One provider feed of an ingestor: which symbols, where, with which credentials. Several feeds (of the
/// same or different providers) may run in one process.
public struct FeedConfiguration: Sendable {
    /// Provider id: `coinbase`, `finnhub`, `oanda` or `ig`.
    public var provider: String
    /// Provider symbols (`BTC-USD`, `OANDA:EUR_USD`, `CS.D.EURUSD.CFD.IP`).
    public var symbols: [String]
    /// Overrides the provider's WebSocket endpoint (tests and `fxsim` use this).
    public var webSocketURL: String?
    /// Overrides the provider's REST endpoint: the ingestor fetches book snapshots there (Binance); the
    /// backfiller reads history there. When only `webSocketURL` is overridden, its scheme swapped
    /// (`ws` -> `http`, `wss` -> `https`) is the REST endpoint (the simulator serves both on one address).
    public var restURL: String?
    /// API credentials; a provider with one connection per key (Finnhub) needs one per connection.
    public var credentials: [ProviderCredential]
    public var maxSymbolsPerConnection: Int?
    public var connectionStaleAfter: Duration?
    public var symbolStaleAfter: Duration?
    /// How missed messages are detected; nil: the provider's default for its real endpoint, and
    /// `contiguous` when `webSocketURL` points elsewhere (the simulator numbers per subscribed message).
    public var sequenceCheck: FeedTracker.SequenceCheck?
    /// Venue symbol -> canonical `BASE/QUOTE`, for symbols the venue's own naming does not say (IG epics
    /// such as `IX.D.FTSE.DAILY.IP`); only venues that take one (IG).
    public var symbolMap: [String: String]
    /// Levels per side of the order books (venues with books; nil: the venue's default, Kraken 10).
    public var bookDepth: Int?
    /// Publish every frame this feed receives, verbatim, to `<prefix>raw` (the raw capture, for replays).
    public var captureRaw = false

    public init(provider: String, symbols: [String], webSocketURL: String? = nil, restURL: String? = nil,
                credentials: [ProviderCredential] = [], maxSymbolsPerConnection: Int? = nil,
                connectionStaleAfter: Duration? = nil, symbolStaleAfter: Duration? = nil,
                sequenceCheck: FeedTracker.SequenceCheck? = nil, symbolMap: [String: String] = [:], bookDepth: Int? = nil,
                captureRaw: Bool = false) {
        self.captureRaw = captureRaw
        self.symbolMap = symbolMap
        self.bookDepth = bookDepth
        self.provider = provider
        self.symbols = symbols
        self.webSocketURL = webSocketURL
        self.restURL = restURL
        self.credentials = credentials
        self.maxSymbolsPerConnection = maxSymbolsPerConnection
        self.connectionStaleAfter = connectionStaleAfter
        self.symbolStaleAfter = symbolStaleAfter
        self.sequenceCheck = sequenceCheck
    }
}

/// The connections a feed needs: symbols sharded within the per-connection limit, credentials assigned
/// within the per-credential connection limit.
public struct ConnectionPlan: Sendable {
    public struct Shard: Sendable {
        public var id: String
        public var symbols: [String]
        public var credential: ProviderCredential?
    }

    public var provider: any MarketDataProvider
    public var webSocketBase: String
    /// Where REST requests of the stream go (book snapshots).
    public var restBase: String
    public var tracker: FeedTracker.Settings
    public var shards: [Shard]
    /// The feed's frames go to the raw capture.
    public var captureRaw = false

    /// - Throws: ``ProviderError`` with a clear message: unknown provider, unmappable symbol, missing
    ///   credentials, or more symbols than the credentials allow.
    public static func make(_ feed: FeedConfiguration, firstIndex: Int = 0) throws(ProviderError) -> ConnectionPlan {
        var provider = try ProviderRegistry.provider(feed.provider).mapping(feed.symbolMap)
        if let depth = feed.bookDepth { provider = try provider.withBookDepth(depth) }
        let defaults = provider.defaults
        var seen = Set<String>()
        var symbols: [String] = []
        for raw in feed.symbols {
            let symbol = provider.configuredSymbol(raw.trimmingCharacters(in: .whitespaces))
            guard !symbol.isEmpty, seen.insert(symbol).inserted else { continue }
            guard provider.canonicalSymbol(symbol) != nil else {
                throw ProviderError(.invalidSymbol, provider: provider.id, "'\(symbol.prefix(60))' cannot be mapped to BASE/QUOTE")
            }
            symbols.append(symbol)
        }
        guard !symbols.isEmpty else { throw ProviderError(.invalidSymbol, provider: provider.id, "no symbols configured") }
        let perConnection = max(1, feed.maxSymbolsPerConnection ?? defaults.maxSymbolsPerConnection)
        let chunks = stride(from: 0, to: symbols.count, by: perConnection).map { Array(symbols[$0..<min($0 + perConnection, symbols.count)]) }
        if defaults.requiresCredential, feed.credentials.isEmpty {
            throw ProviderError(.missingCredential, provider: provider.id,
                                "a credential is required (\(provider.id.uppercased())_API_KEY or \(provider.id.uppercased())_API_TOKEN, or their _FILE forms)")
        }
        if let perCredential = defaults.connectionsPerCredential, !feed.credentials.isEmpty,
           chunks.count > feed.credentials.count * perCredential {
            throw ProviderError(.tooManySymbols, provider: provider.id,
                                "\(symbols.count) symbols need \(chunks.count) connections of at most \(perConnection) symbols, but " +
                                "\(feed.credentials.count) API key(s) allow \(feed.credentials.count * perCredential); add keys or remove symbols")
        }
        let shards = chunks.enumerated().map { index, chunk in
            let credential: ProviderCredential? = feed.credentials.isEmpty ? nil
                : feed.credentials[(index / (defaults.connectionsPerCredential ?? Int.max)) % feed.credentials.count]
            return Shard(id: "\(provider.id)-\(firstIndex + index)", symbols: chunk, credential: credential)
        }
        // An HTTP line stream's request (a Lightstreamer venue's login and subscriptions) is built now, so a
        // missing account or a bad token stops the start with its message instead of failing every attempt.
        for shard in shards {
            switch provider.transport {
            case .webSocket: break
            case .httpLines:
                _ = try provider.streamRequest(base: feed.webSocketURL ?? defaults.webSocketURL, symbols: shard.symbols, credential: shard.credential)
            case .lightstreamer:
                _ = try provider.loginRequest(base: feed.webSocketURL ?? defaults.webSocketURL, credential: shard.credential)
                _ = try provider.lightstreamerSubscriptions(symbols: shard.symbols)
            }
        }
        var tracker = defaults.tracker
        if let value = feed.connectionStaleAfter { tracker.connectionStaleAfter = value }
        if let value = feed.symbolStaleAfter { tracker.symbolStaleAfter = value }
        if let check = feed.sequenceCheck {
            tracker.sequenceCheck = check
        } else if tracker.sequenceCheck != .off, let url = feed.webSocketURL, url != defaults.webSocketURL {
            tracker.sequenceCheck = .contiguous
        }
        return ConnectionPlan(provider: provider, webSocketBase: feed.webSocketURL ?? defaults.webSocketURL,
                              restBase: feed.restURL ?? feed.webSocketURL.map(Self.restURL(forStream:)) ?? defaults.restURL,
                              tracker: tracker, shards: shards, captureRaw: feed.captureRaw)
    }

    /// A stream URL's address as a REST one: `ws://host:port/path` -> `http://host:port/path`, without a
    /// query and without a trailing `/stream` or `/ws` (the stream's own endpoint, not the venue's base).
    static func restURL(forStream url: String) -> String {
        var base = Substring(url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        while base.hasSuffix("/") { base = base.dropLast() }
        for suffix in ["/stream", "/ws"] where base.hasSuffix(suffix) { base = base.dropLast(suffix.count) }
        if base.hasPrefix("wss://") { return "https://" + base.dropFirst(6) }
        if base.hasPrefix("ws://") { return "http://" + base.dropFirst(5) }
        return String(base)
    }
}
