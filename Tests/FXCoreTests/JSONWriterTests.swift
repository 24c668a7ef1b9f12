import FXCore
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("every ASCII character, quotes, backslashes and non-ASCII text round-trip through the parser")
    func stringsRoundTrip() throws {
        let texts = [String((0..<128).map { Character(Unicode.Scalar(UInt8($0))) }), "plain", "", "é€😀 \"q\" \\b\\", "\u{1F}end"]
        for text in texts {
            var writer = JSONWriter()
            writer.beginObject()
            writer.key("k\"ey"); writer.string(text)
            writer.endObject()
            let parsed = try JSONParser().parse(writer.bytes)
            #expect(parsed["k\"ey"]?.stringValue == text)
        }
    }

    @Test("integers are written exactly, extremes and negatives included", arguments: [Int64.min, -1, 0, 7, 1_795_300_000_000_000_000, Int64.max])
    func integers(value: Int64) throws {
        var writer = JSONWriter()
        writer.beginArray(); writer.number(value); writer.endArray()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[\(value)]")
    }

    @Test("padded decimal digits match String(value) padded with zeros")
    func paddedDigits() {
        for (value, width) in [(Int64(5), 20), (-4, 20), (0, 4), (123_456, 3), (Int64.min, 25), (1_795_300_000_000_000_000, 20)] {
            var bytes: [UInt8] = []
            bytes.appendDecimal(value, width: width)
            let text = String(value)
            #expect(String(decoding: bytes, as: UTF8.self) == String(repeating: "0", count: max(0, width - text.count)) + text)
        }
    }
}
