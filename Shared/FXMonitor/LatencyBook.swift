import Histogram

/// Latency percentiles in bounded memory: one HDR histogram (1 µs to 1 h, 3 significant digits, so
/// every reported value is within 0.1% of the true one) per measure and source.
public struct LatencyBook: Sendable {
    /// `p50`, `p90`, `p99`, `p99.9` in microseconds, and how many samples.
    public struct Percentiles: Sendable, Equatable {
        public var count: UInt64
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
    }

    /// What is measured: exchange time -> receive time (`recv_ts - ts` of each tick).
    public enum Measure: String, Sendable, CaseIterable {
        case exchangeToReceive = "exchange_to_receive"
    }

    static let highest: UInt64 = 3_600_000_000
    private var histograms: [String: Histogram<UInt64>] = [:]
    /// Samples below zero (clock skew between venue and ingestor) are counted, not recorded.
    public private(set) var negative: [String: Int64] = [:]

    public init() {}

    static func key(_ measure: Measure, _ source: String) -> String { "\(measure.rawValue)|\(source)" }

    /// Records one sample, `nanoseconds` long.
    public mutating func record(_ measure: Measure, source: String, nanoseconds: Int64) {
        let key = Self.key(measure, source)
        guard nanoseconds >= 0 else { negative[key, default: 0] += 1; return }
        var histogram = histograms[key] ?? Histogram<UInt64>(highestTrackableValue: Self.highest, numberOfSignificantValueDigits: .three)
        histogram.record(min(UInt64(nanoseconds / 1_000), Self.highest))
        histograms[key] = histogram
    }

    public func percentiles(_ measure: Measure, source: String) -> Percentiles? {
        guard let histogram = histograms[Self.key(measure, source)], histogram.totalCount > 0 else { return nil }
        return Percentiles(count: histogram.totalCount, p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                           p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9))
    }

    /// The sources with samples for `measure`.
    public func sources(_ measure: Measure) -> [String] {
        histograms.keys.filter { $0.hasPrefix(measure.rawValue + "|") }.map { String($0.dropFirst(measure.rawValue.count + 1)) }.sorted()
    }
}
