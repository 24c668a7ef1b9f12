import Synchronization

/// Lets one log line through per `interval` (bad input can arrive thousands of times a second; the
/// metrics count every occurrence, the log shows samples).
public final class LogRateLimiter: Sendable {
    private let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    private let suppressed = Atomic<Int>(0)

    public init(interval: Duration) {
        self.interval = interval
    }

    /// True when a line may be logged now.
    public func allow() -> Bool {
        let now = ContinuousClock.now
        let allowed = last.withLock { last -> Bool in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
        if !allowed { suppressed.add(1, ordering: .relaxed) }
        return allowed
    }

    /// Lines suppressed since the last call.
    public func takeSuppressed() -> Int { suppressed.exchange(0, ordering: .relaxed) }
}
