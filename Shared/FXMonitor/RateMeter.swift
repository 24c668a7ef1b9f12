import FXCore

/// Events per second over the last minute, exactly: 60 one-second buckets in a ring, plus the total.
/// The clock (ns) is an argument, so rates are test inputs. Sums saturate at `Int64.max` (counts come
/// from other services' heartbeats) instead of overflowing.
public struct RateMeter: Sendable, Equatable {
    static let seconds = 60
    private var buckets = [Int64](repeating: 0, count: RateMeter.seconds)
    private var lastSecond: Int64 = .min
    public private(set) var total: Int64 = 0
    /// When the last event was counted (ns), nil before the first.
    public private(set) var lastEventAt: Int64?

    public init() {}

    /// Counts `count` events at `now`.
    public mutating func add(_ count: Int64 = 1, now: Int64) {
        guard count > 0 else { return }
        total = total.addingClamped(count)
        lastEventAt = max(lastEventAt ?? now, now)
        let second = now / 1_000_000_000
        // Older than the ring (a late event): counted in the total only.
        if lastSecond != .min, second <= lastSecond.subtractingClamped(Int64(Self.seconds)) { return }
        advance(to: second)
        buckets[Self.slot(second)] = buckets[Self.slot(second)].addingClamped(count)
    }

    /// Events in the 60 seconds up to `now` (the current second included).
    public func lastMinute(now: Int64) -> Int64 {
        let second = now / 1_000_000_000
        guard lastSecond != .min, second.subtractingClamped(lastSecond) < Int64(Self.seconds) else { return 0 }
        var sum: Int64 = 0
        for offset in 0..<Int64(Self.seconds) where second.subtractingClamped(offset) <= lastSecond {
            sum = sum.addingClamped(buckets[Self.slot(second.subtractingClamped(offset))])
        }
        return sum
    }

    private mutating func advance(to second: Int64) {
        if lastSecond == .min || second.subtractingClamped(lastSecond) >= Int64(Self.seconds) {
            buckets = [Int64](repeating: 0, count: Self.seconds)
        } else if second > lastSecond {
            for cleared in (lastSecond + 1)...second { buckets[Self.slot(cleared)] = 0 }
        }
        lastSecond = max(lastSecond, second)
    }

    static func slot(_ second: Int64) -> Int { Int(((second % Int64(seconds)) + Int64(seconds)) % Int64(seconds)) }
}
