/// How a JSON string's bytes are escaped (RFC 8259): quotes, backslashes and every control byte; the
/// rule both writers (``JSONWriter``, ``JSONBufferWriter``) follow, so that they write the same bytes.
enum JSONEscape {
    /// Whether `byte` cannot appear in a JSON string as it is.
    @inline(__always)
    static func isNeeded(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Gives `body` the bytes of the escape sequence of `byte` (one that ``isNeeded(_:)``), in order:
    /// `\"`, `\\`, `\n`, `\r`, `\t`, else `\u00XX` (lower-case hex).
    static func forEachByte(of byte: UInt8, _ body: (UInt8) -> Void) {
        body(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): body(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): body(UInt8(ascii: "\\"))
        case 0x0A: body(UInt8(ascii: "n"))
        case 0x0D: body(UInt8(ascii: "r"))
        case 0x09: body(UInt8(ascii: "t"))
        default:
            body(UInt8(ascii: "u")); body(UInt8(ascii: "0")); body(UInt8(ascii: "0"))
            body(hexDigit(byte >> 4)); body(hexDigit(byte & 0xF))
        }
    }

    /// The bytes of the escape sequence of `byte` (one that ``isNeeded(_:)``).
    static func length(of byte: UInt8) -> Int {
        var length = 0
        forEachByte(of: byte) { _ in length += 1 }
        return length
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
