/// An exact decimal number kept as canonical base-10 text: prices and sizes travel from the wire to the
/// database this way, never through binary floating point.
///
/// Canonical form: optional `-`, integer digits without leading zeros (`0` when none), and, when the
/// value has a fraction, `.` and the fractional digits without trailing zeros. No exponent, no `+`,
/// no `-0`. Equal values have equal text, so `==` and hashing are value comparisons.
public struct DecimalText: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let text: String

    /// Parses plain decimal text (`"1.0850"`, `"-0.5"`, `"42"`, `"+3"`, `".5"` is refused). Refuses
    /// exponents, NaN, infinities, empty text and anything else that is not a plain decimal.
    public init?(_ text: some StringProtocol) {
        guard let canonical = Self.canonicalize(Array(text.utf8), allowExponent: false) else { return nil }
        self.text = canonical
    }

    /// Parses plain decimal text given as UTF-8 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard let canonical = Self.canonicalize(Array(bytes), allowExponent: false) else { return nil }
        self.text = canonical
    }

    /// Parses plain decimal text from a slice of a message (the common case: no generic copy).
    public init?(bytes: ArraySlice<UInt8>) {
        // Usually canonical already: the text is taken straight from the message, no copy to check it.
        if let text = bytes.withUnsafeBufferPointer({ Self.isCanonical($0) ? String(decoding: $0, as: UTF8.self) : nil }) {
            self.text = text
            return
        }
        guard let canonical = Self.canonicalize(Array(bytes), allowExponent: false) else { return nil }
        self.text = canonical
    }

    /// Parses a JSON number literal exactly, exponent included (`1.25e-3` -> `0.00125`).
    public init?(jsonNumber bytes: some Collection<UInt8>) {
        guard let canonical = Self.canonicalize(Array(bytes), allowExponent: true) else { return nil }
        self.text = canonical
    }

    public var description: String { text }
    public var isNegative: Bool { text.utf8.first == UInt8(ascii: "-") }
    public var isZero: Bool { text == "0" }
    public var isPositive: Bool { !isNegative && !isZero }

    /// Exponents larger than this are refused (a price is never 10^1000; the text would be huge).
    static let maxExponent = 64

    private static func canonicalize(_ bytes: [UInt8], allowExponent: Bool) -> String? {
        if bytes.withUnsafeBufferPointer({ isCanonical($0) }) { return String(decoding: bytes, as: UTF8.self) }
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var integer: [UInt8] = []
        while index < bytes.count, isDigit(bytes[index]) { integer.append(bytes[index]); index += 1 }
        guard !integer.isEmpty else { return nil }
        var fraction: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, isDigit(bytes[index]) { fraction.append(bytes[index]); index += 1 }
            guard !fraction.isEmpty else { return nil }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            guard allowExponent else { return nil }
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var digits = 0
            while index < bytes.count, isDigit(bytes[index]) {
                exponent = exponent * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                guard exponent <= maxExponent * 10 else { return nil }
                digits += 1
                index += 1
            }
            guard digits > 0, exponent <= maxExponent else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == bytes.count else { return nil }
        // Shift the decimal point by the exponent, exactly.
        var digits = integer + fraction
        var pointPosition = integer.count + exponent
        if pointPosition < 0 {
            digits = [UInt8](repeating: UInt8(ascii: "0"), count: -pointPosition) + digits
            pointPosition = 0
        } else if pointPosition > digits.count {
            digits += [UInt8](repeating: UInt8(ascii: "0"), count: pointPosition - digits.count)
        }
        var integerPart = Array(digits[..<pointPosition])
        var fractionPart = Array(digits[pointPosition...])
        while let first = integerPart.first, first == UInt8(ascii: "0") { integerPart.removeFirst() }
        while let last = fractionPart.last, last == UInt8(ascii: "0") { fractionPart.removeLast() }
        if integerPart.isEmpty { integerPart = [UInt8(ascii: "0")] }
        var result: [UInt8] = []
        let isZero = integerPart == [UInt8(ascii: "0")] && fractionPart.isEmpty
        if negative && !isZero { result.append(UInt8(ascii: "-")) }
        result += integerPart
        if !fractionPart.isEmpty { result.append(UInt8(ascii: ".")); result += fractionPart }
        return String(decoding: result, as: UTF8.self)
    }

    /// Already canonical: `-`? then `0` or a non-zero-led integer, then optionally `.digits` not ending in 0.
    private static func isCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        let integerCount = index - integerStart
        guard integerCount > 0, integerCount == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index == bytes.count {
            // "-0" is not canonical.
            return !(integerStart == 1 && integerCount == 1 && bytes[integerStart] == UInt8(ascii: "0"))
        }
        guard bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count else { return false }
        index += 1
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        return index == bytes.count && bytes[bytes.count - 1] != UInt8(ascii: "0")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { JSONLexing.isDigit(byte) }

    /// Numeric order, computed on the canonical text: with integer parts of equal length (no leading
    /// zeros), the digit strings compare byte by byte, the shorter fraction (no trailing zeros) first.
    public static func < (lhs: DecimalText, rhs: DecimalText) -> Bool {
        if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
        let order = compareMagnitude(lhs.text, rhs.text, signed: lhs.isNegative)
        return lhs.isNegative ? order > 0 : order < 0
    }

    /// -1, 0 or 1: the magnitudes' order (after the `-` when `signed`).
    private static func compareMagnitude(_ a: String, _ b: String, signed: Bool) -> Int {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let start = signed ? 1 : 0
                let integerX = (x[start...].firstIndex(of: UInt8(ascii: ".")) ?? x.count) - start
                let integerY = (y[start...].firstIndex(of: UInt8(ascii: ".")) ?? y.count) - start
                if integerX != integerY { return integerX < integerY ? -1 : 1 }
                var index = start
                while index < x.count, index < y.count {
                    if x[index] != y[index] { return x[index] < y[index] ? -1 : 1 }
                    index += 1
                }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
    }
}
