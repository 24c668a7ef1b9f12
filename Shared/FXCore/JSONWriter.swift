/// Builds compact JSON text into bytes, with every string escaped per RFC 8259. Used for the topic
/// contracts (stable field order) and for JSON log lines.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Per open object or array (bit `depth - 1`): whether its next member or element needs a comma.
    /// A bit set instead of an array: no allocation per message. At most 64 levels open.
    private var needsComma: UInt64 = 0
    private var depth = 0

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        open()
    }

    public mutating func endObject() {
        close()
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        open()
    }

    public mutating func endArray() {
        close()
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func stringArray(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// A member name fixed at compile time: plain ASCII with nothing to escape (checked in debug builds),
    /// copied without the scan ``key(_:)`` makes. For the contracts' hot encoders (one call per field per tick).
    public mutating func member(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { utf8 in
            assert(utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }, "member name needs escaping")
            bytes.append(contentsOf: utf8)
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        pendingValueAfterKey = true
    }

    public mutating func key(_ name: String) {
        separate()
        Self.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        pendingValueAfterKey = true
    }

    /// Set between a member name and its value: the value needs no separator.
    private var pendingValueAfterKey = false

    public mutating func string(_ value: String?) {
        separate()
        if let value { Self.appendQuoted(value, to: &bytes) } else { appendLiteral("null") }
    }

    /// A number written from exact text (decimal or integer literal).
    public mutating func number(_ literal: String) {
        separate()
        bytes.append(contentsOf: literal.utf8)
    }

    public mutating func number(_ value: Int64?) {
        separate()
        if let value { bytes.appendDecimal(value) } else { appendLiteral("null") }
    }

    public mutating func bool(_ value: Bool) {
        separate()
        appendLiteral(value ? "true" : "false")
    }

    public mutating func null() {
        separate()
        appendLiteral("null")
    }

    private mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func separate() {
        if pendingValueAfterKey {
            pendingValueAfterKey = false
            return
        }
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if needsComma & bit != 0 { bytes.append(UInt8(ascii: ",")) }
        needsComma |= bit
    }

    private mutating func open() {
        precondition(depth < 64, "JSONWriter: more than 64 levels open")
        depth += 1
        needsComma &= ~(1 << UInt64(depth - 1))
    }

    private mutating func close() {
        precondition(depth > 0, "JSONWriter: nothing open to close")
        depth -= 1
    }

    /// A JSON string literal with quotes, backslashes and every control character escaped.
    public static func quoted(_ string: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(string, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `string` quoted, escaping what JSON requires; runs without escapes are copied whole.
    static func appendQuoted(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard JSONEscape.isNeeded(byte) else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                JSONEscape.forEachByte(of: byte) { bytes.append($0) }
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
