import FXContracts
import FXCore
import FXVenues
import Testing

/// IG Markets' building blocks: the login answer, epics and their subscriptions within the 40 limit,
/// Lightstreamer updates as normalized events, and the bid/ask price history.
@Suite("IG Markets: login, epics, updates and history")
struct IGMarketsTests {
    static let epics = ["CS.D.EURUSD.CFD.IP", "CS.D.USDJPY.CFD.IP"]

    @Test("the login: API key and VERSION 2 headers; CST and X-SECURITY-TOKEN from the headers, account and endpoint from the body")
    func login() throws {
        let request = IGLogin.request(rest: IGLogin.demoREST, apiKey: "key", identifier: "me", password: "p\"w")
        #expect(request.url == "https://demo-api.ig.com/gateway/deal/session" && request.headers["VERSION"] == "2" && request.headers["X-IG-API-KEY"] == "key")
        #expect(try JSONParser().parse(request.body)["password"]?.stringValue == "p\"w")
        let login = try IGLogin.read(status: 200, headers: ["cst": "abc", "X-SECURITY-TOKEN": "def"],
                                     body: Array(#"{"currentAccountId":"ABC123","lightstreamerEndpoint":"https://demo-apd.marketdatasystems.com"}"#.utf8))
        #expect(login.lightstreamerPassword == "CST-abc|XST-def" && login.accountID == "ABC123")
        #expect(login.webSocketURL == "wss://demo-apd.marketdatasystems.com/lightstreamer")
        #expect(throws: ProviderError.self) {
            _ = try IGLogin.read(status: 401, headers: [:], body: Array(#"{"errorCode":"error.security.invalid-details"}"#.utf8))
        }
        #expect(throws: ProviderError.self) { _ = try IGLogin.read(status: 200, headers: ["CST": "a"], body: Array("{}".utf8)) }
    }

    @Test("epics map to canonical pairs (an explicit mapping wins); two subscriptions per epic; past 20 epics a session is refused with the number")
    func epicsAndLimits() throws {
        #expect(IGEpics.canonical("CS.D.EURUSD.CFD.IP") == "EUR/USD")
        #expect(IGEpics.canonical("IX.D.FTSE.DAILY.IP") == nil)
        #expect(IGEpics.canonical("IX.D.FTSE.DAILY.IP", overrides: ["IX.D.FTSE.DAILY.IP": "FTSE/GBP"]) == "FTSE/GBP")
        let subscriptions = try IGEpics.subscriptions(Self.epics)
        #expect(subscriptions.map(\.mode) == ["DISTINCT", "MERGE"])
        #expect(subscriptions[0].items == ["CHART:CS.D.EURUSD.CFD.IP:TICK", "CHART:CS.D.USDJPY.CFD.IP:TICK"] && subscriptions[1].items[1] == "MARKET:CS.D.USDJPY.CFD.IP")
        let many = (0..<21).map { "CS.D.EUR\(String(UnicodeScalar(65 + $0)!))XX.CFD.IP" }
        #expect(throws: ProviderError.self) { _ = try IGEpics.subscriptions(many) }
        #expect((try? IGEpics.subscriptions(Array(many.prefix(20))))?.count == 2)
        #expect(throws: ProviderError.self) { _ = try IGEpics.subscriptions(["CS.D.EUR USD.CFD.IP"]) }
    }

    @Test("a tick update is an exact quote (and a trade with LTP and LTV) at UTM; MARKET_STATE opens or closes the market; bad values are rejects")
    func updates() {
        let quote = IGEpics.events(subscription: 1, item: 1, values: ["1.08423", "1.08431", nil, nil, nil, "1733400000123"], epics: Self.epics, receivedAt: 9)
        #expect(quote == [.tick(Tick(source: "ig", symbol: "EUR/USD", venueSymbol: "CS.D.EURUSD.CFD.IP", timestamp: 1_733_400_000_123_000_000, receivedAt: 9,
                                     sequence: nil, payload: .quote(bid: DecimalText("1.08423"), ask: DecimalText("1.08431"), bidSize: nil, askSize: nil)))])
        let both = IGEpics.events(subscription: 1, item: 2, values: ["150.1", "150.2", "150.15", "3", nil, "1733400000123"], epics: Self.epics, receivedAt: 9)
        #expect(both.count == 2)
        let closed = IGEpics.events(subscription: 2, item: 1, values: ["CLOSED", "22:00:00"], epics: Self.epics, receivedAt: 9)
        #expect(closed == [.marketState(venueSymbol: "CS.D.EURUSD.CFD.IP", open: false, reason: "CLOSED (IG)", timestamp: 9)])
        guard case .marketState(_, true, _, _)? = IGEpics.events(subscription: 2, item: 1, values: ["TRADEABLE", nil], epics: Self.epics, receivedAt: 9).first else {
            Issue.record("TRADEABLE is not open"); return
        }
        func reason(_ values: [String?], item: Int = 1) -> RejectReason? {
            if case .reject(let reason, _)? = IGEpics.events(subscription: 1, item: item, values: values, epics: Self.epics, receivedAt: 9).first { return reason }
            return nil
        }
        #expect(reason(["1.1", "1.2", nil, nil, nil, nil]) == .invalidTimestamp)
        #expect(reason(["1.1e3", "1.2", nil, nil, nil, "1733400000123"]) == .invalidPrice)
        #expect(reason(["1.3", "1.2", nil, nil, nil, "1733400000123"]) == .invalidPrice, "crossed")
        #expect(reason(["1.1", "1.2", nil, nil, nil, "1733400000123"], item: 3) == .unsubscribedSymbol)
    }

    @Test("history: MINUTE prices with the login's tokens; bid, ask and mid candles exact from the number literals; the allowance left; its exhaustion is unfillable")
    func history() throws {
        let credential = ProviderCredential(key: "k", secret: "pw", account: "me")
        let request = try IGProvider().historyRequest(base: IGLogin.demoREST, venueSymbol: "CS.D.EURUSD.CFD.IP", first: 1_795_000_020,
                                                      last: 1_795_000_080, credential: credential)
        #expect(request.url == "https://demo-api.ig.com/gateway/deal/prices/CS.D.EURUSD.CFD.IP?resolution=MINUTE&from=2026-11-18T11:07:00&to=2026-11-18T11:08:00&pageSize=0")
        #expect(request.headers["X-IG-API-KEY"] == "k" && request.headers["VERSION"] == "3" && !request.url.contains("pw"))
        #expect(IGProvider().venueSymbol(forCanonical: "EUR/USD") == "CS.D.EURUSD.CFD.IP")
        // The session: a login first, whose tokens every history request carries.
        #expect(try IGProvider().historyLogin(base: IGLogin.demoREST, credential: credential)?.method == "POST")
        let session = try IGProvider().historySessionHeaders(status: 200, headers: ["CST": "abc", "X-SECURITY-TOKEN": "def"],
                                                             body: Array(#"{"currentAccountId":"A","lightstreamerEndpoint":"https://x"}"#.utf8))
        #expect(session == ["CST": "abc", "X-SECURITY-TOKEN": "def"])
        #expect(try CoinbaseProvider().historyLogin(base: "https://x", credential: nil) == nil, "other venues need no session")
        let body = #"{"prices":[{"snapshotTime":"2026/11/18 11:07:00","snapshotTimeUTC":"2026-11-18T11:07:00","openPrice":{"bid":1.08420,"ask":1.08430,"lastTraded":null},"closePrice":{"bid":1.08425,"ask":1.08435,"lastTraded":null},"highPrice":{"bid":1.0845,"ask":1.0846,"lastTraded":null},"lowPrice":{"bid":1.0841,"ask":1.0842,"lastTraded":null},"lastTradedVolume":12}],"instrumentType":"CURRENCIES","metadata":{"allowance":{"remainingAllowance":9990,"totalAllowance":10000,"allowanceExpiry":600000}}}"#
        let (answer, left) = try IGHistory.read(Array(body.utf8), request: request)
        guard case .candles(let candles) = answer else { Issue.record("no candles"); return }
        #expect(candles.map(\.priceType) == ["ask", "bid", "mid"] && left == 9990)
        #expect(candles[2].open == DecimalText("1.08425") && candles[2].high == DecimalText("1.08455") && candles[1].open == DecimalText("1.08420"))
        guard case .noAccess(let reason) = IGHistory.refusal(status: 403, body: Array(#"{"errorCode":"error.public-api.exceeded-account-historical-data-allowance"}"#.utf8)) else {
            Issue.record("allowance exhaustion not unfillable"); return
        }
        #expect(reason.contains("allowance"))
        // The allowance used up in a served answer: the source's shared bucket rests until it renews.
        #expect(IGProvider().historyPause(Array(body.utf8)) == nil, "9,990 left: no pause")
        let spent = #"{"prices":[],"metadata":{"allowance":{"remainingAllowance":0,"totalAllowance":10000,"allowanceExpiry":5400}}}"#
        #expect(IGProvider().historyPause(Array(spent.utf8)) == .seconds(5_400))
        #expect(throws: HistoryAnswerError.self) { _ = try IGHistory.read(Array(#"{"prices":[{"snapshotTimeUTC":"2026-11-18T11:07:00","openPrice":{"bid":"x"}}]}"#.utf8), request: request) }
    }
}
