/// The token-level grammar shared by ``JSONParser`` and ``JSONScanner``: whitespace, literals and
/// number literals, read from `bytes` at `index` (advanced past what was read).
enum JSONLexing {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func skipWhitespace(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Reads `true`, `false` or `null` exactly.
    static func literal(_ text: StaticString, _ bytes: [UInt8], _ index: inout Int) throws(JSONParser.Error) {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else {
            throw JSONParser.Error(code: .syntax, offset: index, message: "unexpected end of input")
        }
        let start = index
        let matches = text.withUTF8Buffer { expected in (0..<count).allSatisfy { bytes[start + $0] == expected[$0] } }
        guard matches else { throw JSONParser.Error(code: .syntax, offset: index, message: "invalid literal") }
        index += count
    }

    /// Reads a number literal (RFC 8259 grammar: no leading zeros, no bare `.`, no NaN); returns its range.
    static func number(_ bytes: [UInt8], _ index: inout Int) throws(JSONParser.Error) -> Range<Int> {
        let start = index
        func fail(_ message: String) -> JSONParser.Error { JSONParser.Error(code: .syntax, offset: index, message: message) }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number fraction") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return start..<index
    }
}
