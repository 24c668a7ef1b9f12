import FXCore
import Foundation
import FXVenues
import Testing

@Suite("OANDA M1 bid/ask history to repair candles")
struct OandaHistoryTests {
    let oanda = OandaProvider()
    static let minute: Int64 = 1_795_000_020

    func request() throws -> HistoryRequest {
        try oanda.historyRequest(base: "https://api-fxpractice.oanda.com", venueSymbol: "EUR_USD", first: Self.minute, last: Self.minute + 60,
                                 credential: ProviderCredential(key: "tok-123"))
    }

    @Test("the request: M1, price=BA, from the first minute to the end of the last, the token in a header and never in the URL; live host when live")
    func requestShape() throws {
        let request = try request()
        #expect(request.url == "https://api-fxpractice.oanda.com/v3/instruments/EUR_USD/candles?granularity=M1&price=BA&from=2026-11-18T11:07:00Z&to=2026-11-18T11:09:00Z")
        #expect(request.headers["Authorization"] == "Bearer tok-123" && !request.url.contains("tok-123") && request.redactedURL == request.url)
        let live = try oanda.historyRequest(base: OandaProvider.practiceREST, venueSymbol: "EUR_USD", first: Self.minute, last: Self.minute,
                                            credential: ProviderCredential(key: "t", live: true))
        #expect(live.url.hasPrefix(OandaProvider.liveREST))
        #expect(throws: ProviderError.self) { _ = try oanda.historyRequest(base: "x", venueSymbol: "EUR_USD", first: 0, last: 0, credential: nil) }
        #expect(throws: ProviderError.self) { _ = try oanda.historyRequest(base: "x", venueSymbol: "EUR/USD/../x", first: 0, last: 0, credential: ProviderCredential(key: "t")) }
    }

    @Test("each minute becomes exact bid and ask candles and a mid candle of their mids, volume 0; rows outside the request are skipped; a running minute retries the page")
    func candles() throws {
        let row = #"{"complete":true,"volume":12,"time":"2026-11-18T11:07:00.000000000Z","bid":{"o":"1.09170","h":"1.09180","l":"1.09165","c":"1.09175"},"ask":{"o":"1.09181","h":"1.09191","l":"1.09176","c":"1.09186"}}"#
        let outside = row.replacingOccurrences(of: "11:07:00", with: "11:09:00")
        let body = #"{"instrument":"EUR_USD","granularity":"M1","candles":["# + row + "," + outside + "]}"
        guard case .candles(let candles) = try oanda.readHistory(Array(body.utf8), request: try request()) else { Issue.record("no candles"); return }
        #expect(candles.map(\.priceType) == ["ask", "bid", "mid"], "the 11:09 row, outside the request, is skipped")
        let start = Self.minute * 1_000_000_000
        #expect(candles.allSatisfy { $0.start == start && $0.volume.isZero })
        let mid = try #require(candles.last)
        #expect([mid.open, mid.high, mid.low, mid.close] == ["1.091755", "1.091855", "1.091705", "1.091805"].map { DecimalText($0)! })
        #expect(candles[1].open == DecimalText("1.09170"), "bid kept as written")
        let running = #"{"candles":["# + row.replacingOccurrences(of: #""complete":true"#, with: #""complete":false"#) + "]}"
        guard case .failed(let reason) = try oanda.readHistory(Array(running.utf8), request: try request()) else {
            Issue.record("a running minute was written or confirmed empty"); return
        }
        #expect(reason.contains("not complete"))
    }

    @Test("malformed answers are refused whole; 401 is retried, 403 is unfillable")
    func malformed() throws {
        let request = try request()
        for body in [#"{"candles":"x"}"#, #"{"candles":[{"time":"x"}]}"#, #"{"candles":[{"complete":true,"time":"2026-11-18T11:07:00Z","bid":{"o":"1","h":"1","l":"1","c":"1"}}]}"#,
                     #"{"candles":[{"complete":true,"time":"2026-11-18T11:07:00Z","bid":{"o":1.1,"h":"1","l":"1","c":"1"},"ask":{"o":"1","h":"1","l":"1","c":"1"}}]}"#,
                     #"{"candles":[{"complete":true,"time":"2026-11-18T11:07:30Z","bid":{"o":"1","h":"1","l":"1","c":"1"},"ask":{"o":"1","h":"1","l":"1","c":"1"}}]}"#] {
            #expect(throws: HistoryAnswerError.self, "\(body)") { _ = try oanda.readHistory(Array(body.utf8), request: request) }
        }
        #expect(oanda.readRefusal(status: 401, body: Array(#"{"errorMessage":"Insufficient authorization"}"#.utf8)) == .failed("HTTP 401: Insufficient authorization"))
        guard case .noAccess = oanda.readRefusal(status: 403, body: []) else { Issue.record("403 is not unfillable"); return }
    }
}
