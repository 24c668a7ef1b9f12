import FXCore
/// A circuit breaker for one provider, shared by all its connections (a value type; keep it behind a
/// lock). After `failureThreshold` consecutive failed connections (refused, closed before any data, or
/// provider errors) it opens: no connection attempt for `openDuration`, doubling up to `maxOpenDuration`
/// while trial connections keep failing. After the pause one trial connection is allowed (half-open);
/// data on it closes the breaker.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    /// What a connection should do before connecting.
    public enum Decision: Sendable, Equatable {
        case proceed
        /// Wait until this time (ns since the epoch) and ask again.
        case waitUntil(Int64)
    }

    public var failureThreshold: Int
    public var openDuration: Duration
    public var maxOpenDuration: Duration
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    public private(set) var openedUntil: Int64 = 0
    private var currentOpenDuration: Duration
    private var trialInFlight = false

    public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(30), maxOpenDuration: Duration = .seconds(300)) {
        self.failureThreshold = max(1, failureThreshold)
        self.openDuration = openDuration
        self.maxOpenDuration = maxOpenDuration
        self.currentOpenDuration = openDuration
    }

    public mutating func beforeConnecting(now: Int64) -> Decision {
        switch state {
        case .closed:
            return .proceed
        case .open:
            guard now >= openedUntil else { return .waitUntil(openedUntil) }
            state = .halfOpen
            trialInFlight = true
            return .proceed
        case .halfOpen:
            // One trial at a time; the others check back shortly.
            if trialInFlight { return .waitUntil(now + 1_000_000_000) }
            trialInFlight = true
            return .proceed
        }
    }

    /// A connection delivered market data (or a subscription acknowledgement).
    public mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
        trialInFlight = false
        currentOpenDuration = openDuration
    }

    /// A connection attempt failed or ended before delivering anything.
    public mutating func recordFailure(now: Int64) {
        consecutiveFailures += 1
        let wasTrial = state == .halfOpen
        trialInFlight = false
        if wasTrial {
            currentOpenDuration = min(currentOpenDuration * 2, maxOpenDuration)
            open(now: now)
        } else if state == .closed, consecutiveFailures >= failureThreshold {
            open(now: now)
        }
    }

    private mutating func open(now: Int64) {
        state = .open
        openedUntil = now + currentOpenDuration.nanosecondsClamped
    }
}
