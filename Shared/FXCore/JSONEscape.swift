/// How a JSON string's bytes are escaped (RFC 8259): quotes, backslashes and every control byte; the
/// rule both writers (``JSONWriter``, ``JSONBufferWriter``) follow, so that they write the same bytes.
enum JSONEscape {
    /// Whether `byte` cannot appear in a JSON string as it is.
    @inline(__always)
    static func isNeeded(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether one of the eight bytes of `word` ``isNeeded(_:)``: a quote, a backslash or a control byte.
    /// Exact for "none" (a byte at or above 0x80 never counts: its high bit is masked out): one is below
    /// 0x20 when `(w - 0x20…) & ~w & 0x80…` is set, equals `"` or `\` when xor leaves a zero byte
    /// (`(v - 0x01…) & ~v & 0x80…`).
    @inline(__always)
    static func isNeeded(inWord word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs != 0
    }

    /// The index of the first byte of `bytes`, at or after `start`, that ``isNeeded(_:)``; `bytes.count` if
    /// none. Eight bytes at a time (``isNeeded(inWord:)``); the word that has one is then read byte by byte.
    @inline(__always)
    static func firstNeeded(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        var index = start
        while index &+ 8 <= bytes.count, !isNeeded(inWord: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) {
            index &+= 8
        }
        while index < bytes.count, !isNeeded(base[index]) { index &+= 1 }
        return index
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
