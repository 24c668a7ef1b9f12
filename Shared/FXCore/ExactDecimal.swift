/// A non-negative decimal number for exact arithmetic: sums and products of prices and sizes (volumes,
/// notionals, mid prices) computed without binary floating point and without rounding, at any size.
///
/// The value is `mantissa / 10^scale`; the mantissa is kept in base-10^9 limbs, least significant first,
/// without high zero limbs (zero has none). Results keep every digit: `+` has the larger scale of its
/// operands, `*` the sum of their scales, ``halved`` one more digit. ``decimalText`` gives the canonical
/// text (trailing zeros dropped), which equals PostgreSQL's `numeric` result of the same operations.
public struct ExactDecimal: Sendable, CustomStringConvertible {
    private var limbs: [UInt32]
    /// Digits after the decimal point in the representation (not necessarily significant).
    public private(set) var scale: Int

    private static let radix: UInt64 = 1_000_000_000
    private static let powersOfTen: [UInt32] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    public static let zero = ExactDecimal(limbs: [], scale: 0)

    private init(limbs: [UInt32], scale: Int) {
        self.limbs = limbs
        self.scale = scale
        trim()
    }

    /// The exact value of `value`; nil when it is negative (only non-negative amounts are summed here).
    /// Read straight into limbs, from the last digit (no array of digits in between).
    public init?(_ value: DecimalText) {
        guard !value.isNegative else { return nil }
        var text = value.text
        let (limbs, scale) = text.withUTF8 { utf8 -> ([UInt32], Int) in
            var scale = 0
            if let point = utf8.firstIndex(of: UInt8(ascii: ".")) {
                for byte in utf8[(point + 1)...] where byte != UInt8(ascii: ".") { scale += 1 }
            }
            var limbs: [UInt32] = []
            limbs.reserveCapacity(utf8.count / 9 + 1)
            var limb: UInt32 = 0, multiplier: UInt32 = 1, filled = 0
            for byte in utf8.reversed() where byte != UInt8(ascii: ".") {
                limb += UInt32(byte &- UInt8(ascii: "0")) * multiplier
                filled += 1
                if filled == 9 {
                    limbs.append(limb)
                    (limb, multiplier, filled) = (0, 1, 0)
                } else {
                    multiplier *= 10
                }
            }
            if filled > 0 { limbs.append(limb) }
            return (limbs, scale)
        }
        self.init(limbs: limbs, scale: scale)
    }

    public var isZero: Bool { limbs.isEmpty }

    public static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let scale = max(lhs.scale, rhs.scale)
        let a = lhs.rescaled(to: scale), b = rhs.rescaled(to: scale)
        var sum: [UInt32] = []
        sum.reserveCapacity(max(a.limbs.count, b.limbs.count) + 1)
        var carry: UInt64 = 0
        for index in 0..<max(a.limbs.count, b.limbs.count) {
            let digit = UInt64(index < a.limbs.count ? a.limbs[index] : 0) + UInt64(index < b.limbs.count ? b.limbs[index] : 0) + carry
            sum.append(UInt32(digit % radix))
            carry = digit / radix
        }
        if carry > 0 { sum.append(UInt32(carry)) }
        return ExactDecimal(limbs: sum, scale: scale)
    }

    /// The same sum as `+`, added in place (a running total's limbs are reused, not copied per term).
    public static func += (lhs: inout ExactDecimal, rhs: ExactDecimal) {
        if rhs.scale > lhs.scale { lhs = lhs.rescaled(to: rhs.scale) }
        lhs.addMantissa(rhs.scale < lhs.scale ? rhs.rescaled(to: lhs.scale).limbs : rhs.limbs)
    }

    /// Adds a mantissa of the same scale to this one.
    private mutating func addMantissa(_ other: [UInt32]) {
        if limbs.count < other.count { limbs.append(contentsOf: repeatElement(0, count: other.count - limbs.count)) }
        var carry: UInt64 = 0
        var index = 0
        while index < limbs.count, index < other.count || carry > 0 {
            let digit = UInt64(limbs[index]) + UInt64(index < other.count ? other[index] : 0) + carry
            limbs[index] = UInt32(digit % Self.radix)
            carry = digit / Self.radix
            index += 1
        }
        if carry > 0 { limbs.append(UInt32(carry)) }
    }

    public static func * (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        guard !lhs.isZero, !rhs.isZero else { return ExactDecimal(limbs: [], scale: lhs.scale + rhs.scale) }
        var product = [UInt64](repeating: 0, count: lhs.limbs.count + rhs.limbs.count)
        for (i, a) in lhs.limbs.enumerated() {
            var carry: UInt64 = 0
            for (j, b) in rhs.limbs.enumerated() {
                // < 10^18 + 10^9 + 10^9: fits in UInt64.
                let digit = product[i + j] + UInt64(a) * UInt64(b) + carry
                product[i + j] = digit % radix
                carry = digit / radix
            }
            var position = i + rhs.limbs.count
            while carry > 0 {
                let digit = product[position] + carry
                product[position] = digit % radix
                carry = digit / radix
                position += 1
            }
        }
        return ExactDecimal(limbs: product.map { UInt32($0) }, scale: lhs.scale + rhs.scale)
    }

    /// Exactly half of the value (x / 2 = 5x / 10: one more digit, never rounded).
    public var halved: ExactDecimal {
        var result = self
        result.multiply(by: 5)
        result.scale += 1
        return result
    }

    /// The canonical text of the value.
    public var decimalText: DecimalText {
        // Canonical input (digits, an optional point, no sign) always parses.
        DecimalText(plainText)!
    }

    public var description: String { decimalText.text }

    /// Digits with the point inserted (leading and trailing zeros not yet canonical).
    private var plainText: String {
        var digits = ""
        if let top = limbs.last {
            digits = String(top)
            for limb in limbs.dropLast().reversed() {
                let text = String(limb)
                digits += String(repeating: "0", count: 9 - text.count) + text
            }
        } else {
            digits = "0"
        }
        guard scale > 0 else { return digits }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let point = digits.index(digits.endIndex, offsetBy: -scale)
        return String(digits[..<point]) + "." + String(digits[point...])
    }

    /// The same value with `scale` digits after the point (`scale` >= the current one).
    private func rescaled(to scale: Int) -> ExactDecimal {
        guard scale > self.scale, !isZero else { return ExactDecimal(limbs: limbs, scale: max(scale, self.scale)) }
        var result = self
        let shift = scale - self.scale
        if shift >= 9 { result.limbs.insert(contentsOf: repeatElement(0, count: shift / 9), at: 0) }
        if shift % 9 > 0 { result.multiply(by: Self.powersOfTen[shift % 9]) }
        result.scale = scale
        return result
    }

    /// Multiplies the mantissa by a factor below 10^9.
    private mutating func multiply(by factor: UInt32) {
        var carry: UInt64 = 0
        for index in limbs.indices {
            let digit = UInt64(limbs[index]) * UInt64(factor) + carry
            limbs[index] = UInt32(digit % Self.radix)
            carry = digit / Self.radix
        }
        if carry > 0 { limbs.append(UInt32(carry)) }
        trim()
    }

    private mutating func trim() {
        while let last = limbs.last, last == 0 { limbs.removeLast() }
    }
}
