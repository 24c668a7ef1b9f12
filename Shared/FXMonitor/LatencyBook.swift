import FXContracts
import FXCore
import FXMetrics
import Histogram

/// Latency percentiles in bounded memory over a sliding window: per measure and source, one HDR
/// histogram (1 µs to 1 h, 3 significant digits, so every reported value is within 0.1% of the true
/// one) per slot of `window / slots`; percentiles merge the slots of the last `window`, so a p99 alert
/// speaks of the last minutes, not of everything since the monitor started.
///
/// Bounded: at most `maxSources` sources per measure (each up to `slots` histograms of about 180 KB; a
/// new source beyond is ignored and reported), a series with nothing in the window is dropped
/// (``prune(now:)``), a heartbeat sample is read up to ``maxBuckets`` buckets of at most ``maxBucketCount``
/// samples each (more is not a plausible heartbeat interval's worth: the sample is ignored).
public struct LatencyBook: Sendable {
    /// `p50`, `p90`, `p99`, `p99.9` in microseconds, and how many samples.
    public struct Percentiles: Sendable, Equatable {
        public var count: UInt64
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
    }

    /// What is measured.
    public enum Measure: String, Sendable, CaseIterable {
        /// Exchange time -> ingestor receive (`recv_ts - ts` of each tick on `<prefix>ticks`), per source.
        case exchangeToReceive = "exchange_to_receive"
        /// Frame received -> Kafka acknowledged, from the ingestors' heartbeats (source `all`).
        case receiveToAck = "receive_to_ack"
        /// Tick received -> its candles committed, from the aggregators' heartbeats (source `all`).
        case tickToCandle = "tick_to_candle"
    }

    struct Slot: Sendable {
        var index: Int64
        var histogram: Histogram<UInt64>
    }

    /// The same range as the services' heartbeat samples (``LatencyWindow``), which are merged in here.
    static let highest = LatencyWindow.highest
    /// How far back percentiles look, and in how many slots the window moves.
    public let window: Int64
    public let slots: Int64
    public let maxSources: Int
    public static let maxBuckets = 4_096
    public static let maxBucketCount: UInt64 = 1_000_000_000
    private var series: [String: [Slot]] = [:]
    /// Each series' key by measure and source, so a sample finds its series without building the key.
    /// Entries of dropped series are removed with them.
    private var keys: [Measure: [String: String]] = [:]
    /// Samples below zero (clock skew between venue and ingestor) are counted, not recorded.
    public private(set) var negative: [String: Int64] = [:]

    public init(window: Duration = .seconds(300), slots: Int = 5, maxSources: Int = 64) {
        self.maxSources = maxSources
        self.slots = Int64(max(1, slots))
        self.window = max(window.nanosecondsClamped, self.slots)
    }

    static func key(_ measure: Measure, _ source: String) -> String { "\(measure.rawValue)|\(source)" }

    /// Sources kept, over all measures.
    public var seriesCount: Int { series.count }

    /// Records one sample, `nanoseconds` long, seen at `now`; nil when recorded (or counted as negative), else why not.
    @discardableResult
    public mutating func record(_ measure: Measure, source: String, nanoseconds: Int64, now: Int64) -> IgnoreReason? {
        // The common case, a known series whose newest slot is now's: in place, without building its key.
        if nanoseconds >= 0, let key = keys[measure]?[source], let position = series.index(forKey: key),
           series.values[position].last?.index == now / (window / slots) {
            let last = series.values[position].count - 1
            _ = series.values[position][last].histogram.record(min(UInt64(nanoseconds / 1_000), Self.highest), count: 1)
            return nil
        }
        let key = Self.key(measure, source)
        guard admits(key, measure: measure) else { return .sourceCap }
        guard nanoseconds >= 0 else { negative[key, default: 0] = (negative[key] ?? 0).addingClamped(1); return nil }
        keys[measure, default: [:]][source] = key
        record(key, micros: UInt64(nanoseconds / 1_000), count: 1, now: now)
        return nil
    }

    /// Adds a heartbeat's buckets (`[(microseconds, count)]`, as ``LatencySample`` ships them); nil when
    /// added, else why not.
    @discardableResult
    public mutating func merge(_ measure: Measure, source: String, buckets: [(micros: UInt64, count: UInt64)], now: Int64) -> IgnoreReason? {
        guard !buckets.isEmpty else { return nil }
        guard buckets.count <= Self.maxBuckets, buckets.allSatisfy({ $0.count <= Self.maxBucketCount }) else { return .invalidNumber }
        let key = Self.key(measure, source)
        guard admits(key, measure: measure) else { return .sourceCap }
        keys[measure, default: [:]][source] = key
        let last = currentSlot(key, now: now)
        for bucket in buckets { _ = series[key]![last].histogram.record(min(bucket.micros, Self.highest), count: bucket.count) }
        return nil
    }

    /// Whether `key` is known, or one more source of `measure` fits.
    private func admits(_ key: String, measure: Measure) -> Bool {
        guard series[key] == nil && negative[key] == nil else { return true }
        return Set(series.keys).union(negative.keys).count(where: { $0.hasPrefix(measure.rawValue + "|") }) < maxSources
    }

    /// Drops the series with no slot in the window before `now` (and their negative counts).
    public mutating func prune(now: Int64) {
        let index = now / (window / slots)
        for (key, slots) in series where !slots.contains(where: { $0.index > index.subtractingClamped(self.slots) }) {
            series[key] = nil
            negative[key] = nil
        }
        for (measure, sources) in keys { keys[measure] = sources.filter { series[$0.value] != nil } }
    }

    private mutating func record(_ key: String, micros: UInt64, count: UInt64, now: Int64) {
        let last = currentSlot(key, now: now)
        // In place: a copy of the slot would copy the histogram's counts (about 180 KB) per sample.
        _ = series[key]![last].histogram.record(min(micros, Self.highest), count: count)
    }

    /// The position of `now`'s slot in `key`'s series, opened (and slots beyond the window dropped) if new.
    private mutating func currentSlot(_ key: String, now: Int64) -> Int {
        let index = now / (window / slots)
        if series[key]?.last?.index != index {
            series[key, default: []].removeAll { $0.index <= index.subtractingClamped(self.slots) }
            series[key, default: []].append(Slot(index: index, histogram: Histogram<UInt64>(highestTrackableValue: Self.highest,
                                                                                             numberOfSignificantValueDigits: .three)))
        }
        return series[key]!.count - 1
    }

    /// The percentiles of the last `window` before `now` (nil: no sample in it).
    public func percentiles(_ measure: Measure, source: String, now: Int64) -> Percentiles? {
        let index = now / (window / slots)
        let recent = (series[Self.key(measure, source)] ?? []).filter { $0.index > index.subtractingClamped(slots) }
        guard var merged = recent.first?.histogram else { return nil }
        for slot in recent.dropFirst() { merged.add(slot.histogram) }
        guard merged.totalCount > 0 else { return nil }
        return Percentiles(count: merged.totalCount, p50: merged.valueAtPercentile(50), p90: merged.valueAtPercentile(90),
                           p99: merged.valueAtPercentile(99), p999: merged.valueAtPercentile(99.9))
    }

    /// The sources with samples for `measure`.
    public func sources(_ measure: Measure) -> [String] {
        series.keys.filter { $0.hasPrefix(measure.rawValue + "|") }.map { String($0.dropFirst(measure.rawValue.count + 1)) }.sorted()
    }
}
