@testable import FXAggregate
import FXCore
import Testing

/// `TickRecord(json:)`: the `fx.ticks` v1 contract as the aggregator reads it — what it accepts, the
/// reason it gives for what it does not, and the identity and order key it derives.
@Suite("Tick record")
struct TickRecordTests {
    func record(_ json: String) throws(TickRecord.Invalid) -> TickRecord { try TickRecord(json: Array(json.utf8)) }

    func reason(_ json: String) -> String? {
        do { _ = try record(json); return nil } catch { return error.reason }
    }

    @Test("a trade: fields read exactly, identity by trade id, order key by time, sequence and numeric trade id")
    func trade() throws {
        let tick = try record(#"{"v":1,"kind":"trade","source":"coinbase","symbol":"BTC/USD","venue_symbol":"BTC-USD","ts":1795300000000000000,"recv_ts":1795300000001000000,"seq":41,"price":"64250.10","size":"0.00120000","side":"buy","trade_id":"987"}"#)
        #expect(tick.source == "coinbase" && tick.symbol == "BTC/USD" && tick.kind == .trade)
        #expect(tick.ts == 1_795_300_000_000_000_000 && tick.seq == 41 && tick.receivedAt == 1_795_300_000_001_000_000)
        #expect(tick.price == DecimalText("64250.1") && tick.size == DecimalText("0.0012"))
        #expect(tick.identity == "t:987")
        #expect(tick.orderKey == "01795300000000000000|00000000000000000042|0003987|t:987")
    }

    @Test("without a trade id a trade is identified by its content; a missing sequence orders first")
    func tradeWithoutID() throws {
        let tick = try record(#"{"v":1,"kind":"trade","source":"s","symbol":"EUR/USD","ts":5,"seq":null,"price":"1.0850","size":"0"}"#)
        #expect(tick.identity == "T:5::1.085:0")
        #expect(tick.orderKey == "00000000000000000005|00000000000000000000|0000|T:5::1.085:0")
    }

    @Test("a quote: identity from every price and size, absent sides empty")
    func quote() throws {
        let tick = try record(#"{"v":1,"kind":"quote","source":"s","symbol":"EUR/USD","ts":7,"seq":3,"bid":"1.1","ask":null,"bid_size":"2.50"}"#)
        #expect(tick.bid == DecimalText("1.1") && tick.ask == nil && tick.bidSize == DecimalText("2.5") && tick.askSize == nil)
        #expect(tick.identity == "q:7:3:1.1::2.5:")
    }

    @Test("escaped strings are decoded; a repeated member's last value counts; unknown members of any shape are skipped")
    func lexicalCases() throws {
        let tick = try record(#"{"v":1,"kind":"trade","source":"co\u0069nbase","symbol":"BTC\/USD","ts":9,"price":"1\u002e5","price":"2.5","size":"1","extra":{"a":[1,{"b":null}]}}"#)
        #expect(tick.source == "coinbase" && tick.symbol == "BTC/USD")
        #expect(tick.price == DecimalText("2.5"))
    }

    @Test("every malformed message names its reason", arguments: [
        (#"{"v":1,"kind":"trade""#, "malformed_json"),
        (#"[1]"#, "malformed_json"),
        (#"{"v":1} x"#, "malformed_json"),
        (#"{"v":1,"a":{"b":{"c":{"d":{"e":1}}}}}"#, "malformed_json"),  // nested deeper than 4
        (#"{"v":1,"kind":"trade","source":"\x","symbol":"A/B","ts":1,"price":"1","size":"1"}"#, "malformed_json"),
        (#"{"v":2,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"1","size":"1"}"#, "unsupported_version"),
        (#"{"v":"1","kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"1","size":"1"}"#, "unsupported_version"),
        (#"{"v":1,"kind":"trade","symbol":"A/B","ts":1,"price":"1","size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"","ts":1,"price":"1","size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"candle","source":"s","symbol":"A/B","ts":1,"price":"1","size":"1"}"#, "unknown_kind"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":0,"price":"1","size":"1"}"#, "invalid_timestamp"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1.5,"price":"1","size":"1"}"#, "invalid_timestamp"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":1.5,"size":"1"}"#, "invalid_decimal"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"1e5","size":"1"}"#, "invalid_decimal"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"0","size":"1"}"#, "invalid_price"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"1","size":"-1"}"#, "invalid_price"),
        (#"{"v":1,"kind":"quote","source":"s","symbol":"A/B","ts":1,"bid":null,"ask":null}"#, "missing_field"),
        (#"{"v":1,"kind":"quote","source":"s","symbol":"A/B","ts":1,"bid":"1.2","ask":"1.1"}"#, "crossed_quote"),
    ])
    func rejected(json: String, expected: String) {
        #expect(reason(json) == expected, "\(json)")
    }

    @Test("invalid UTF-8 and oversized messages are malformed")
    func bytesLevel() {
        var invalid = Array(#"{"v":1,"kind":"trade","source":"s"#.utf8)
        invalid += [0xFF] + Array(#"","symbol":"A/B","ts":1,"price":"1","size":"1"}"#.utf8)
        var invalidReason: String?
        do { _ = try TickRecord(json: invalid) } catch { invalidReason = error.reason }
        #expect(invalidReason == "malformed_json")
        let padding = String(repeating: " ", count: TickRecord.maxBytes)
        #expect(reason(#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1,"price":"1","size":"1"}"# + padding) == "malformed_json")
    }
}
