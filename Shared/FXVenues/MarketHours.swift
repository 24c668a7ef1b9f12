/// When a symbol's market trades, so the watchdog can tell a quiet or closed market from a dead feed.
public enum MarketHours: String, Sendable, Equatable {
    /// Crypto: every hour of every day.
    case continuous
    /// Spot forex: open from Sunday 22:00 UTC to Friday 22:00 UTC; the weekly close is not an outage.
    case forex

    private static let day: Int64 = 86_400
    /// Seconds from Monday 00:00 UTC to the forex close (Friday 22:00) and to the reopen (Sunday 22:00).
    private static let forexClose: Int64 = 4 * day + 22 * 3_600
    private static let forexOpen: Int64 = 6 * day + 22 * 3_600

    /// Whether the market is open at `nanoseconds` since the epoch.
    public func isOpen(at nanoseconds: Int64) -> Bool {
        switch self {
        case .continuous: return true
        case .forex:
            let second = Self.secondOfWeek(nanoseconds)
            return !(second >= Self.forexClose && second < Self.forexOpen)
        }
    }

    /// The latest moment at or before `nanoseconds` at which the market (re)opened; nil when it never closes.
    /// Silence is measured from `max(last message, this)`, so the first minutes after the Sunday
    /// reopen do not count the weekend as silence.
    public func lastOpening(atOrBefore nanoseconds: Int64) -> Int64? {
        switch self {
        case .continuous: return nil
        case .forex:
            let seconds = Self.floorDiv(nanoseconds, 1_000_000_000)
            let second = Self.secondOfWeek(nanoseconds)
            let weekStart = seconds - second
            let opening = second >= Self.forexOpen ? weekStart + Self.forexOpen : weekStart - 7 * Self.day + Self.forexOpen
            return opening * 1_000_000_000
        }
    }

    /// Seconds since Monday 00:00 UTC (1970-01-01 was a Thursday).
    static func secondOfWeek(_ nanoseconds: Int64) -> Int64 {
        let seconds = floorDiv(nanoseconds, 1_000_000_000)
        let days = floorDiv(seconds, day)
        let weekday = ((days + 3) % 7 + 7) % 7
        return weekday * day + (seconds - days * day)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
