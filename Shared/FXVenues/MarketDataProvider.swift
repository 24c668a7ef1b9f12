import FXCore
import Foundation

/// A venue plug-in: everything venue-specific lives in one folder of FXVenues and is reached
/// through this protocol (adding a venue = a new folder + one line in ``ProviderRegistry``).
public protocol MarketDataProvider: Sendable {
    /// The `source` id in every message (e.g. `coinbase`).
    var id: String { get }
    var defaults: ProviderDefaults { get }
    /// The reader of one connection's messages (frames or lines); nil for a ``FeedTransport/lightstreamer``
    /// venue, whose lines a ``TLCPSession`` decodes into ``lightstreamerEvents(subscription:item:values:symbols:receivedAt:)``.
    func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)?
    /// The URL one connection opens (e.g. with the API token as a query parameter).
    func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String
    /// The text frames that subscribe `symbols` on a fresh connection.
    func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String]
    /// A configured symbol as the venue writes it in its messages (Binance: upper case); the default keeps it.
    func configuredSymbol(_ symbol: String) -> String
    /// Canonical `BASE/QUOTE` for a venue symbol, nil if it cannot be mapped.
    func canonicalSymbol(_ venueSymbol: String) -> String?
    func marketHours(for venueSymbol: String) -> MarketHours
    /// How the stream is carried (default: a WebSocket).
    var transport: FeedTransport { get }
    /// The venue streams order books (``NormalizedEvent/book(_:)``), kept this way; nil: no books.
    var book: BookFeed? { get }
    /// This venue with books kept `depth` levels per side (refused where the venue has no books or no such depth).
    func withBookDepth(_ depth: Int) throws(ProviderError) -> any MarketDataProvider
    /// The text frames that get a fresh snapshot of one symbol's book, on the same connection, when its
    /// book can no longer be trusted (a failed checksum, a crossed book). Other symbols are not touched.
    func bookResubscribeMessages(venueSymbol: String) -> [String]
    /// For a venue whose books start from a REST snapshot (``BookFeed/Snapshots/rest``): the request for one
    /// symbol's snapshot (`base`: the feed's REST endpoint), its weight against the venue's request budget,
    /// and the reading of the answer.
    func bookSnapshotRequest(base: String, venueSymbol: String) throws(ProviderError) -> StreamRequest
    var bookSnapshotWeight: Int { get }
    func bookSnapshot(venueSymbol: String, body: [UInt8]) throws(ProviderError) -> BookUpdate
    /// Messages that may exceed the ingestor's `max_message_bytes` (a whole-book snapshot): those that begin
    /// with `prefix` are read up to `limit` bytes; nil: none.
    var largeMessages: (prefix: [UInt8], limit: Int)? { get }
    /// The least time between two messages the client sends (Binance: 5 a second); zero: no limit.
    var outboundMessageInterval: Duration { get }
    /// At most this many connection attempts in any window, from one ingestor (Binance: 300 per 5 minutes
    /// per IP); nil: no limit but the circuit breaker's.
    var connectionAttemptBudget: (count: Int, window: Duration)? { get }
    /// The venue ends connections at this age (Binance: 24 hours): the connection is replaced a little
    /// before; nil: no limit.
    var maxConnectionLifetime: Duration? { get }
    /// This venue with `symbolMap` (venue symbol -> canonical `BASE/QUOTE`) deciding the canonical symbols
    /// it names; an empty map is the venue itself. Only venues whose symbols may need one take it (IG).
    func mapping(_ symbolMap: [String: String]) throws(ProviderError) -> any MarketDataProvider
    /// For an ``FeedTransport/httpLines`` venue: the request that streams `symbols`.
    func streamRequest(base: String, symbols: [String], credential: ProviderCredential?) throws(ProviderError) -> StreamRequest
    /// For a ``FeedTransport/lightstreamer`` venue: the REST login a new session needs first (`base` is
    /// the feed's URL, the venue's REST gateway).
    func loginRequest(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest
    /// Reads the login answer into the session's endpoint and credentials.
    func lightstreamerEndpoint(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> LightstreamerEndpoint
    /// The subscriptions that stream `symbols` (checked: count, shape).
    func lightstreamerSubscriptions(symbols: [String]) throws(ProviderError) -> [TLCPSession.Subscription]
    /// One decoded update of item `item` (1-based, in `symbols` order) as normalized events.
    func lightstreamerEvents(subscription: Int, item: Int, values: [String?], symbols: [String], receivedAt: Int64) -> [NormalizedEvent]
}

extension MarketDataProvider {
    public var transport: FeedTransport { .webSocket }

    public var book: BookFeed? { nil }

    public func bookResubscribeMessages(venueSymbol: String) -> [String] { [] }

    public func bookSnapshotRequest(base: String, venueSymbol: String) throws(ProviderError) -> StreamRequest {
        throw ProviderError(.invalidURL, provider: id, "this venue's books need no REST snapshot")
    }

    public var bookSnapshotWeight: Int { 1 }

    public func bookSnapshot(venueSymbol: String, body: [UInt8]) throws(ProviderError) -> BookUpdate {
        throw ProviderError(.invalidURL, provider: id, "this venue's books need no REST snapshot")
    }

    public var outboundMessageInterval: Duration { .zero }

    public var largeMessages: (prefix: [UInt8], limit: Int)? { nil }

    public var maxConnectionLifetime: Duration? { nil }

    public var connectionAttemptBudget: (count: Int, window: Duration)? { nil }

    public func configuredSymbol(_ symbol: String) -> String { symbol }

    public func withBookDepth(_ depth: Int) throws(ProviderError) -> any MarketDataProvider {
        throw ProviderError(.invalidSetting, provider: id, "this venue streams no order books: book_depth does not apply")
    }

    public func mapping(_ symbolMap: [String: String]) throws(ProviderError) -> any MarketDataProvider {
        guard symbolMap.isEmpty else {
            throw ProviderError(.invalidSymbol, provider: id, "this venue's symbols name their pair: symbol_map is for IG epics")
        }
        return self
    }

    public func streamRequest(base: String, symbols: [String], credential: ProviderCredential?) throws(ProviderError) -> StreamRequest {
        throw ProviderError(.invalidURL, provider: id, "this venue streams over a WebSocket, not an HTTP line stream")
    }

    /// A WebSocket venue's defaults; an HTTP line venue overrides them.
    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String {
        throw ProviderError(.invalidURL, provider: id, "this venue streams over HTTP, not a WebSocket")
    }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] { [] }

    public func loginRequest(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest {
        throw ProviderError(.invalidURL, provider: id, "this venue does not stream over Lightstreamer")
    }

    public func lightstreamerEndpoint(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> LightstreamerEndpoint {
        throw ProviderError(.invalidURL, provider: id, "this venue does not stream over Lightstreamer")
    }

    public func lightstreamerSubscriptions(symbols: [String]) throws(ProviderError) -> [TLCPSession.Subscription] {
        throw ProviderError(.invalidURL, provider: id, "this venue does not stream over Lightstreamer")
    }

    public func lightstreamerEvents(subscription: Int, item: Int, values: [String?], symbols: [String], receivedAt: Int64) -> [NormalizedEvent] {
        [.reject(.unknownType, detail: "this venue does not stream over Lightstreamer")]
    }
}

/// A provider's defaults, each overridable per feed in the configuration.
public struct ProviderDefaults: Sendable {
    public var webSocketURL: String
    public var restURL: String
    /// Symbols one connection may carry.
    public var maxSymbolsPerConnection: Int
    /// Connections one credential may hold open (Finnhub: 1 per API key); nil = unlimited.
    public var connectionsPerCredential: Int?
    public var requiresCredential: Bool
    public var tracker: FeedExpectations

    public init(webSocketURL: String, restURL: String, maxSymbolsPerConnection: Int, connectionsPerCredential: Int?,
                requiresCredential: Bool, tracker: FeedExpectations) {
        self.webSocketURL = webSocketURL
        self.restURL = restURL
        self.maxSymbolsPerConnection = maxSymbolsPerConnection
        self.connectionsPerCredential = connectionsPerCredential
        self.requiresCredential = requiresCredential
        self.tracker = tracker
    }
}

/// API credentials for one connection. Never logged: `description` shows the key's last 4 characters only.
public struct ProviderCredential: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var secret: String?
    public var passphrase: String?
    /// The account the key streams for (OANDA's account id), when the venue needs one.
    public var account: String?
    /// The venue's live environment rather than its practice/demo one (OANDA, IG), where it has both.
    public var live: Bool

    public init(key: String, secret: String? = nil, passphrase: String? = nil, account: String? = nil, live: Bool = false) {
        self.key = key
        self.secret = secret
        self.passphrase = passphrase
        self.account = account
        self.live = live
    }

    public var description: String { "credential(...\(key.suffix(4)))" }

    /// The API keys of a `*_API_KEY` value: several separated by commas or line ends (`\n` or `\r\n`),
    /// each trimmed, empty ones dropped. The one reading of a key list, for the ingestor and the backfiller.
    public static func apiKeys(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isNewline }).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    /// `text` with every credential value (key, secret, passphrase, account; 4 characters or more) replaced by
    /// ``Redaction/placeholder``: error texts may quote a URL or a frame that carries one.
    public func scrub(_ text: String) -> String {
        Redaction.scrub(text, secrets: [key, secret, passphrase, account].compactMap { $0 })
    }
}

