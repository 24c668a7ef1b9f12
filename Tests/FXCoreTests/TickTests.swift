import FXContracts
import FXCore
import Testing

@Suite("The fx.ticks message contract")
struct TickTests {
    @Test("a trade serializes with every contract field, decimals as strings")
    func tradeJSON() throws {
        let tick = Tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", timestamp: 1_415_348_367_028_459_000,
                        receivedAt: 1_415_348_367_100_000_000, sequence: 50,
                        payload: .trade(price: DecimalText("400.23")!, size: DecimalText("5.23512")!, side: .buy, tradeID: "10"))
        let text = String(decoding: tick.jsonBytes(), as: UTF8.self)
        #expect(text == #"{"v":1,"kind":"trade","source":"coinbase","symbol":"BTC/USD","venue_symbol":"BTC-USD","ts":1415348367028459000,"recv_ts":1415348367100000000,"seq":50,"price":"400.23","size":"5.23512","side":"buy","trade_id":"10"}"#)
        #expect(tick.key == "coinbase:BTC/USD")
        #expect(tick.kind == .trade)
    }

    @Test("a quote serializes nulls for what the venue did not send, and parses back")
    func quoteJSON() throws {
        let tick = Tick(source: "finnhub", symbol: "EUR/USD", venueSymbol: "OANDA:EUR_USD", timestamp: 1, receivedAt: 2, sequence: nil,
                        payload: .quote(bid: DecimalText("1.0850")!, ask: DecimalText("1.0852")!, bidSize: nil, askSize: nil))
        let parsed = try JSONParser().parse(tick.jsonBytes())
        #expect(parsed["kind"]?.stringValue == "quote")
        #expect(parsed["seq"]?.isNull == true)
        #expect(parsed["bid"]?.stringValue == "1.085")
        #expect(parsed["ask"]?.stringValue == "1.0852")
        #expect(parsed["bid_size"]?.isNull == true)
        #expect(parsed["price"] == nil)
    }

    @Test("strings with quotes and control characters stay valid JSON")
    func escaping() throws {
        let tick = Tick(source: "s\"rc", symbol: "A/B", venueSymbol: "line\nbreak\u{01}", timestamp: 0, receivedAt: 0, sequence: nil,
                        payload: .trade(price: DecimalText("1")!, size: DecimalText("0")!, side: nil, tradeID: nil))
        let parsed = try JSONParser().parse(tick.jsonBytes())
        #expect(parsed["source"]?.stringValue == "s\"rc")
        #expect(parsed["venue_symbol"]?.stringValue == "line\nbreak\u{01}")
        #expect(parsed["side"]?.isNull == true)
    }
}
