import FXConfiguration

/// A provider's REST rate limit: `rate` requests per second with bursts of up to `burst`.
/// Written `N/s[,burst=B]` (also `N/m` per minute), e.g. `10/s,burst=5`, `60/m`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int = 1) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    /// Seconds between two requests at the sustained rate (GCRA's emission interval).
    public var interval: Double { 1 / perSecond }
    /// How far ahead of the sustained schedule a burst may run (GCRA's tolerance).
    public var tolerance: Double { Double(burst - 1) * interval }

    public var description: String {
        let rate = perSecond >= 1 && perSecond == perSecond.rounded() ? "\(Int(perSecond))/s" : "\(Int((perSecond * 60).rounded()))/m"
        return burst > 1 ? "\(rate),burst=\(burst)" : rate
    }

    /// Reads `N/s[,burst=B]` or `N/m[,burst=B]`.
    public static let reader = ValueReader<RateLimit>(
        allowed: "N/s or N/m, optionally ,burst=B (e.g. 10/s,burst=5 or 60/m)",
        text: { (text: String) throws(ConfigValueError) -> RateLimit in
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, let slash = first.firstIndex(of: "/"),
                  let count = Double(first[..<slash]), count > 0, count <= 100_000 else {
                throw ConfigValueError("'\(text)' is not a rate like 10/s")
            }
            let unit = first[first.index(after: slash)...]
            let perSecond: Double
            switch unit {
            case "s": perSecond = count
            case "m": perSecond = count / 60
            default: throw ConfigValueError("'\(text)' has an unknown unit (s or m)")
            }
            var burst = 1
            for option in parts.dropFirst() {
                guard option.hasPrefix("burst="), let value = Int(option.dropFirst(6)), (1...10_000).contains(value) else {
                    throw ConfigValueError("'\(option)' is not burst=B (1 to 10000)")
                }
                burst = value
            }
            return RateLimit(perSecond: perSecond, burst: burst)
        },
        format: { $0.description })
}
