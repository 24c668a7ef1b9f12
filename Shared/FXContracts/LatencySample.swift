import FXCore

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

    public init(count: UInt64, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, max: UInt64, buckets: [[UInt64]]) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.buckets = buckets
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
