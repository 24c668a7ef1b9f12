import FXContracts
import FXCore
import Histogram
import Synchronization

/// Latencies a service measures of its own stage (the ingestor: frame received -> Kafka acknowledged;
/// the aggregator: tick received -> candle committed), collected between two heartbeats and shipped in
/// the heartbeat as a ``LatencySample``: percentiles for people and the histogram's non-empty buckets for
/// the monitor, which merges the samples of every instance into pipeline-wide percentiles.
///
/// An HDR histogram in microseconds (1 µs to 1 h, 2 significant digits: every bucket within 1% of its
/// values); recording takes a lock for a few tens of nanoseconds. ``drain()`` returns what was recorded
/// since the previous call and starts a new window.
public final class LatencyWindow: Sendable {
    /// The highest latency kept, in microseconds (one hour); longer ones count as this.
    public static let highest: UInt64 = 3_600_000_000
    private let histogram = Mutex(LatencyWindow.empty())

    public init() {}

    static func empty() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: highest, numberOfSignificantValueDigits: .two)
    }

    /// Records one latency of `nanoseconds` (negative ones, from clocks apart, count as zero).
    public func record(nanoseconds: Int64) {
        histogram.withLock { _ = $0.record(Self.micros(nanoseconds)) }
    }

    /// Records many latencies under one lock (a flush's worth of ticks). An array, not any sequence: a
    /// generic sequence from another module runs unspecialized, and a flush's lazy chain over its ticks
    /// cost ~10% of the aggregator's CPU while catching up.
    public func record(contentsOf nanoseconds: [Int64]) {
        histogram.withLock { histogram in
            for sample in nanoseconds { _ = histogram.record(Self.micros(sample)) }
        }
    }

    static func micros(_ nanoseconds: Int64) -> UInt64 {
        min(UInt64(max(0, nanoseconds) / 1_000), highest)
    }

    /// What was recorded since the last drain; the window starts anew.
    public func drain() -> LatencySample {
        let taken = histogram.withLock { histogram in
            let taken = histogram
            histogram.reset()
            return taken
        }
        return LatencySample(taken)
    }
}

extension LatencySample {
    /// The sample of a histogram window (percentiles and every non-empty bucket).
    init(_ histogram: Histogram<UInt64>) {
        let count = histogram.totalCount
        guard count > 0 else {
            self.init(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, buckets: [])
            return
        }
        self.init(count: count, p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                  p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9), max: histogram.max,
                  buckets: histogram.recordedValues().map { [histogram.highestEquivalentForValue($0.value), $0.count] })
    }
}
