import CoreMetrics
import Synchronization

/// One count of events, kept once: ``increment(by:)`` adds to the swift-metrics counter (what
/// `/metrics` exports) and to a local total (what heartbeats and `/health` bodies report) in the same
/// call, so the two can never disagree or drift apart.
public final class EventCounter: Sendable {
    public let label: String
    public let dimensions: [(String, String)]
    private let counter: Counter
    private let total = Atomic<Int64>(0)

    public init(label: String, dimensions: [(String, String)] = [], factory: any MetricsFactory) {
        self.label = label
        self.dimensions = dimensions
        self.counter = Counter(label: label, dimensions: dimensions, factory: factory)
    }

    public func increment(by amount: Int = 1) {
        guard amount > 0 else { return }
        total.add(Int64(amount), ordering: .relaxed)
        counter.increment(by: amount)
    }

    /// The total since start: the value `/metrics` shows for this counter.
    public var value: Int64 { total.load(ordering: .relaxed) }
}

/// A value that goes up and down, kept once like ``EventCounter``: the swift-metrics gauge and the
/// local value are set in the same call.
public final class EventGauge: Sendable {
    private let gauge: Gauge
    private let current = Atomic<Int64>(0)

    public init(label: String, dimensions: [(String, String)] = [], factory: any MetricsFactory) {
        gauge = Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    public func set(_ value: Int64) {
        current.store(value, ordering: .relaxed)
        gauge.record(value)
    }

    public var value: Int64 { current.load(ordering: .relaxed) }
}
