import Synchronization

/// The ``CircuitBreaker`` of one provider, shared by all its connections.
public final class ProviderCircuit: Sendable {
    public let provider: String
    private let breaker: Mutex<CircuitBreaker>

    public init(provider: String, breaker: CircuitBreaker) {
        self.provider = provider
        self.breaker = Mutex(breaker)
    }

    public func beforeConnecting(now: Int64) -> CircuitBreaker.Decision { breaker.withLock { $0.beforeConnecting(now: now) } }
    public func recordSuccess() { breaker.withLock { $0.recordSuccess() } }
    public func recordFailure(now: Int64) { breaker.withLock { $0.recordFailure(now: now) } }
    public var state: CircuitBreaker.State { breaker.withLock { $0.state } }
}
