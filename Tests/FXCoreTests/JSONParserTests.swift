import FXCore
import Testing

@Suite("JSON parsing: strict, bounded, exact numbers")
struct JSONParserTests {
    let parser = JSONParser()

    @Test("a Coinbase match message parses with prices kept as exact text")
    func coinbaseMatch() throws {
        let text = #"{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}"#
        let value = try parser.parse(text)
        #expect(value["type"]?.stringValue == "match")
        #expect(value["sequence"]?.int64Value == 50)
        #expect(value["price"]?.decimal?.text == "400.23")
        #expect(value["size"]?.decimal?.text == "5.23512")
    }

    @Test("Finnhub numeric prices never pass through Double")
    func finnhubNumbers() throws {
        let value = try parser.parse(#"{"data":[{"c":null,"p":1.0876500000000000001,"s":"OANDA:EUR_USD","t":1575526691134,"v":0}],"type":"trade"}"#)
        let trade = try #require(value["data"]?.arrayValue?.first)
        #expect(trade["p"]?.decimal?.text == "1.0876500000000000001")
        #expect(trade["t"]?.int64Value == 1575526691134)
        #expect(trade["v"]?.decimal?.isZero == true)
        #expect(trade["c"]?.isNull == true)
    }

    @Test("escapes and unicode decode, including surrogate pairs")
    func strings() throws {
        let value = try parser.parse(#"["a\"b\\c\/d\n\t", "\u00fc\u20ac", "\ud83d\ude00", "plain ü"]"#)
        #expect(value.arrayValue?.map(\.stringValue) == ["a\"b\\c/d\n\t", "ü€", "😀", "plain ü"])
    }

    @Test("malformed documents are errors with a code and an offset", arguments: [
        ("{\"a\":1", JSONParser.Error.Code.syntax), ("{\"a\" 1}", .syntax), ("[1,]", .syntax), ("01", .syntax),
        ("1.", .syntax), ("-", .syntax), ("tru", .syntax), ("{\"a\":1} x", .syntax), ("\"\\x\"", .syntax),
        ("\"\\ud800\"", .syntax), ("\"a\u{01}b\"", .syntax), ("NaN", .syntax), ("", .syntax),
    ])
    func malformed(text: String, code: JSONParser.Error.Code) {
        #expect { try parser.parse(text) } throws: { error in
            (error as? JSONParser.Error)?.code == code
        }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"s":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect { try parser.parse(bytes) } throws: { ($0 as? JSONParser.Error)?.code == .invalidUTF8 }
    }

    @Test("nesting and size limits hold")
    func limits() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect { try parser.parse(deep) } throws: { ($0 as? JSONParser.Error)?.code == .tooDeep }
        let small = JSONParser(maxDepth: 32, maxBytes: 16)
        #expect { try small.parse(#"{"long":"0123456789"}"#) } throws: { ($0 as? JSONParser.Error)?.code == .tooLarge }
        #expect((try? parser.parse(String(repeating: "[", count: 30) + String(repeating: "]", count: 30))) != nil)
    }
}
