import FXCandles
import Foundation
import FXConfiguration

/// The aggregator's own settings (the shared ones are in `ServiceSettings` and `DatabaseSettings`).
/// Each key is declared once in ``settings``; its default is the property's initial value.
public struct AggregatorConfiguration: ConfigSection {
    public static let sectionName = "aggregator"

    public var timeframes = Timeframe.defaults
    public var bidAskCandles = false
    public var flushInterval: Duration = .milliseconds(100)
    public var flushMaxTicks = 5_000
    public var allowedLateness: Duration = .seconds(5)
    public var idleTimeout: Duration = .seconds(10)
    public var dedupWindow: Duration = .seconds(3_600)
    public var openUpdateInterval: Duration = .seconds(1)
    /// Empty: `<topic prefix>aggregator` (see ``withTopicPrefix(_:)``).
    public var consumerGroup = ""
    public var retentionDays: [String: Int] = ["1s": 2, "1m": 90]
    /// With TimescaleDB: chunks older than this are compressed; ticks older than it are rejected
    /// (`beyond_compression_horizon`), since compressed chunks are never upserted into.
    public var compressAfter: Duration = .seconds(7 * 86_400)
    /// With TimescaleDB: a retention policy drops chunks older than this; zero: off.
    public var dropAfter: Duration = .zero
    /// Archive every distinct tick in `ticks`, in the same transaction as the candles.
    public var storeTicks = false
    public var healthInterval: Duration = .seconds(5)
    public var maintenanceInterval: Duration = .seconds(60)
    /// How long a newly assigned partition's claim is retried while the database does not answer; then
    /// the tick stream ends and the service exits with an error (restarted, it joins the group again).
    public var claimTimeout: Duration = .seconds(30)

    public init() {}

    /// The defaults for a deployment whose topics start with `prefix`: the consumer group is
    /// `<prefix>aggregator`, so deployments sharing a Kafka cluster never join each other's group.
    public static func withTopicPrefix(_ prefix: String) -> AggregatorConfiguration {
        var configuration = AggregatorConfiguration()
        configuration.consumerGroup = prefix + "aggregator"
        return configuration
    }

    public static let settings: [Setting<AggregatorConfiguration>] = [
        Setting(\.timeframes, key: "timeframes", env: "TIMEFRAMES", flag: "timeframes", reader: Timeframe.listReader,
                help: "Candle timeframes, comma-separated."),
        Setting(\.bidAskCandles, key: "bid_ask_candles", env: "BID_ASK_CANDLES", flag: "bid-ask-candles", reader: .bool,
                help: "Also build bid and ask candles from quotes (trade and mid are always built)."),
        Setting(\.flushInterval, key: "flush_interval_ms", env: "FLUSH_INTERVAL_MS", flag: "flush-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(1), max: .seconds(60)),
                help: "Longest a consumed tick waits before its flush starts (flushes also start at `flush_max_ticks`)."),
        Setting(\.flushMaxTicks, key: "flush_max_ticks", env: "FLUSH_MAX_TICKS", flag: "flush-max-ticks", reader: .int(1...1_000_000),
                help: "Flush as soon as this many ticks are pending."),
        Setting(\.allowedLateness, key: "allowed_lateness_ms", env: "ALLOWED_LATENESS_MS", flag: "allowed-lateness-ms",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(86_400)),
                help: "A partition's watermark is its newest tick time minus this; older buckets are final."),
        Setting(\.idleTimeout, key: "idle_timeout_ms", env: "IDLE_TIMEOUT_MS", flag: "idle-timeout-ms",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(86_400)),
                help: "An idle partition closes buckets by the wall clock after this long."),
        Setting(\.dedupWindow, key: "dedup_window_minutes", env: "DEDUP_WINDOW_MINUTES", flag: "dedup-window-minutes",
                reader: .duration(bareUnit: .minutes, min: .seconds(600), max: .seconds(30 * 86_400)),
                help: "Duplicate ticks are suppressed within this event-time window (at least 10m)."),
        Setting(\.openUpdateInterval, key: "open_update_interval_ms", env: "OPEN_UPDATE_INTERVAL_MS", flag: "open-update-interval-ms",
                reader: .duration(bareUnit: .milliseconds, max: .seconds(3_600)),
                help: "Open candles are republished at most this often per key."),
        Setting(\.consumerGroup, key: "consumer_group", env: "AGGREGATOR_GROUP", flag: "consumer-group", reader: .string(),
                help: "Kafka consumer group (default: `<topic prefix>aggregator`, e.g. `fx.aggregator`)."),
        Setting(\.retentionDays, key: "retention", env: "RETENTION", flag: "retention", reader: retentionReader,
                help: "Days of candles kept per timeframe, e.g. 1s=2,1m=90 (0 or absent: kept)."),
        Setting(\.compressAfter, key: "compress_after_days", env: "COMPRESS_AFTER_DAYS", flag: "compress-after-days",
                reader: .duration(bareUnit: .days, min: .seconds(86_400), max: .seconds(3_650 * 86_400)),
                help: "TimescaleDB only: compress chunks older than this; older ticks are rejected."),
        Setting(\.storeTicks, key: "store_ticks", env: "STORE_TICKS", flag: "store-ticks", reader: .bool,
                help: "Archive every distinct tick in the `ticks` table, exactly once, with the candles (TimescaleDB: compressed after compress_after_days)."),
        Setting(\.dropAfter, key: "drop_after_days", env: "DROP_AFTER_DAYS", flag: "drop-after-days",
                reader: .duration(bareUnit: .days, max: .seconds(36_500 * 86_400)),
                help: "TimescaleDB only: a retention policy drops candle chunks older than this (whole chunks, every timeframe); 0: off.",
                render: { $0 == .zero ? "0 (off)" : formatDuration($0) }),
    ]

    static let retentionReader = ValueReader<[String: Int]>(
        allowed: "timeframe=days pairs, e.g. 1s=2,1m=90",
        text: { (text: String) throws(ConfigValueError) -> [String: Int] in
            var days: [String: Int] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
                    .map { String($0).trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, Timeframe(parts[0]) != nil else {
                    throw ConfigValueError("'\(pair)' is not timeframe=days")
                }
                days[parts[0]] = try ValueReader<Int>.int(0...36_500).parse(parts[1])
            }
            return days
        },
        format: { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") })
}
