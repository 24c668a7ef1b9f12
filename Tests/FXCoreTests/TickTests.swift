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

    @Test("the sized encoding writes exactly the bytes of the JSON writer, for any strings, numbers and nulls")
    func sizedEncodingMatchesWriter() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["coinbase", "BTC/USD", "", "a\"b", "back\\slash", "tab\tnew\nline\r", "\u{01}\u{1F}", "é€😀", "x"]
        func text() -> String {
            (0..<Int.random(in: 0...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }
        let numbers: [Int64] = [0, 1, -1, 9, 10, Int64.max, Int64.min, 1_415_348_367_028_459_000, -42]
        let decimals = ["0", "1", "-0.5", "400.23", "123456789012345678901234567890.000000000000000001"].map { DecimalText($0)! }
        for _ in 0..<2_000 {
            let payload: Tick.Payload = Bool.random(using: &generator)
                ? .trade(price: decimals.randomElement()!, size: decimals.randomElement()!, side: [Tick.Side.buy, .sell, nil].randomElement()!,
                         tradeID: Bool.random() ? text() : nil)
                : .quote(bid: Bool.random() ? decimals.randomElement()! : nil, ask: Bool.random() ? decimals.randomElement()! : nil,
                         bidSize: Bool.random() ? decimals.randomElement()! : nil, askSize: Bool.random() ? decimals.randomElement()! : nil)
            let tick = Tick(source: text(), symbol: text(), venueSymbol: text(), timestamp: numbers.randomElement()!,
                            receivedAt: numbers.randomElement()!, sequence: Bool.random() ? numbers.randomElement()! : nil, payload: payload)
            let sized = tick.jsonBytes()
            #expect(sized == tick.jsonBytesWithWriter())
            _ = try JSONParser().parse(sized)
            #expect(tick.keyBytes == Array(tick.key.utf8))
        }
    }

    @Test("the sized writer escapes a byte at any position of any length, and writes every integer's digits")
    func sizedWriterEdges() {
        func sized(_ body: (inout JSONBufferWriter) -> Void) -> [UInt8]? { JSONBufferWriter.bytes(capacity: 200, body) }
        // Strings are read eight bytes at a time: escapes before, inside and across words, and UTF-8.
        for length in 0...26 {
            for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}", " ", "!", "#", "[", "]", "é", "\u{7F}"] {
                for position in 0...length {
                    let text = String(repeating: "a", count: position) + special + String(repeating: "b", count: length - position)
                    var reference = JSONWriter()
                    reference.string(text)
                    #expect(sized { $0.string(text) } == reference.bytes, "\(text.debugDescription)")
                    #expect(JSONBufferWriter.quotedLength(text) == reference.bytes.count, "\(text.debugDescription)")
                }
            }
        }
        var numbers: [Int64] = [0, Int64.max, Int64.min, Int64.min + 1]
        var power: Int64 = 1
        for _ in 0...18 {
            numbers += [power - 1, power, power + 1, -power, -(power - 1), -(power + 1)]
            if power <= Int64.max / 10 { power *= 10 }
        }
        numbers += (0..<2_000).map { _ in Int64.random(in: .min ... .max) >> Int64.random(in: 0...63) }
        for number in numbers {
            #expect(sized { $0.number(number) }.map { String(decoding: $0, as: UTF8.self) } == String(number))
        }
    }

    @Test("the sized writer refuses to write past the size it was given")
    func sizedWriterOverflow() {
        let fits = JSONBufferWriter.bytes(capacity: 9) { $0.raw("{\"a\":"); $0.number(1); $0.raw("}") }
        #expect(fits.map { String(decoding: $0, as: UTF8.self) } == #"{"a":1}"#)
        let tooLong = JSONBufferWriter.bytes(capacity: 6) { $0.raw("{\"a\":"); $0.string("long text"); $0.raw("}") }
        #expect(tooLong == nil)
        #expect(JSONBufferWriter.quotedLength("a\"\u{01}") == 2 + 1 + 2 + 6)
        #expect(JSONBufferWriter.quotedLength(nil) == 4)
    }
}
