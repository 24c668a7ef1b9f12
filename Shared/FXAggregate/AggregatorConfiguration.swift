import ArgumentParser
import FXServiceChassis

/// The aggregator's own settings (shared ones are in `ServiceSettings`). Each key, once:
///
/// | setting | flag | environment | default |
/// |---|---|---|---|
/// | timeframes | `--timeframes` | `TIMEFRAMES` | `1m,5m,15m,1h,4h,1d` (`1s` allowed) |
/// | also bid and ask candles from quotes | `--bid-ask-candles` | `BID_ASK_CANDLES` | false (trade and mid only) |
/// | flush every | `--flush-interval-ms` | `FLUSH_INTERVAL_MS` | 250 |
/// | flush at most this many ticks at once | `--flush-max-ticks` | `FLUSH_MAX_TICKS` | 5000 |
/// | allowed lateness (watermark = max `ts` - this) | `--allowed-lateness-ms` | `ALLOWED_LATENESS_MS` | 5000 |
/// | idle partition: close by wall clock after | `--idle-timeout-ms` | `IDLE_TIMEOUT_MS` | 10000 |
/// | duplicate window (event time, >= 10 min) | `--dedup-window-minutes` | `DEDUP_WINDOW_MINUTES` | 60 |
/// | open candle updates per key at most every | `--open-update-interval-ms` | `OPEN_UPDATE_INTERVAL_MS` | 1000 |
/// | consumer group | `--consumer-group` | `AGGREGATOR_GROUP` | `fxstream-aggregator` |
/// | retention per timeframe (days; 0 = keep) | `--retention` | `RETENTION` | `1s=2,1m=90` (others kept) |
/// | TimescaleDB: compress chunks older than (days) | `--compress-after-days` | `COMPRESS_AFTER_DAYS` | 7 |
public struct AggregatorConfiguration: Sendable {
    public var timeframes = Timeframe.defaults
    public var bidAskCandles = false
    public var flushInterval: Duration = .milliseconds(250)
    public var flushMaxTicks = 5_000
    public var allowedLateness: Duration = .seconds(5)
    public var idleTimeout: Duration = .seconds(10)
    public var dedupWindow: Duration = .seconds(3_600)
    public var openUpdateInterval: Duration = .seconds(1)
    public var consumerGroup = "fxstream-aggregator"
    public var retentionDays: [String: Int] = ["1s": 2, "1m": 90]
    public var healthInterval: Duration = .seconds(5)
    public var maintenanceInterval: Duration = .seconds(60)
    /// With TimescaleDB: chunks older than this are compressed; ticks older than it are rejected
    /// (`beyond_compression_horizon`), since compressed chunks are never upserted into.
    public var compressAfter: Duration = .seconds(7 * 86_400)

    public init() {}
}

public struct AggregatorOptions: ParsableArguments, Sendable {
    @Option(help: "Candle timeframes, comma-separated (env TIMEFRAMES, default 1m,5m,15m,1h,4h,1d).") public var timeframes: String?
    @Flag(help: "Also build bid and ask candles from quotes (env BID_ASK_CANDLES).") public var bidAskCandles = false
    @Option(help: "Flush interval in ms (env FLUSH_INTERVAL_MS, default 250).") public var flushIntervalMs: Int?
    @Option(help: "Most ticks per flush (env FLUSH_MAX_TICKS, default 5000).") public var flushMaxTicks: Int?
    @Option(help: "Allowed lateness in ms (env ALLOWED_LATENESS_MS, default 5000).") public var allowedLatenessMs: Int?
    @Option(help: "Idle partitions close buckets by wall clock after this many ms (env IDLE_TIMEOUT_MS, default 10000).") public var idleTimeoutMs: Int?
    @Option(help: "Duplicate suppression window in minutes, at least 10 (env DEDUP_WINDOW_MINUTES, default 60).") public var dedupWindowMinutes: Int?
    @Option(help: "Open candles are republished at most every this many ms per key (env OPEN_UPDATE_INTERVAL_MS, default 1000).") public var openUpdateIntervalMs: Int?
    @Option(help: "Kafka consumer group (env AGGREGATOR_GROUP, default fxstream-aggregator).") public var consumerGroup: String?
    @Option(help: "Retention per timeframe in days, e.g. 1s=2,1m=90 (env RETENTION; 0 keeps).") public var retention: String?
    @Option(help: "TimescaleDB only: compress chunks older than this many days (env COMPRESS_AFTER_DAYS, default 7).") public var compressAfterDays: Int?

    public init() {}

    public func resolve(environment: EnvironmentReader = EnvironmentReader()) throws -> AggregatorConfiguration {
        var c = AggregatorConfiguration()
        if let text = try timeframes ?? environment.value("TIMEFRAMES") {
            var frames: [Timeframe] = []
            for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let frame = Timeframe(name) else {
                    throw ConfigurationError(key: "TIMEFRAMES", reason: "'\(name)' is not a timeframe (1s, 1m, 5m, 15m, 1h, 4h, 1d, ...)")
                }
                if !frames.contains(frame) { frames.append(frame) }
            }
            guard !frames.isEmpty else { throw ConfigurationError(key: "TIMEFRAMES", reason: "no timeframe given") }
            c.timeframes = frames
        }
        let bidAskEnv = try environment.value("BID_ASK_CANDLES")
        c.bidAskCandles = bidAskCandles || bidAskEnv?.lowercased() == "true"
        func int(_ flag: Int?, _ key: String) throws -> Int? {
            if let flag { return flag }
            guard let text = try environment.value(key) else { return nil }
            guard let value = Int(text), value >= 0 else { throw ConfigurationError(key: key, reason: "expected a non-negative integer") }
            return value
        }
        if let v = try int(flushIntervalMs, "FLUSH_INTERVAL_MS") { c.flushInterval = .milliseconds(max(1, v)) }
        if let v = try int(flushMaxTicks, "FLUSH_MAX_TICKS") { c.flushMaxTicks = max(1, v) }
        if let v = try int(allowedLatenessMs, "ALLOWED_LATENESS_MS") { c.allowedLateness = .milliseconds(v) }
        if let v = try int(idleTimeoutMs, "IDLE_TIMEOUT_MS") { c.idleTimeout = .milliseconds(v) }
        if let v = try int(dedupWindowMinutes, "DEDUP_WINDOW_MINUTES") {
            guard v >= 10 else { throw ConfigurationError(key: "DEDUP_WINDOW_MINUTES", reason: "must be at least 10") }
            c.dedupWindow = .seconds(v * 60)
        }
        if let v = try int(openUpdateIntervalMs, "OPEN_UPDATE_INTERVAL_MS") { c.openUpdateInterval = .milliseconds(v) }
        if let v = try consumerGroup ?? environment.value("AGGREGATOR_GROUP") { c.consumerGroup = v }
        if let v = try int(compressAfterDays, "COMPRESS_AFTER_DAYS") {
            guard v >= 1 else { throw ConfigurationError(key: "COMPRESS_AFTER_DAYS", reason: "must be at least 1") }
            c.compressAfter = .seconds(v * 86_400)
        }
        if let text = try retention ?? environment.value("RETENTION") {
            var days: [String: Int] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, Timeframe(parts[0]) != nil, let value = Int(parts[1]), value >= 0 else {
                    throw ConfigurationError(key: "RETENTION", reason: "expected timeframe=days pairs, e.g. 1s=2,1m=90")
                }
                days[parts[0]] = value
            }
            c.retentionDays = days
        }
        return c
    }
}
