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

    @Test("compile-time member names, nested objects and arrays: commas exactly where JSON needs them")
    func nesting() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("a"); writer.number(Int64(1))
        writer.member("list"); writer.beginArray()
        for level in 0..<3 { writer.beginObject(); writer.member("n"); writer.number(Int64(level)); writer.endObject() }
        writer.beginArray(); writer.endArray()
        writer.endArray()
        writer.key("dynamic"); writer.beginObject(); writer.endObject()
        writer.member("deep")
        for _ in 0..<60 { writer.beginArray() }
        writer.string("x")
        for _ in 0..<60 { writer.endArray() }
        writer.member("z"); writer.string(nil)
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        let deep = String(repeating: "[", count: 60) + "\"x\"" + String(repeating: "]", count: 60)
        #expect(text == #"{"a":1,"list":[{"n":0},{"n":1},{"n":2},[]],"dynamic":{},"deep":"# + deep + #","z":null}"#)
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
