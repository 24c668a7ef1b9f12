/// Writes compact JSON into memory allocated once for the whole message, for the hot contracts'
/// encoders (one message per tick): the caller sizes the message in advance (the fixed text, at most
/// ``numberLength`` bytes per number, ``quotedLength(_:)`` per string), so no byte is written with an
/// array's capacity and uniqueness checks. The output is byte for byte what ``JSONWriter`` writes for the
/// same calls (strings escaped by the same rule, ``JSONEscape``).
///
/// The caller writes separators and member names itself, as fixed text (``raw(_:)``). Writing past the
/// size given is never done: the writer stops writing and ``bytes(capacity:_:)`` returns nil, for the
/// caller to fall back to ``JSONWriter``.
public struct JSONBufferWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    private var overflowed = false

    /// The most bytes an `Int64` takes in JSON (`-9223372036854775808`).
    public static let numberLength = 20

    private init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    /// The message `body` writes, in an array of `capacity` bytes allocated once; nil when `body` needed
    /// more than `capacity`.
    public static func bytes(capacity: Int, _ body: (inout JSONBufferWriter) -> Void) -> [UInt8]? {
        var fits = true
        let bytes = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, initialized in
            var writer = JSONBufferWriter(buffer)
            body(&writer)
            fits = !writer.overflowed
            initialized = writer.overflowed ? 0 : writer.count
        }
        return fits ? bytes : nil
    }

    /// The bytes `string` takes once quoted and escaped (`null` for nil).
    public static func quotedLength(_ string: String?) -> Int {
        guard var string else { return 4 }
        return string.withUTF8 { utf8 in
            var length = utf8.count + 2
            for byte in utf8 where JSONEscape.isNeeded(byte) { length += JSONEscape.length(of: byte) - 1 }
            return length
        }
    }

    /// Fixed text (punctuation and member names), copied as is: it must need no escaping.
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { copy($0) }
    }

    /// `string` quoted, escaping what JSON requires (runs without escapes copied whole); `null` for nil.
    public mutating func string(_ value: String?) {
        guard var value else { return raw("null") }
        value.withUTF8 { utf8 in
            put(UInt8(ascii: "\""))
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard JSONEscape.isNeeded(byte) else { continue }
                copy(UnsafeBufferPointer(rebasing: utf8[start..<index]))
                JSONEscape.forEachByte(of: byte) { put($0) }
                start = index + 1
            }
            copy(UnsafeBufferPointer(rebasing: utf8[start...]))
            put(UInt8(ascii: "\""))
        }
    }

    /// An integer in decimal; `null` for nil.
    public mutating func number(_ value: Int64?) {
        guard let value else { return raw("null") }
        var digits = InlineArray<20, UInt8>(repeating: 0)
        var index = 20
        var magnitude = value.magnitude
        repeat {
            index -= 1
            digits[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { put(UInt8(ascii: "-")) }
        let length = 20 - index
        guard reserve(length) else { return }
        for offset in 0..<length { base[count + offset] = digits[index + offset] }
        count += length
    }

    // MARK: Writing

    private mutating func reserve(_ length: Int) -> Bool {
        if overflowed || length > capacity - count {
            overflowed = true
            return false
        }
        return true
    }

    private mutating func put(_ byte: UInt8) {
        guard reserve(1) else { return }
        base[count] = byte
        count += 1
    }

    private mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty, reserve(bytes.count) else { return }
        (base + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }
}
