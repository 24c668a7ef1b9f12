import FXCore
import Testing

@Suite("JSON scanning without a tree")
struct JSONScannerTests {
    private func members(_ text: String) throws -> [String: JSONScanner.Token] {
        let scanner = JSONScanner(Array(text.utf8))
        var found: [String: JSONScanner.Token] = [:]
        try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
            found[String(decoding: Array(text.utf8)[name], as: UTF8.self)] = value
        }
        return found
    }

    @Test("members are visited with their kinds; nested values are skipped but validated")
    func visits() throws {
        let text = #"{"a":"x\"y","n":-12,"big":92233720368547758070,"o":{"k":[1,{"z":null}]},"b":true,"e":"\u00fc"}"#
        let scanner = JSONScanner(Array(text.utf8))
        let found = try members(text)
        #expect(found.keys.sorted() == ["a", "b", "big", "e", "n", "o"])
        #expect(scanner.string(found["a"]!) == "x\"y")
        #expect(scanner.int64(found["n"]!) == -12)
        #expect(scanner.int64(found["big"]!) == nil, "overflow is refused, not wrapped")
        #expect(scanner.decimal(found["big"]!)?.text == "92233720368547758070")
        #expect(found["o"]!.kind == .object)
        #expect(found["b"]!.kind == .bool(true))
        #expect(scanner.string(found["e"]!) == "ü")
    }

    @Test("errors inside skipped values are still errors", arguments: [
        #"{"a":{"b":[1,2}}"#, #"{"a":"\x"}"#, #"{"a":01}"#, #"{"a":1}x"#, #"[1]"#, #"{"a":"\ud800"}"#,
    ])
    func strict(text: String) {
        #expect(throws: JSONParser.Error.self) { try members(text) }
    }

    @Test("invalid UTF-8 in a skipped string is refused")
    func utf8() {
        let bytes: [UInt8] = Array(#"{"skip":""#.utf8) + [0xE2, 0x28, 0xA1] + Array(#""}"#.utf8)
        #expect { try JSONScanner(bytes).forEachMember { (_: Range<Int>, _: JSONScanner.Token) throws(JSONParser.Error) in } } throws: {
            ($0 as? JSONParser.Error)?.code == .invalidUTF8
        }
    }

    @Test("a string's end, escapes, control bytes and non-ASCII are found at every position of a long string, as the full parser finds them")
    func everyPositionInLongStrings() throws {
        // Strings are read eight bytes at a time: put each kind of byte at every offset of those words.
        let specials: [[UInt8]] = [[0x5C, 0x6E], [0x5C, 0x22], [0x01], [0x1F], [0x7F], [0xC3, 0xBC], [0xFF], [0xE2, 0x28, 0xA1], [0x80], [0x20]]
        for length in 0..<40 {
            for position in 0...length {
                for special in specials {
                    var inner = Array(repeating: UInt8(ascii: "a"), count: length)
                    inner.insert(contentsOf: special, at: position)
                    let bytes = Array(#"{"k":""#.utf8) + inner + Array(#"","n":1}"#.utf8)
                    let reference = try? JSONParser().parse(bytes)
                    var value: JSONScanner.Token?
                    let scanner = JSONScanner(bytes)
                    let scanned: Void? = try? scanner.forEachMember { (name: Range<Int>, token: JSONScanner.Token) throws(JSONParser.Error) in
                        if scanner.name(name, equals: "k") { value = token }
                    }
                    #expect((scanned != nil) == (reference != nil), "length \(length), \(special) at \(position)")
                    if let reference, let value {
                        #expect(scanner.string(value) == reference["k"]?.stringValue, "length \(length), \(special) at \(position)")
                    }
                }
            }
        }
    }
}
