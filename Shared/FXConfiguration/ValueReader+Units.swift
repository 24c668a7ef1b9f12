/// The units a duration setting accepts: `250ms`, `5s`, `2m`, `1h`, `1d` (whole numbers).
public enum DurationUnit: String, Sendable, CaseIterable {
    case milliseconds = "ms", seconds = "s", minutes = "m", hours = "h", days = "d"

    var milliseconds: Int64 {
        switch self {
        case .milliseconds: 1
        case .seconds: 1_000
        case .minutes: 60_000
        case .hours: 3_600_000
        case .days: 86_400_000
        }
    }
}

extension ValueReader where Value == Duration {
    /// A whole number with a unit (`250ms`, `5s`, `2m`, `1h`, `1d`); a bare number counts in `bareUnit`
    /// (for keys named after their unit, e.g. `FLUSH_INTERVAL_MS`), or is refused when it is nil.
    public static func duration(bareUnit: DurationUnit?, min: Duration = .zero, max: Duration = .seconds(10 * 365 * 86_400)) -> ValueReader<Duration> {
        let bare = bareUnit.map { "; a bare number counts in \($0.rawValue)" } ?? ""
        let allowed = "a duration like 250ms, 5s, 2m, 1h\(bare); from \(formatDuration(min)) to \(formatDuration(max))"
        return ValueReader(allowed: allowed,
                           text: { (text: String) throws(ConfigValueError) -> Duration in
                               let value = try parseDuration(text, bareUnit: bareUnit)
                               guard value >= min, value <= max else { throw ConfigValueError("\(text) is out of range") }
                               return value
                           },
                           file: { (value: ConfigFileValue) throws(ConfigValueError) -> Duration in
                               guard case .scalar(let text, let type, _) = value.content, type == "int" || type == "str" else {
                                   throw ConfigValueError("expected a duration, found \(value.kindDescription)")
                               }
                               let parsed = try parseDuration(text, bareUnit: bareUnit)
                               guard parsed >= min, parsed <= max else { throw ConfigValueError("\(text) is out of range") }
                               return parsed
                           },
                           format: formatDuration)
    }

    static func parseDuration(_ text: String, bareUnit: DurationUnit?) throws(ConfigValueError) -> Duration {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count).lowercased()
        guard !digits.isEmpty else { throw ConfigValueError("'\(text)' is not a duration") }
        let unit: DurationUnit
        if suffix.isEmpty {
            guard let bareUnit else { throw ConfigValueError("'\(text)' has no unit") }
            unit = bareUnit
        } else {
            guard let parsed = DurationUnit(rawValue: suffix) else { throw ConfigValueError("'\(text)' has an unknown unit '\(suffix)'") }
            unit = parsed
        }
        guard let amount = Int64(digits) else { throw ConfigValueError("\(text) is out of range") }
        let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow, milliseconds <= Int64.max / 1_000_000 else { throw ConfigValueError("\(text) is out of range") }
        return .milliseconds(milliseconds)
    }
}

/// `250ms`, `5s`, `2m`, `1h`, `1d`: the largest unit that states the duration exactly.
public func formatDuration(_ duration: Duration) -> String {
    let milliseconds = duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    guard milliseconds != 0 else { return "0s" }
    for unit in DurationUnit.allCases.reversed() where milliseconds % unit.milliseconds == 0 {
        return "\(milliseconds / unit.milliseconds)\(unit.rawValue)"
    }
    return "\(milliseconds)ms"
}

/// A byte size: a whole number of bytes, or with a unit: `KB`/`MB`/`GB` (powers of 1000),
/// `KiB`/`MiB`/`GiB` (powers of 1024), `B`.
public struct ByteSize: Sendable, Hashable, CustomStringConvertible {
    public var bytes: Int
    public init(bytes: Int) { self.bytes = bytes }

    static let units: [(String, Int)] = [("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10),
                                         ("gb", 1_000_000_000), ("mb", 1_000_000), ("kb", 1_000), ("b", 1)]

    public var description: String {
        for (name, factor) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes != 0 && bytes % factor == 0 {
            return "\(bytes / factor)\(name)"
        }
        return "\(bytes)"
    }
}

extension ValueReader where Value == ByteSize {
    public static func byteSize(_ range: ClosedRange<Int>) -> ValueReader<ByteSize> {
        let allowed = "a size in bytes, or with a unit like 512KiB, 1MiB, 64KB; from \(ByteSize(bytes: range.lowerBound)) to \(ByteSize(bytes: range.upperBound))"
        let parse = { @Sendable (text: String) throws(ConfigValueError) -> ByteSize in
            let digits = text.prefix { $0.isASCII && $0.isNumber }
            let suffix = trimmedConfigText(text.dropFirst(digits.count)).lowercased()
            guard !digits.isEmpty else { throw ConfigValueError("'\(text)' is not a byte size") }
            var factor = 1
            if !suffix.isEmpty {
                guard let unit = ByteSize.units.first(where: { $0.0 == suffix }) else {
                    throw ConfigValueError("'\(text)' has an unknown unit")
                }
                factor = unit.1
            }
            guard let amount = Int(digits) else { throw ConfigValueError("\(text) is out of range") }
            let (bytes, overflow) = amount.multipliedReportingOverflow(by: factor)
            guard !overflow, range.contains(bytes) else { throw ConfigValueError("\(text) is out of range") }
            return ByteSize(bytes: bytes)
        }
        return ValueReader(allowed: allowed, text: parse,
                           file: { (value: ConfigFileValue) throws(ConfigValueError) -> ByteSize in
                               guard case .scalar(let text, let type, _) = value.content, type == "int" || type == "str" else {
                                   throw ConfigValueError("expected a byte size, found \(value.kindDescription)")
                               }
                               return try parse(text)
                           },
                           format: { $0.description })
    }
}
