/// Capped exponential backoff with full jitter: the n-th wait is uniform in `[0, min(cap, base * 2^n)]`
/// (the "full jitter" of the AWS architecture blog), so many connections dropped at once do not
/// reconnect in lockstep.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    public private(set) var attempt: Int = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the next wait, before jitter.
    public var ceiling: Duration {
        let exponent = min(attempt, 30)
        let grown = base * (1 << exponent)
        return grown > cap || grown < .zero ? cap : grown
    }

    /// The next wait; advances the attempt counter.
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        let ceilingNanoseconds = ceiling.nanosecondsClamped
        attempt += 1
        guard ceilingNanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...ceilingNanoseconds, using: &generator))
    }

    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// After a connection that delivered data: start again from `base`.
    public mutating func reset() { attempt = 0 }
}

extension Duration {
    /// Whole nanoseconds, clamped to `Int64`.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