/// A provider-level problem: bad configuration or a credential that cannot be used.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case unknownProvider = "unknown_provider"
        case invalidSymbol = "invalid_symbol"
        case missingCredential = "missing_credential"
        case invalidCredential = "invalid_credential"
        case tooManySymbols = "too_many_symbols"
        case invalidURL = "invalid_url"
        case invalidSetting = "invalid_setting"
    }

    public var code: Code
    public var provider: String
    public var message: String

    public init(_ code: Code, provider: String, _ message: String) {
        self.code = code
        self.provider = provider
        self.message = message
    }

    public var description: String { "\(provider): \(code.rawValue): \(message)" }
}

/// The providers this build knows.
public enum ProviderRegistry {
    public static let all: [String: any MarketDataProvider] = [
        CoinbaseProvider().id: CoinbaseProvider(),
        FinnhubProvider().id: FinnhubProvider(),
        OandaProvider().id: OandaProvider(),
        IGProvider().id: IGProvider(),
        KrakenProvider().id: KrakenProvider(),
        BinanceProvider().id: BinanceProvider(),
    ]

    public static func provider(_ id: String) throws(ProviderError) -> any MarketDataProvider {
        guard let provider = all[id.lowercased()] else {
            throw ProviderError(.unknownProvider, provider: id, "known providers: \(all.keys.sorted().joined(separator: ", "))")
        }
        return provider
    }
}
