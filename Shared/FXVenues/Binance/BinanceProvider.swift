import FXCore

/// Binance spot market streams (`wss://stream.binance.com:9443`): one combined-stream connection
/// (`/stream`, every event wrapped as `{"stream":…,"data":…}`) subscribed by `SUBSCRIBE` messages with
/// `<symbol>@trade`, `<symbol>@bookTicker` and `<symbol>@depth@100ms` per symbol.
///
/// Binance's connection rules are kept here: at most 1024 streams per connection (3 per symbol: 341 symbols
/// by default), at most 5 messages a second from the client (``outboundMessageInterval``), at most 300
/// connection attempts per 5 minutes (``connectionAttemptBudget``, shared by the ingestor's connections), a connection
/// replaced before Binance's 24-hour limit (``maxConnectionLifetime``), `serverShutdown` answered by
/// reconnecting, and the server's pings answered with pongs (by the WebSocket client). Order books follow
/// Binance's documented procedure per symbol (``BinanceDepthSync``): the diff stream is buffered while a
/// REST snapshot (`GET /api/v3/depth?symbol=&limit=`) is fetched off the socket's path, so a symbol waiting
/// for its snapshot never holds up another.
public struct BinanceProvider: MarketDataProvider {
    public let id = "binance"
    /// Levels per side asked of the REST snapshot (and kept: levels pushed beyond are dropped); 0: no books.
    public let bookDepth: Int

    /// The `limit` values Binance's depth endpoint takes.
    public static let depths = [5, 10, 20, 50, 100, 500, 1000, 5000]
    /// Streams per symbol: trade, bookTicker and (with books) depth.
    static let streamsPerSymbol = 3
    /// Streams one `SUBSCRIBE` message names.
    static let streamsPerMessage = 200

    public init(bookDepth: Int = 1000) {
        self.bookDepth = bookDepth == 0 || Self.depths.contains(bookDepth) ? bookDepth : 1000
    }

    public var defaults: ProviderDefaults {
        // Trades carry consecutive ids per symbol (`t`); a quiet pair can go minutes without one, but its
        // bookTicker and depth streams keep it alive.
        ProviderDefaults(webSocketURL: "wss://stream.binance.com:9443", restURL: "https://api.binance.com",
                         maxSymbolsPerConnection: 1024 / Self.streamsPerSymbol, connectionsPerCredential: nil, requiresCredential: false,
                         tracker: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(120), sequenceCheck: .tradeID))
    }

    public var book: BookFeed? {
        bookDepth == 0 ? nil : BookFeed(depth: bookDepth, crossedIsError: true, snapshots: .rest)
    }

    /// At most 5 messages a second to Binance (4, with a margin).
    public var outboundMessageInterval: Duration { .milliseconds(250) }

    /// Binance allows 300 new connections per 5 minutes per IP.
    public var connectionAttemptBudget: (count: Int, window: Duration)? { (300, .seconds(300)) }

    /// Binance closes every connection at 24 hours: this one is replaced a little before.
    public var maxConnectionLifetime: Duration? { .seconds(23 * 3600 + 50 * 60) }

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        BinanceNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func withBookDepth(_ depth: Int) throws(ProviderError) -> any MarketDataProvider {
        guard depth == 0 || Self.depths.contains(depth) else {
            throw ProviderError(.invalidSetting, provider: id, "book_depth \(depth) is not one of Binance's snapshot limits: \(Self.depths.map(String.init).joined(separator: ", ")) (0: no books)")
        }
        return BinanceProvider(bookDepth: depth)
    }

    /// The combined-stream endpoint: `<base>/stream` (a base that already names `/stream` or `/ws` is kept).
    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix("/stream") || trimmed.hasSuffix("/ws") || trimmed.contains("?") { return String(trimmed) }
        return trimmed + "/stream"
    }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] {
        var streams: [String] = []
        for symbol in symbols {
            let name = symbol.lowercased()
            streams += [name + "@trade", name + "@bookTicker"]
            if bookDepth > 0 { streams.append(name + "@depth@100ms") }
        }
        guard streams.count <= 1024 else {
            throw ProviderError(.tooManySymbols, provider: id, "\(streams.count) streams on one connection; Binance allows 1024 (lower max_symbols_per_connection)")
        }
        return stride(from: 0, to: streams.count, by: Self.streamsPerMessage).enumerated().map { index, start in
            Self.request("SUBSCRIBE", streams: Array(streams[start..<min(start + Self.streamsPerMessage, streams.count)]), id: index + 1)
        }
    }

    static func request(_ method: String, streams: [String], id: Int) -> String {
        var writer = JSONWriter(capacity: 48 + streams.count * 24)
        writer.beginObject()
        writer.key("method"); writer.string(method)
        writer.key("params"); writer.stringArray(streams)
        writer.key("id"); writer.number(String(id))
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `GET <rest>/api/v3/depth?symbol=BTCUSDT&limit=N`.
    public func bookSnapshotRequest(base: String, venueSymbol: String) throws(ProviderError) -> StreamRequest {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let url = "\(trimmed)/api/v3/depth?symbol=\(venueSymbol.uppercased())&limit=\(bookDepth == 0 ? 1000 : bookDepth)"
        return StreamRequest(url: url, headers: [:], redactedURL: url)
    }

    /// A depth snapshot's request weight (Binance: limit 1-100: 5, 101-500: 25, 501-1000: 50, 1001-5000: 250).
    public var bookSnapshotWeight: Int {
        switch bookDepth {
        case ...100: 5
        case ...500: 25
        case ...1000: 50
        default: 250
        }
    }

    public func bookSnapshot(venueSymbol: String, body: [UInt8]) throws(ProviderError) -> BookUpdate {
        try BinanceNormalizer.depthSnapshot(venueSymbol: venueSymbol, body: body)
    }

    /// Binance's events name symbols in upper case (`"s":"BTCUSDT"`); its stream names are lower case.
    public func configuredSymbol(_ symbol: String) -> String { symbol.uppercased() }

    public func canonicalSymbol(_ venueSymbol: String) -> String? { SymbolMapper.binance(venueSymbol) }

    public func marketHours(for venueSymbol: String) -> MarketHours { .continuous }
}
