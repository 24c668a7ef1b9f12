/// One request granted by the ``SharedRateLimiter``: when the shared bucket scheduled it (ns since the
/// epoch, by the database's clock, the one clock every replica shares) and how long the caller spent
/// waiting for it. The schedule is what the limiter guarantees; the actual send follows it by the
/// caller's own scheduling delay.
public struct RateGrant: Sendable, Equatable {
    public var scheduledAt: Int64
    public var spent: Duration

    public init(scheduledAt: Int64, spent: Duration) {
        self.scheduledAt = scheduledAt
        self.spent = spent
    }
}
