import FXCore
import FXVenues
import Testing

/// REST history answers hold numbers within the topic contracts' limits, or they are refused with a
/// reason (and quarantined by the repairer): never a trap, never a candle rounded or shifted in time.
@Suite("Backfiller: REST history within contract limits")
struct HistoryLimitsTests {
    let coinbase = CoinbaseProvider()
    let finnhub = FinnhubProvider()
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The reason an answer is refused with (nil: read).
    func reason(_ history: any MarketHistory, _ body: String, _ request: HistoryRequest) -> String? {
        do throws(HistoryAnswerError) { _ = try history.readHistory(bytes(body), request: request); return nil } catch { return error.reason }
    }

    @Test("Coinbase: a price or volume over 38 significant digits or 18 after the point is refused as invalid_decimal",
          arguments: ["1234567890123456789012345678901234567890", "0.0000000000000000001", "1e-19", "1e40"])
    func coinbaseDecimals(value: String) throws {
        let request = try coinbase.historyRequest(base: "http://x", venueSymbol: "BTC-USD", first: 1_795_000_020, last: 1_795_000_080, credential: nil)
        #expect(reason(coinbase, "[[1795000020,1,2,1,1,\(value)]]", request) == "invalid_decimal")
        #expect(reason(coinbase, "[[1795000020,\(value),\(value),\(value),\(value),1]]", request) == "invalid_decimal")
    }

    @Test("Coinbase: non-positive prices are refused with a reason")
    func coinbasePrices() throws {
        let request = try coinbase.historyRequest(base: "http://x", venueSymbol: "BTC-USD", first: 1_795_000_020, last: 1_795_000_080, credential: nil)
        #expect(reason(coinbase, "[[1795000020,0,0,0,0,1]]", request) == "malformed_history")
        #expect(reason(coinbase, "[[1795000020,-1,-1,-1,-1,1]]", request) == "malformed_history")
    }

    @Test("a request for minutes outside 2000...2100 gets no candle: an answer for them is refused as invalid_timestamp",
          arguments: [0, 9_223_372_036_854_775_740 / 60 * 60, -9_223_372_036_854_775_800 / 60 * 60, 4_102_444_800 + 60] as [Int64])
    func implausibleTimes(second: Int64) throws {
        // A request built from such a window (never done by the repairer, which refuses the window) would
        // still not turn the answer into a candle: no time * 10^9 overflows.
        let request = HistoryRequest(url: "http://x", redactedURL: "http://x", first: second, last: second)
        #expect(reason(coinbase, "[[\(second),1,1,1,1,1]]", request) == "invalid_timestamp")
        let forex = HistoryRequest(url: "http://x/forex/candle?", redactedURL: "http://x/forex/candle?", first: second, last: second)
        let body = #"{"s":"ok","t":[\#(second)],"o":[1],"h":[1],"l":[1],"c":[1],"v":[1]}"#
        #expect(reason(finnhub, body, forex) == "invalid_timestamp")
    }

    @Test("Finnhub: a price over the decimal limits is refused as invalid_decimal")
    func finnhubDecimals() throws {
        let request = HistoryRequest(url: "http://x/crypto/candle?", redactedURL: "http://x/crypto/candle?", first: 1_795_000_020, last: 1_795_000_080)
        let body = #"{"s":"ok","t":[1795000020],"o":[1.0000000000000000001],"h":[2],"l":[1],"c":[1],"v":[1]}"#
        #expect(reason(finnhub, body, request) == "invalid_decimal")
        let good = #"{"s":"ok","t":[1795000020],"o":[1.5],"h":[2],"l":[1],"c":[1],"v":[3]}"#
        #expect(try finnhub.readHistory(bytes(good), request: request) != .candles([]))
    }
}
