import Synchronization

/// Process-wide running totals for the health heartbeat (cheap atomics; Prometheus metrics are kept
/// separately by ``IngestMetrics``).
public final class IngestCounters: Sendable {
    public let frames = Atomic<Int>(0)
    public let ticks = Atomic<Int>(0)
    public let heartbeats = Atomic<Int>(0)
    public let rejects = Atomic<Int>(0)
    public let gaps = Atomic<Int>(0)
    public let delivered = Atomic<Int>(0)
    public let deliveryFailures = Atomic<Int>(0)
    /// Items dropped because the publish queue stayed full (each covered by a `delivery` gap).
    public let dropped = Atomic<Int>(0)
    public let providerErrors = Atomic<Int>(0)
    /// Gap events that could not be delivered even after retries (logged in full).
    public let gapsLost = Atomic<Int>(0)

    public init() {}

    public var snapshot: [(String, Int)] {
        [("frames", frames.load(ordering: .relaxed)), ("ticks", ticks.load(ordering: .relaxed)),
         ("heartbeats", heartbeats.load(ordering: .relaxed)), ("rejects", rejects.load(ordering: .relaxed)),
         ("gaps", gaps.load(ordering: .relaxed)), ("delivered", delivered.load(ordering: .relaxed)),
         ("delivery_failures", deliveryFailures.load(ordering: .relaxed)), ("dropped", dropped.load(ordering: .relaxed)),
         ("provider_errors", providerErrors.load(ordering: .relaxed)), ("gaps_lost", gapsLost.load(ordering: .relaxed))]
    }
}
