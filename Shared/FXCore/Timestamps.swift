/// Exact conversions of provider timestamps to integer nanoseconds since the Unix epoch (UTC),
/// without `Date` or `Double`.
public enum Timestamps {
    /// Parses RFC 3339 / ISO 8601 UTC-or-offset timestamps such as `2014-11-07T08:19:27.028459Z` or
    /// `2026-11-25T07:00:00.5+01:00`. Fractions beyond nanoseconds are refused rather than rounded.
    public static func nanoseconds(rfc3339 text: some StringProtocol) -> Int64? {
        nanoseconds(rfc3339: String(text))
    }

    /// The same for a `String` (no generic call, no copy of a native string's bytes).
    public static func nanoseconds(rfc3339 text: String) -> Int64? {
        var text = text
        return text.withUTF8 { nanoseconds(rfc3339UTF8: $0) }
    }

    /// The same over UTF-8 bytes (e.g. a string token of a frame, read in place).
    public static func nanoseconds(rfc3339UTF8 b: UnsafeBufferPointer<UInt8>) -> Int64? {
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for i in start..<(start + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2),
              b[7] == UInt8(ascii: "-"), let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fractionNanos = 0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var digitsRead = 0
            while index < b.count, b[index] >= 0x30, b[index] <= 0x39 {
                guard digitsRead < 9 else { return nil }
                fractionNanos = fractionNanos * 10 + Int(b[index] - 0x30)
                digitsRead += 1
                index += 1
            }
            guard digitsRead > 0 else { return nil }
            for _ in digitsRead..<9 { fractionNanos *= 10 }
        }
        guard index < b.count else { return nil }
        var offsetSeconds = 0
        if b[index] == UInt8(ascii: "Z") || b[index] == UInt8(ascii: "z") {
            index += 1
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            let sign = b[index] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = digits(index + 1, 2), index + 3 < b.count, b[index + 3] == UInt8(ascii: ":"),
                  let minutes = digits(index + 4, 2), hours < 24, minutes < 60 else { return nil }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (nanoseconds, overflowFraction) = product.addingReportingOverflow(Int64(fractionNanos))
        guard !overflow, !overflowFraction else { return nil }   // e.g. 2262-04-11T23:47:16.9Z
        return nanoseconds
    }

    /// Milliseconds since the epoch (as Finnhub sends) to nanoseconds; nil on overflow or negative input.
    public static func nanoseconds(milliseconds: Int64) -> Int64? {
        guard milliseconds >= 0 else { return nil }
        let (product, overflow) = milliseconds.multipliedReportingOverflow(by: 1_000_000)
        return overflow ? nil : product
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    /// Formats nanoseconds since the epoch as RFC 3339 UTC with `fractionDigits` (0...9) digits, truncated
    /// (never rounded), e.g. `2026-11-25T09:00:00.123456Z`.
    public static func rfc3339(nanoseconds: Int64, fractionDigits: Int = 6) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let fraction = nanoseconds - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilFromDays(Int(days))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(Int(secondOfDay / 3600), 2)):" +
            "\(pad(Int(secondOfDay % 3600 / 60), 2)):\(pad(Int(secondOfDay % 60), 2))"
        let digits = min(max(fractionDigits, 0), 9)
        if digits > 0 { text += "." + pad(Int(fraction), 9).prefix(digits) }
        return text + "Z"
    }

    /// Howard Hinnant's `civil_from_days`: days since 1970-01-01 -> (year, month, day).
    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
