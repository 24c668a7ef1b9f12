import FXContracts
import FXCore
import Testing

@Suite("The hot layer: latest quote values")
struct LatestQuoteTests {
    let t0: Int64 = 1_796_036_400_000_000_000

    func tick(_ payload: Tick.Payload, ts: Int64) -> Tick {
        Tick(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", timestamp: ts, receivedAt: ts + 2_000_000, sequence: nil, payload: payload)
    }

    @Test("a value keeps the newest quote and the last trade, never replaced by an older tick, and reads back exactly")
    func applyAndRoundTrip() throws {
        var latest = LatestQuote(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", instance: "ingest-1")
        #expect(latest.ts == nil && latest.recvTs == nil)
        latest.apply(tick(.quote(bid: DecimalText("50000.1"), ask: DecimalText("50000.2"), bidSize: DecimalText("1.25"), askSize: nil), ts: t0 + 10))
        latest.apply(tick(.trade(price: DecimalText("50000.2")!, size: DecimalText("0.01")!, side: .buy, tradeID: "7"), ts: t0 + 5))
        latest.apply(tick(.quote(bid: DecimalText("49999"), ask: DecimalText("50001"), bidSize: nil, askSize: nil), ts: t0 + 3))
        #expect(latest.quote?.bid == DecimalText("50000.1"), "an older quote does not replace a newer one")
        #expect(latest.trade?.tradeID == "7" && latest.ts == t0 + 10 && latest.recvTs == t0 + 10 + 2_000_000)
        let read = try LatestQuote(json: latest.jsonBytes())
        #expect(read == latest)
        #expect(latest.key == "kraken:BTC/USD")
        latest.marketOpen = false
        latest.marketReason = "not tradeable"
        #expect(try LatestQuote(json: latest.jsonBytes()) == latest)
        #expect(String(decoding: latest.jsonBytes(), as: UTF8.self).contains(#""market":"closed","market_reason":"not tradeable""#))
    }

    @Test("values outside the contract are refused with a reason")
    func refusals() {
        let good = String(decoding: LatestQuote(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", instance: "i").jsonBytes(), as: UTF8.self)
        for bad in [good.replacingOccurrences(of: #""v":1"#, with: #""v":2"#),
                    good.replacingOccurrences(of: #""symbol":"BTC/USD""#, with: #""symbol":"btc usd""#),
                    good.replacingOccurrences(of: #""quote":null"#, with: #""quote":{"bid":1.5,"ask":null,"bid_size":null,"ask_size":null,"ts":1796036400000000000,"recv_ts":1796036400000000000}"#),
                    good.replacingOccurrences(of: #""trade":null"#, with: #""trade":{"price":"1","size":"1","side":null,"trade_id":null,"ts":5,"recv_ts":5}"#),
                    "not json"] {
            #expect(throws: ContractError.self, "\(bad)") { _ = try LatestQuote(json: Array(bad.utf8)) }
        }
    }
}
