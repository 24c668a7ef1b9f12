import FXCore

/// IG Markets: a REST login (``IGLogin``: API key, user name, password) gives the Lightstreamer endpoint
/// and tokens; the stream is a TLCP session over a WebSocket (``TLCPSession``) with two subscriptions
/// per epic (``IGEpics``: ticks and market state). One session per account carries at most 20 epics.
/// The feed's URL is the REST gateway (demo by default; `IG_ENVIRONMENT=live` moves the default to the
/// live one); the stream's URL always comes from the login answer.
///
/// The session keeps itself: a lost socket is recovered (the server resends what it sent since, so
/// nothing is lost and no gap is reported); a session the server gives up, or a new one, is a gap.
/// `MARKET_STATE` says when an epic's market is closed; `PROBE`s come every keepalive at any hour, so a
/// silent stream is dead whatever the market.
public struct IGProvider: MarketDataProvider {
    public let id = "ig"
    /// Epic -> canonical `BASE/QUOTE` for epics whose name does not carry a currency pair (a feed's `symbol_map`).
    public let overrides: [String: String]

    public init(overrides: [String: String] = [:]) {
        self.overrides = overrides
    }

    /// An epic's canonical symbol comes from the map where it has one (`IX.D.FTSE.DAILY.IP` -> `FTSE/GBP`).
    public func mapping(_ symbolMap: [String: String]) throws(ProviderError) -> any MarketDataProvider {
        for (epic, symbol) in symbolMap {
            guard IGEpics.isEpic(epic) else { throw ProviderError(.invalidSymbol, provider: id, "symbol_map: '\(epic.prefix(64))' is not an IG epic") }
            let parts = symbol.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 16 && $0.allSatisfy { $0.isLetter || $0.isNumber } }) else {
                throw ProviderError(.invalidSymbol, provider: id, "symbol_map: '\(symbol.prefix(40))' is not BASE/QUOTE")
            }
        }
        return IGProvider(overrides: overrides.merging(symbolMap) { $1 })
    }

    public var defaults: ProviderDefaults {
        ProviderDefaults(webSocketURL: IGLogin.demoREST, restURL: IGLogin.demoREST,
                         maxSymbolsPerConnection: IGEpics.maxEpicsPerSession, connectionsPerCredential: 1, requiresCredential: true,
                         tracker: .init(connectionStaleAfter: .seconds(15), symbolStaleAfter: .seconds(300), sequenceCheck: .off))
    }

    public var transport: FeedTransport { .lightstreamer }

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? { nil }

    /// `POST {gateway}/session` (version 2) with the API key, the user name (`IG_IDENTIFIER`) and the
    /// password (`IG_PASSWORD`).
    public func loginRequest(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest {
        guard let credential, !credential.key.isEmpty else {
            throw ProviderError(.missingCredential, provider: id, "an API key is required (IG_API_KEY or IG_API_KEY_FILE)")
        }
        guard let identifier = credential.account, !identifier.isEmpty, let password = credential.secret, !password.isEmpty else {
            throw ProviderError(.missingCredential, provider: id, "a user name and a password are required (IG_IDENTIFIER, IG_PASSWORD, or their _FILE forms)")
        }
        guard credential.key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ProviderError(.invalidCredential, provider: id, "the API key has characters a header cannot carry")
        }
        let gateway = gateway(base, credential)
        guard gateway.hasPrefix("https://") || gateway.hasPrefix("http://") else {
            throw ProviderError(.invalidURL, provider: id, "the feed's URL is IG's REST gateway (https://...), not '\(gateway.prefix(60))'")
        }
        let login = IGLogin.request(rest: gateway, apiKey: credential.key, identifier: identifier, password: password)
        return StreamRequest(url: login.url, headers: login.headers, redactedURL: login.url, method: "POST", body: login.body)
    }

    public func lightstreamerEndpoint(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> LightstreamerEndpoint {
        let login = try IGLogin.read(status: status, headers: headers, body: body)
        return LightstreamerEndpoint(url: login.webSocketURL, user: login.accountID, password: login.lightstreamerPassword)
    }

    public func lightstreamerSubscriptions(symbols: [String]) throws(ProviderError) -> [TLCPSession.Subscription] {
        try IGEpics.subscriptions(symbols)
    }

    public func lightstreamerEvents(subscription: Int, item: Int, values: [String?], symbols: [String], receivedAt: Int64) -> [NormalizedEvent] {
        IGEpics.events(subscription: subscription, item: item, values: values, epics: symbols, receivedAt: receivedAt, overrides: overrides)
    }

    /// The live switch moves the default gateway only: an explicit URL (a proxy, the simulator) is kept.
    func gateway(_ base: String, _ credential: ProviderCredential?) -> String {
        base == IGLogin.demoREST && credential?.live == true ? IGLogin.liveREST : base
    }

    /// `CS.D.EURUSD.CFD.IP` -> `EUR/USD`.
    public func canonicalSymbol(_ venueSymbol: String) -> String? {
        IGEpics.isEpic(venueSymbol) ? IGEpics.canonical(venueSymbol, overrides: overrides) : nil
    }

    public func marketHours(for venueSymbol: String) -> MarketHours { .continuous }
}
