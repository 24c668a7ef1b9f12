extension Array where Element == UInt8 {
    /// Appends `String(value)` as UTF-8, left-padded with zeros to `width` characters (as many as it has
    /// if longer), without building a `String` (19-digit nanosecond timestamps would each allocate one).
    public mutating func appendDecimal(_ value: Int64, width: Int = 0) {
        var digits = InlineArray<20, UInt8>(repeating: 0)  // Int64's magnitude has at most 19
        var count = 0
        var magnitude = value.magnitude
        repeat {
            digits[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            count += 1
        } while magnitude > 0
        let length = count + (value < 0 ? 1 : 0)
        if length < width { append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - length)) }
        if value < 0 { append(UInt8(ascii: "-")) }
        for index in stride(from: count - 1, through: 0, by: -1) { append(digits[index]) }
    }
}
