import FXCore

/// OANDA v20 pricing: one long `GET /v3/accounts/{account}/pricing/stream?instruments=EUR_USD,...&snapshot=true`
/// with `Authorization: Bearer <token>`, answered as HTTP chunked transfer with one JSON object per line
/// (``OandaNormalizer``), not a WebSocket. Prices are top-of-book quotes, at most 4 per second per
/// instrument (sampled: candles built from them are candles of sampled quotes); a `HEARTBEAT` line comes
/// about every 5 s, so 10 s without a line is a dead stream. `tradeable: false` means the market is
/// closed, not that the feed is stale.
///
/// Limits: about 2 new connections per second and a small number of price streams per token, so a feed
/// shards up to 20 instruments per stream and 2 streams per token by default.
public struct OandaProvider: MarketDataProvider {
    public let id = "oanda"
    public init() {}

    public static let practiceStream = "https://stream-fxpractice.oanda.com"
    public static let liveStream = "https://stream-fxtrade.oanda.com"
    public static let practiceREST = "https://api-fxpractice.oanda.com"
    public static let liveREST = "https://api-fxtrade.oanda.com"

    public var defaults: ProviderDefaults {
        ProviderDefaults(webSocketURL: Self.practiceStream, restURL: Self.practiceREST,
                         maxSymbolsPerConnection: 20, connectionsPerCredential: 2, requiresCredential: true,
                         tracker: .init(connectionStaleAfter: .seconds(10), symbolStaleAfter: .seconds(300), sequenceCheck: .off))
    }

    public var transport: FeedTransport { .httpLines }

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        OandaNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func streamRequest(base: String, symbols: [String], credential: ProviderCredential?) throws(ProviderError) -> StreamRequest {
        let (token, account) = try Self.check(credential, provider: id)
        // The live switch moves the default host only: an explicit URL (a proxy, the simulator) is kept.
        let host = base == Self.practiceStream && credential?.live == true ? Self.liveStream : base
        for symbol in symbols where !Self.isInstrument(symbol) {
            throw ProviderError(.invalidSymbol, provider: id, "'\(symbol.prefix(40))' is not an OANDA instrument such as EUR_USD")
        }
        let query = "/pricing/stream?instruments=\(symbols.joined(separator: "%2C"))&snapshot=true"
        return StreamRequest(url: host + "/v3/accounts/\(account)" + query,
                             headers: ["Authorization": "Bearer \(token)", "Accept-Datetime-Format": "RFC3339"],
                             redactedURL: host + "/v3/accounts/\(Redaction.placeholder)" + query)
    }

    /// The token and account id of a credential, checked for what a header and a URL path can carry.
    static func check(_ credential: ProviderCredential?, provider: String) throws(ProviderError) -> (token: String, account: String) {
        let token = try checkToken(credential, provider: provider)
        guard let account = credential?.account, !account.isEmpty else {
            throw ProviderError(.missingCredential, provider: provider, "an account id is required (OANDA_ACCOUNT_ID)")
        }
        guard account.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw ProviderError(.invalidCredential, provider: provider, "the account id has characters a URL path cannot carry")
        }
        return (token, account)
    }

    /// The API token of a credential (stream and history), checked for what a header can carry.
    static func checkToken(_ credential: ProviderCredential?, provider: String) throws(ProviderError) -> String {
        guard let credential, !credential.key.isEmpty else {
            throw ProviderError(.missingCredential, provider: provider, "an API token is required (OANDA_API_TOKEN or OANDA_API_TOKEN_FILE)")
        }
        guard credential.key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ProviderError(.invalidCredential, provider: provider, "the API token has characters a header cannot carry")
        }
        return credential.key
    }

    /// `EUR_USD`-shaped: two alphanumeric parts joined by `_`.
    static func isInstrument(_ symbol: String) -> Bool {
        let parts = symbol.utf8.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.count <= 16 && $0.allSatisfy(isAlphanumeric) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// `EUR_USD` -> `EUR/USD`.
    public func canonicalSymbol(_ venueSymbol: String) -> String? {
        Self.isInstrument(venueSymbol) ? String(venueSymbol.uppercased().map { $0 == "_" ? "/" : $0 }) : nil
    }

    /// The stream itself says when an instrument is closed (`tradeable: false`, also in the snapshot every
    /// connection starts with), holidays and early closes included, and its heartbeats never stop: so
    /// no fixed hours are assumed, and a silent stream is dead at any hour.
    public func marketHours(for venueSymbol: String) -> MarketHours { .continuous }
}
