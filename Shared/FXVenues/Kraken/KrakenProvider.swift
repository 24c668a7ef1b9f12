import FXCore

/// Kraken spot, WebSocket v2 (`wss://ws.kraken.com/v2`): `trade`, `ticker` and `book` channels, one
/// subscribe message per channel; symbols are already `BASE/QUOTE` (`BTC/USD`). The book is kept at
/// ``bookDepth`` levels per side (10, 25, 100, 500 or 1000) and checked against Kraken's CRC32 after every
/// message; a symbol whose book fails is resubscribed alone (``bookResubscribeMessages(venueSymbol:)``).
public struct KrakenProvider: MarketDataProvider {
    public let id = "kraken"
    /// Book depth subscribed per symbol; 0: no books.
    public let bookDepth: Int

    public static let depths = [10, 25, 100, 500, 1000]

    public init(bookDepth: Int = 10) {
        self.bookDepth = bookDepth == 0 || Self.depths.contains(bookDepth) ? bookDepth : 10
    }

    public var defaults: ProviderDefaults {
        // Kraken documents no per-connection symbol cap for public channels; 100 per connection keeps a
        // reconnect's resubscription (and its snapshots) small. `heartbeat` arrives every second on a
        // subscribed connection; trades are numbered per pair (`trade_id`).
        ProviderDefaults(webSocketURL: "wss://ws.kraken.com/v2", restURL: "https://api.kraken.com",
                         maxSymbolsPerConnection: 100, connectionsPerCredential: nil, requiresCredential: false,
                         tracker: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(120), sequenceCheck: .tradeID))
    }

    public var book: BookFeed? { bookDepth == 0 ? nil : BookFeed(depth: bookDepth, crossedIsError: true) }

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        KrakenNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func withBookDepth(_ depth: Int) throws(ProviderError) -> any MarketDataProvider {
        guard depth == 0 || Self.depths.contains(depth) else {
            throw ProviderError(.invalidSetting, provider: id, "book_depth \(depth) is not one of Kraken's: \(Self.depths.map(String.init).joined(separator: ", ")) (0: no books)")
        }
        return KrakenProvider(bookDepth: depth)
    }

    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String { base }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] {
        guard !symbols.isEmpty else { return [] }
        let streams = [Self.request("subscribe", channel: "trade", symbols: symbols, extra: [("snapshot", "false")]),
                       Self.request("subscribe", channel: "ticker", symbols: symbols)]
        guard bookDepth > 0 else { return streams }
        return streams + [Self.request("subscribe", channel: "book", symbols: symbols, extra: [("depth", String(bookDepth)), ("snapshot", "true")])]
    }

    public func bookResubscribeMessages(venueSymbol: String) -> [String] {
        [Self.request("unsubscribe", channel: "book", symbols: [venueSymbol], extra: [("depth", String(bookDepth))]),
         Self.request("subscribe", channel: "book", symbols: [venueSymbol], extra: [("depth", String(bookDepth)), ("snapshot", "true")])]
    }

    /// `{"method":…,"params":{"channel":…,"symbol":[…],…}}` (`extra` values are JSON literals: numbers, `true`, `false`).
    static func request(_ method: String, channel: String, symbols: [String], extra: [(String, String)] = []) -> String {
        var writer = JSONWriter(capacity: 96 + symbols.count * 12)
        writer.beginObject()
        writer.key("method"); writer.string(method)
        writer.key("params")
        writer.beginObject()
        writer.key("channel"); writer.string(channel)
        writer.key("symbol"); writer.stringArray(symbols)
        for (key, literal) in extra {
            writer.key(key)
            writer.number(literal)
        }
        writer.endObject()
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    public func canonicalSymbol(_ venueSymbol: String) -> String? { SymbolMapper.kraken(venueSymbol) }

    public func marketHours(for venueSymbol: String) -> MarketHours { .continuous }
}
