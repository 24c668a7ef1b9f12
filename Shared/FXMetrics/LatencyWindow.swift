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

/// One window of latencies: `count`, `p50_us`, `p90_us`, `p99_us`, `p999_us`, `max_us` and `buckets`
/// (`[[microseconds, count], ...]`, each bucket's value the highest of its 1% range, ascending).
public struct LatencySample: Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var buckets: [[UInt64]]

    init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        p50 = count > 0 ? histogram.valueAtPercentile(50) : 0
        p90 = count > 0 ? histogram.valueAtPercentile(90) : 0
        p99 = count > 0 ? histogram.valueAtPercentile(99) : 0
        p999 = count > 0 ? histogram.valueAtPercentile(99.9) : 0
        max = count > 0 ? histogram.max : 0
        buckets = count > 0 ? histogram.recordedValues().map { [histogram.highestEquivalentForValue($0.value), $0.count] } : []
    }

    /// Writes the sample as a JSON object.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("count"); writer.number(Int64(clamping: count))
        writer.key("p50_us"); writer.number(Int64(clamping: p50))
        writer.key("p90_us"); writer.number(Int64(clamping: p90))
        writer.key("p99_us"); writer.number(Int64(clamping: p99))
        writer.key("p999_us"); writer.number(Int64(clamping: p999))
        writer.key("max_us"); writer.number(Int64(clamping: max))
        writer.key("buckets"); writer.beginArray()
        for bucket in buckets {
            writer.beginArray()
            writer.number(Int64(clamping: bucket[0]))
            writer.number(Int64(clamping: bucket[1]))
            writer.endArray()
        }
        writer.endArray()
        writer.endObject()
    }

    /// The `buckets` of a sample read back from JSON (`[[microseconds, count], ...]`); malformed entries
    /// are skipped.
    public static func buckets(of json: JSONValue?) -> [(micros: UInt64, count: UInt64)] {
        (json?["buckets"]?.arrayValue ?? []).compactMap { entry in
            guard let pair = entry.arrayValue, pair.count == 2, let micros = pair[0].int64Value, let count = pair[1].int64Value,
                  micros >= 0, count > 0 else { return nil }
            return (UInt64(micros), UInt64(count))
        }
    }
}
