import FXCandles
@testable import FXAggregate
import FXCore
import Testing

/// Inputs found by the libFuzzer targets (`Fuzz/`, `scripts/fuzz.sh`), kept as specs.
@Suite("Fuzz regressions: tick records")
struct FuzzTickRecordRegressionTests {
    /// FuzzTickCopy: a quote carrying a `trade_id` keeps it (and it enters `orderKey`), but `jsonBytes()`
    /// writes no `trade_id` for quotes, so the record does not read back from its own message (the
    /// rejects topic's `raw`) and its order key changes.
    @Test("a quote reads back from its own message")
    func quoteWithTradeID() throws {
        let text = #"{"v":1,"kind":"quote","source":"coinbase","symbol":"BTC/USD","ts":1795300061000000007,"seq":3,"bid":"64250.1","ask":"64250.2","trade_id":"987"}"#
        let record = try TickRecord(json: Array(text.utf8))
        let again = try TickRecord(json: record.jsonBytes())
        #expect(again == record)
    }
}
