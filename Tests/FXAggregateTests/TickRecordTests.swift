import FXContracts
@testable import FXCandles
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
        let tick = try record(#"{"v":1,"kind":"trade","source":"s","symbol":"EUR/USD","ts":1795300000000000005,"seq":null,"price":"1.0850","size":"0"}"#)
        #expect(tick.identity == "T:1795300000000000005::1.085:0")
        #expect(tick.orderKey == "01795300000000000005|00000000000000000000|0000|T:1795300000000000005::1.085:0")
    }

    @Test("a quote: identity from every price and size, absent sides empty")
    func quote() throws {
        let tick = try record(#"{"v":1,"kind":"quote","source":"s","symbol":"EUR/USD","ts":1795300000000000007,"seq":3,"bid":"1.1","ask":null,"bid_size":"2.50"}"#)
        #expect(tick.bid == DecimalText("1.1") && tick.ask == nil && tick.bidSize == DecimalText("2.5") && tick.askSize == nil)
        #expect(tick.identity == "q:1795300000000000007:3:1.1::2.5:")
    }

    @Test("escaped strings are decoded; a repeated member's last value counts; unknown members of any shape are skipped")
    func lexicalCases() throws {
        let tick = try record(#"{"v":1,"kind":"trade","source":"co\u0069nbase","symbol":"BTC\/USD","ts":1795300000000000009,"price":"1\u002e5","price":"2.5","size":"1","extra":{"a":[1,{"b":null}]}}"#)
        #expect(tick.source == "coinbase" && tick.symbol == "BTC/USD")
        #expect(tick.price == DecimalText("2.5"))
    }

    @Test("every malformed message names its reason", arguments: [
        (#"{"v":1,"kind":"trade""#, "malformed_json"),
        (#"[1]"#, "malformed_json"),
        (#"{"v":1} x"#, "malformed_json"),
        (#"{"v":1,"a":{"b":{"c":{"d":{"e":1}}}}}"#, "malformed_json"),  // nested deeper than 4
        (#"{"v":1,"kind":"trade","source":"\x","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#, "malformed_json"),
        (#"{"v":2,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#, "unsupported_version"),
        (#"{"v":"1","kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#, "unsupported_version"),
        (#"{"v":1,"kind":"trade","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"","ts":1795300000000000000,"price":"1","size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"candle","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#, "unknown_kind"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":0,"price":"1","size":"1"}"#, "invalid_timestamp"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1.5,"price":"1","size":"1"}"#, "invalid_timestamp"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"size":"1"}"#, "missing_field"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":1.5,"size":"1"}"#, "invalid_decimal"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1e5","size":"1"}"#, "invalid_decimal"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"0","size":"1"}"#, "invalid_price"),
        (#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"-1"}"#, "invalid_price"),
        (#"{"v":1,"kind":"quote","source":"s","symbol":"A/B","ts":1795300000000000000,"bid":null,"ask":null}"#, "missing_field"),
        (#"{"v":1,"kind":"quote","source":"s","symbol":"A/B","ts":1795300000000000000,"bid":"1.2","ask":"1.1"}"#, "crossed_quote"),
    ])
    func rejected(json: String, expected: String) {
        #expect(reason(json) == expected, "\(json)")
    }

    @Test("invalid UTF-8 and oversized messages are malformed")
    func bytesLevel() {
        var invalid = Array(#"{"v":1,"kind":"trade","source":"s"#.utf8)
        invalid += [0xFF] + Array(#"","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"#.utf8)
        var invalidReason: String?
        do { _ = try TickRecord(json: invalid) } catch { invalidReason = error.reason }
        #expect(invalidReason == "malformed_json")
        let padding = String(repeating: " ", count: TickRecord.maxBytes)
        #expect(reason(#"{"v":1,"kind":"trade","source":"s","symbol":"A/B","ts":1795300000000000000,"price":"1","size":"1"}"# + padding) == "malformed_json")
    }

    // MARK: Contract limits

    @Test("event times outside 2000-01-01 ... 2100-01-01 are rejected, Int64's extremes included", arguments: [
        "9223372036854000000", "9223372036854775807", "-9223372036854775808", "-1", "0", "946684799999999999", "4102444800000000001",
    ])
    func implausibleTimes(ts: String) {
        #expect(reason(limitTrade(ts: ts)) == "invalid_timestamp")
    }

    @Test("the window's edges are accepted")
    func timeEdges() throws {
        #expect(try record(limitTrade(ts: "946684800000000000")).ts == ContractLimits.earliestEventTime)
        #expect(try record(limitTrade(ts: "4102444800000000000")).ts == ContractLimits.latestEventTime)
    }

    @Test("sequences outside 0 ... 2^62 are rejected", arguments: ["-1", "9223372036854775807", "4611686018427387905"])
    func implausibleSequences(seq: String) {
        #expect(reason(limitTrade(seq: seq)) == "invalid_sequence")
    }

    @Test("an implausible receipt time is dropped (it only feeds latency), the tick is kept")
    func implausibleReceipt() throws {
        #expect(try record(limitTrade(recv: "-9223372036854775808")).receivedAt == nil)
        #expect(try record(limitTrade(recv: "9223372036854775807")).receivedAt == nil)
    }

    @Test("trade ids: a NUL, a control character, a space or more than 64 bytes is rejected", arguments: [
        #""a\u0000b""#, #""a\nb""#, #""a b""#, "\"" + String(repeating: "9", count: 65) + "\"", #""""#,
    ])
    func badTradeIDs(tradeID: String) {
        #expect(reason(limitTrade(tradeID: tradeID)) == "invalid_trade_id")
    }

    @Test("a 64-byte printable trade id is accepted")
    func longestTradeID() throws {
        let id = String(repeating: "x", count: 64)
        #expect(try record(limitTrade(tradeID: "\"\(id)\"")).tradeID == id)
    }

    @Test("decimals: more than 38 significant digits or 18 decimals is rejected", arguments: [
        String(repeating: "9", count: 17_000), String(repeating: "1", count: 39), "0." + String(repeating: "0", count: 18) + "1",
    ])
    func hugeDecimals(price: String) {
        #expect(reason(limitTrade(price: price)) == "invalid_decimal")
    }

    @Test("38 significant digits with 18 decimals fit")
    func widestDecimal() throws {
        let price = String(repeating: "9", count: 20) + "." + String(repeating: "9", count: 18)
        #expect(try record(limitTrade(price: price)).price?.text == price)
    }

    @Test("source and symbol: bounded length and character set", arguments: [
        (limitTrade(symbol: String(repeating: "A", count: 10_240)), "invalid_symbol"),
        (limitTrade(symbol: "btc/usd"), "invalid_symbol"),
        (limitTrade(symbol: "BTC/USD\\u0000"), "invalid_symbol"),
        (limitTrade(source: "Coinbase"), "invalid_source"),
        (limitTrade(source: String(repeating: "s", count: 33)), "invalid_source"),
    ])
    func badNames(json: String, expected: String) {
        #expect(reason(json) == expected)
    }
}

/// A trade message with one field set to test a contract limit.
private func limitTrade(ts: String = "1795300000000000000", seq: String = "null", recv: String = "1795300000000000000",
                  source: String = "coinbase", symbol: String = "BTC/USD", price: String = "1.5", tradeID: String = "\"7\"") -> String {
    #"{"v":1,"kind":"trade","source":"\#(source)","symbol":"\#(symbol)","ts":\#(ts),"recv_ts":\#(recv),"seq":\#(seq),"price":"\#(price)","size":"1","trade_id":\#(tradeID)}"#
}
