/// A strict JSON reader that does not build a tree: it walks an object's members and hands each
/// member's name and value as byte ranges, validating everything it skips. Normalizers use it to
/// materialize only the fields they need.
public struct JSONScanner: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A string; `range` excludes the quotes; `escaped` when it holds backslash escapes.
        case string(escaped: Bool)
        case number
        case object
        case array
        case bool(Bool)
        case null
    }

    /// One value: its kind and where it lies in the document.
    public struct Token: Sendable {
        public let kind: Kind
        public let range: Range<Int>
    }

    public let bytes: [UInt8]
    public let maxDepth: Int

    public init(_ bytes: [UInt8], maxDepth: Int = 32) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Checks that the whole document is one object and calls `visit(name, value)` for each member.
    /// Member names are compared with ``name(_:equals:)``.
    public func forEachMember(_ visit: (Range<Int>, Token) throws(JSONParser.Error) -> Void) throws(JSONParser.Error) {
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        cursor.skipWhitespace()
        guard cursor.index < bytes.count, bytes[cursor.index] == UInt8(ascii: "{") else {
            throw cursor.error(.syntax, "expected an object")
        }
        let end = try cursor.object(depth: 1, visit: visit)
        cursor.index = end
        cursor.skipWhitespace()
        guard cursor.index == bytes.count else { throw cursor.error(.syntax, "unexpected data after the document") }
    }

    /// Calls `visit` for each member of the object token `object` (from a previous visit).
    public func forEachMember(of object: Token, _ visit: (Range<Int>, Token) throws(JSONParser.Error) -> Void) throws(JSONParser.Error) {
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        cursor.index = object.range.lowerBound
        _ = try cursor.object(depth: 1, visit: visit)
    }

    /// Calls `visit` for each element of the array token `array`.
    public func forEachElement(of array: Token, _ visit: (Token) throws(JSONParser.Error) -> Void) throws(JSONParser.Error) {
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        cursor.index = array.range.lowerBound + 1
        cursor.skipWhitespace()
        if cursor.index < bytes.count, bytes[cursor.index] == UInt8(ascii: "]") { return }
        while true {
            cursor.skipWhitespace()
            try visit(try cursor.value(depth: 1))
            cursor.skipWhitespace()
            guard cursor.index < bytes.count else { throw cursor.error(.syntax, "unterminated array") }
            if bytes[cursor.index] == UInt8(ascii: ",") { cursor.index += 1; continue }
            if bytes[cursor.index] == UInt8(ascii: "]") { return }
            throw cursor.error(.syntax, "expected ',' or ']'")
        }
    }

    /// Whether the name at `range` is `expected` (names with escapes never match).
    public func name(_ range: Range<Int>, equals expected: StaticString) -> Bool {
        guard range.count == expected.utf8CodeUnitCount else { return false }
        return expected.withUTF8Buffer { buffer in
            var i = range.lowerBound
            for byte in buffer {
                if bytes[i] != byte { return false }
                i += 1
            }
            return true
        }
    }

    /// The text of a string token (escapes decoded), or nil for other kinds.
    public func string(_ token: Token) -> String? {
        guard case .string(let escaped) = token.kind else { return nil }
        if !escaped { return String(decoding: bytes[token.range], as: UTF8.self) }
        // Rare: decode escapes with the full parser.
        let quoted = [UInt8(ascii: "\"")] + bytes[token.range] + [UInt8(ascii: "\"")]
        return (try? JSONParser().parse(quoted))?.stringValue
    }

    /// A number token, or a string token holding a plain decimal, as an exact decimal.
    public func decimal(_ token: Token) -> DecimalText? {
        switch token.kind {
        case .number: return DecimalText(jsonNumber: bytes[token.range])
        case .string(escaped: false): return DecimalText(bytes: bytes[token.range])
        default: return nil
        }
    }

    /// An RFC 3339 string token as nanoseconds since the epoch (``Timestamps/nanoseconds(rfc3339:)``),
    /// read in place; nil for other kinds or text that is not a valid time.
    public func timestamp(_ token: Token) -> Int64? {
        switch token.kind {
        case .string(escaped: false):
            return bytes.withUnsafeBufferPointer { Timestamps.nanoseconds(rfc3339UTF8: UnsafeBufferPointer(rebasing: $0[token.range])) }
        case .string(escaped: true):
            return string(token).flatMap { Timestamps.nanoseconds(rfc3339: $0) }
        default:
            return nil
        }
    }

    /// A whole-number token that fits Int64.
    public func int64(_ token: Token) -> Int64? {
        guard token.kind == .number, !token.range.isEmpty else { return nil }
        var index = token.range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < token.range.upperBound else { return nil }
        // Accumulated negatively: Int64.min's magnitude has no positive Int64.
        var value: Int64 = 0
        while index < token.range.upperBound {
            let byte = bytes[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.subtractingReportingOverflow(Int64(byte - 0x30))
            guard !o1, !o2 else { return nil }
            value = sum
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// The raw text of a number or unescaped string token (e.g. an id).
    public func text(_ token: Token) -> String? {
        switch token.kind {
        case .number, .string(escaped: false): return String(decoding: bytes[token.range], as: UTF8.self)
        case .string(escaped: true): return string(token)
        default: return nil
        }
    }

    struct Cursor {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        func error(_ code: JSONParser.Error.Code, _ message: String) -> JSONParser.Error {
            JSONParser.Error(code: code, offset: index, message: message)
        }

        mutating func skipWhitespace() { JSONLexing.skipWhitespace(bytes, &index) }

        /// Reads the object starting at `index` ('{'), visiting members; returns the index after '}'.
        mutating func object(depth: Int, visit: (Range<Int>, Token) throws(JSONParser.Error) -> Void) throws(JSONParser.Error) -> Int {
            guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth)") }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return index }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error(.syntax, "expected a member name") }
                let (nameRange, _) = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error(.syntax, "expected ':'") }
                index += 1
                skipWhitespace()
                try visit(nameRange, try value(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw error(.syntax, "unterminated object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return index }
                throw error(.syntax, "expected ',' or '}'")
            }
        }

        mutating func value(depth: Int) throws(JSONParser.Error) -> Token {
            guard index < bytes.count else { throw error(.syntax, "unexpected end of input") }
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "{"):
                _ = try object(depth: depth + 1) { (_: Range<Int>, _: Token) throws(JSONParser.Error) in }
                return Token(kind: .object, range: start..<index)
            case UInt8(ascii: "["):
                try skipArray(depth: depth + 1)
                return Token(kind: .array, range: start..<index)
            case UInt8(ascii: "\""):
                let (range, escaped) = try string()
                return Token(kind: .string(escaped: escaped), range: range)
            case UInt8(ascii: "t"): try literal("true"); return Token(kind: .bool(true), range: start..<index)
            case UInt8(ascii: "f"): try literal("false"); return Token(kind: .bool(false), range: start..<index)
            case UInt8(ascii: "n"): try literal("null"); return Token(kind: .null, range: start..<index)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                return Token(kind: .number, range: start..<index)
            default:
                throw error(.syntax, "unexpected character")
            }
        }

        mutating func skipArray(depth: Int) throws(JSONParser.Error) {
            guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth)") }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipWhitespace()
                _ = try value(depth: depth)
                skipWhitespace()
                guard index < bytes.count else { throw error(.syntax, "unterminated array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return }
                throw error(.syntax, "expected ',' or ']'")
            }
        }

        mutating func literal(_ text: StaticString) throws(JSONParser.Error) { try JSONLexing.literal(text, bytes, &index) }

        mutating func number() throws(JSONParser.Error) { _ = try JSONLexing.number(bytes, &index) }

        /// Reads a string at `index` ('"'): the range inside the quotes and whether it has escapes.
        /// Validates escapes, control characters and UTF-8.
        mutating func string() throws(JSONParser.Error) -> (Range<Int>, Bool) {
            index += 1
            let start = index
            var escaped = false
            var ascii = true
            // The common run (no escape, no control character) found over the raw buffer: no bounds check
            // per byte; what ends it is then handled below, byte by byte, exactly as before.
            index = bytes.withUnsafeBufferPointer { buffer in
                var position = start
                var high: UInt8 = 0
                // Eight bytes at a time while none of them ends the run (a quote, a backslash or a control
                // byte: the bytes JSON escapes, ``JSONEscape/isNeeded(inWord:)``); the word that has one is
                // then read byte by byte below.
                if let base = buffer.baseAddress {
                    let raw = UnsafeRawPointer(base)
                    var highWords: UInt64 = 0
                    while position + 8 <= buffer.count {
                        let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                        if JSONEscape.isNeeded(inWord: word) { break }
                        highWords |= word
                        position += 8
                    }
                    if highWords & 0x8080_8080_8080_8080 != 0 { high = 0x80 }
                }
                while position < buffer.count {
                    let byte = buffer[position]
                    if JSONEscape.isNeeded(byte) { break }
                    high |= byte
                    position += 1
                }
                if high >= 0x80 { ascii = false }
                return position
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let range = start..<index
                    index += 1
                    if !ascii, String(validating: bytes[range], as: UTF8.self) == nil {
                        throw JSONParser.Error(code: .invalidUTF8, offset: start, message: "string is not valid UTF-8")
                    }
                    if escaped {
                        // Let the full parser check every escape (surrogates included).
                        let quoted = [UInt8(ascii: "\"")] + bytes[range] + [UInt8(ascii: "\"")]
                        do { _ = try JSONParser().parse(quoted) } catch {
                            throw JSONParser.Error(code: error.code, offset: start + error.offset, message: error.message)
                        }
                    }
                    return (range, escaped)
                }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    index += 2
                    continue
                }
                guard byte >= 0x20 else { throw error(.syntax, "control character in string") }
                if byte >= 0x80 { ascii = false }
                index += 1
            }
            throw error(.syntax, "unterminated string")
        }

    }
}
