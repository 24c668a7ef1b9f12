import Synchronization

/// The ``CircuitBreaker`` of one provider, shared by all its connections, and the provider's budget of
/// connection attempts (Binance: 300 per 5 minutes per IP), shared the same way.
public final class ProviderCircuit: Sendable {
    struct State: Sendable {
        var breaker: CircuitBreaker
        /// Times (ns) of the attempts inside the budget's window, oldest first.
        var attempts: [Int64] = []
        /// The earliest time (ns) the next REST request of the stream (a book snapshot) may go.
        var nextRequestAt: Int64 = 0
    }

    public let provider: String
    /// At most `count` connection attempts in any `window`; nil: no budget.
    public let attemptBudget: (count: Int, window: Duration)?
    private let shared: Mutex<State>

    public init(provider: String, breaker: CircuitBreaker, attemptBudget: (count: Int, window: Duration)? = nil) {
        self.provider = provider
        self.attemptBudget = attemptBudget.map { (max(1, $0.count), $0.window) }
        self.shared = Mutex(State(breaker: breaker))
    }

    /// Whether a connection may be opened now: the budget first (a spent budget waits for its oldest attempt
    /// to leave the window), then the breaker.
    public func beforeConnecting(now: Int64) -> CircuitBreaker.Decision {
        shared.withLock { state in
            if let budget = attemptBudget {
                let window = budget.window.nanosecondsClamped
                state.attempts.removeAll { $0 <= now - window }
                if state.attempts.count >= budget.count, let oldest = state.attempts.first { return .waitUntil(oldest + window) }
            }
            let decision = state.breaker.beforeConnecting(now: now)
            if decision == .proceed, attemptBudget != nil { state.attempts.append(now) }
            return decision
        }
    }

    /// When a REST request of the stream costing `weight` may go (ns), so that the provider's connections
    /// together spend at most `weightPerMinute` (Binance: half of the 6,000 an IP may spend a minute, the
    /// other half left to the backfiller); the time is reserved.
    public func scheduleRequest(weight: Int, weightPerMinute: Int = 3_000, now: Int64) -> Int64 {
        shared.withLock { state in
            let start = max(now, state.nextRequestAt)
            state.nextRequestAt = start + Int64(max(1, weight)) * 60_000_000_000 / Int64(max(1, weightPerMinute))
            return start
        }
    }

    /// The venue refused a request for going too fast (429, or 418 for an address that ignored 429s): no
    /// REST request of any connection goes before `until` (ns).
    public func pauseRequests(until: Int64) {
        shared.withLock { $0.nextRequestAt = max($0.nextRequestAt, until) }
    }

    public func recordSuccess() { shared.withLock { $0.breaker.recordSuccess() } }
    public func recordFailure(now: Int64) { shared.withLock { $0.breaker.recordFailure(now: now) } }
    public var state: CircuitBreaker.State { shared.withLock { $0.breaker.state } }
}
