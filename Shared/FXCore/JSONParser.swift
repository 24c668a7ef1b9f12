/// A strict, bounded JSON parser (RFC 8259) over bytes: invalid UTF-8, trailing garbage, nesting deeper
/// than `maxDepth` and documents longer than `maxBytes` are errors with the byte offset, never crashes.
public struct JSONParser: Sendable {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable, Equatable {
        public enum Code: String, Sendable {
            case tooLarge = "too_large"
            case tooDeep = "too_deep"
            case invalidUTF8 = "invalid_utf8"
            case syntax
        }

        public var code: Code
        public var offset: Int
        public var message: String
        public var description: String { "JSON \(code.rawValue) at byte \(offset): \(message)" }
    }

    public var maxDepth: Int
    public var maxBytes: Int

    public init(maxDepth: Int = 32, maxBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public func parse(_ bytes: [UInt8]) throws(Error) -> JSONValue {
        guard bytes.count <= maxBytes else {
            throw Error(code: .tooLarge, offset: maxBytes, message: "document of \(bytes.count) bytes exceeds \(maxBytes)")
        }
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error(.syntax, "unexpected data after the document") }
        return value
    }

    public func parse(_ text: String) throws(Error) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private struct Reader {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        func error(_ code: Error.Code, _ message: String) -> Error {
            Error(code: code, offset: index, message: message)
        }

        mutating func skipWhitespace() { JSONLexing.skipWhitespace(bytes, &index) }

        mutating func parseValue(depth: Int) throws(Error) -> JSONValue {
            guard index < bytes.count else { throw error(.syntax, "unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error(.syntax, "unexpected character")
            }
        }

        mutating func expect(_ literal: StaticString) throws(Error) { try JSONLexing.literal(literal, bytes, &index) }

        mutating func parseObject(depth: Int) throws(Error) -> JSONValue {
            guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth)") }
            index += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error(.syntax, "expected a member name") }
                let name = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error(.syntax, "expected ':'") }
                index += 1
                skipWhitespace()
                members[name] = try parseValue(depth: depth)
                skipWhitespace()
                guard index < bytes.count else { throw error(.syntax, "unterminated object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error(.syntax, "expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws(Error) -> JSONValue {
            guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth)") }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw error(.syntax, "unterminated array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw error(.syntax, "expected ',' or ']'")
            }
        }

        mutating func parseNumber() throws(Error) -> String {
            String(decoding: bytes[try JSONLexing.number(bytes, &index)], as: UTF8.self)
        }

        mutating func parseString() throws(Error) -> String {
            index += 1 // opening quote
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = bytes[start..<index]
                    index += 1
                    return try validated(slice, at: start)
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw error(.syntax, "control character in string") }
                index += 1
            }
            var buffer = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return try validated(buffer[...], at: start)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error(.syntax, "unterminated escape") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): buffer.append(0x08)
                    case UInt8(ascii: "f"): buffer.append(0x0C)
                    case UInt8(ascii: "n"): buffer.append(0x0A)
                    case UInt8(ascii: "r"): buffer.append(0x0D)
                    case UInt8(ascii: "t"): buffer.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw error(.syntax, "unpaired surrogate")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error(.syntax, "invalid surrogate pair") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error(.syntax, "unpaired surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw error(.syntax, "invalid code point") }
                        buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        throw error(.syntax, "invalid escape")
                    }
                default:
                    guard byte >= 0x20 else { throw error(.syntax, "control character in string") }
                    buffer.append(byte)
                    index += 1
                }
            }
            throw error(.syntax, "unterminated string")
        }

        mutating func hex4() throws(Error) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error(.syntax, "short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error(.syntax, "invalid hex digit")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        func validated(_ slice: ArraySlice<UInt8>, at offset: Int) throws(Error) -> String {
            guard let string = String(validating: slice, as: UTF8.self) else {
                throw Error(code: .invalidUTF8, offset: offset, message: "string is not valid UTF-8")
            }
            return string
        }

    }
}
