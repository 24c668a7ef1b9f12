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
            var index = JSONEscape.firstNeeded(in: utf8, from: 0)
            while index < utf8.count {
                length += JSONEscape.length(of: utf8[index]) - 1
                index = JSONEscape.firstNeeded(in: utf8, from: index + 1)
            }
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
            var index = JSONEscape.firstNeeded(in: utf8, from: 0)
            while index < utf8.count {
                copy(UnsafeBufferPointer(rebasing: utf8[start..<index]))
                JSONEscape.forEachByte(of: utf8[index]) { put($0) }
                start = index + 1
                index = JSONEscape.firstNeeded(in: utf8, from: start)
            }
            copy(UnsafeBufferPointer(rebasing: utf8[start...]))
            put(UInt8(ascii: "\""))
        }
    }

    /// An integer in decimal; `null` for nil. Written in place, two digits per division, from the end.
    public mutating func number(_ value: Int64?) {
        guard let value else { return raw("null") }
        var magnitude = value.magnitude
        // floor(log10) from the bit length (1233 / 4096 ≈ log10 2), corrected by one comparison.
        let estimate = ((64 - magnitude.leadingZeroBitCount) &* 1233) >> 12
        let digits = Swift.max(1, estimate + (magnitude >= Self.powerOfTen(estimate) ? 1 : 0))
        let length = digits + (value < 0 ? 1 : 0)
        guard reserve(length) else { return }
        if value < 0 { base[count] = UInt8(ascii: "-") }
        var position = count + length
        while magnitude >= 100 {
            let quotient = magnitude / 100
            let pair = UInt8(truncatingIfNeeded: magnitude &- quotient &* 100)
            position -= 2
            base[position] = UInt8(ascii: "0") &+ pair / 10
            base[position + 1] = UInt8(ascii: "0") &+ pair % 10
            magnitude = quotient
        }
        let last = UInt8(truncatingIfNeeded: magnitude)
        if last >= 10 {
            base[position - 2] = UInt8(ascii: "0") &+ last / 10
            base[position - 1] = UInt8(ascii: "0") &+ last % 10
        } else {
            base[position - 1] = UInt8(ascii: "0") &+ last
        }
        count += length
    }

    /// 10^`exponent` for 0...19 (a switch: constant data, no lazily made table).
    @inline(__always)
    private static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        case 9: 1_000_000_000
        case 10: 10_000_000_000
        case 11: 100_000_000_000
        case 12: 1_000_000_000_000
        case 13: 10_000_000_000_000
        case 14: 100_000_000_000_000
        case 15: 1_000_000_000_000_000
        case 16: 10_000_000_000_000_000
        case 17: 100_000_000_000_000_000
        case 18: 1_000_000_000_000_000_000
        default: 10_000_000_000_000_000_000
        }
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
