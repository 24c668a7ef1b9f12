import FXConfiguration
import Foundation

/// The monitor's settings.
public struct MonitorConfiguration: ConfigSection {
    public static let sectionName = "monitor"

    /// `SOURCE=DURATION` items: silence after which a stream of that source is no longer live.
    public var staleAfter: [KeyedValue<Duration>] = []
    public var instanceMissingAfter: Duration = .seconds(15)
    public var evaluateInterval: Duration = .seconds(1)
    public var latencyWindow: Duration = .seconds(300)
    /// Empty: the built-in rules (``AlertRule/defaults``, the same as `deploy/monitor-alerts.yaml`).
    public var alertRulesPath = ""
    public var webhooks: [String] = []
    public var webhookTimeout: Duration = .seconds(5)
    public var webhookAttempts = 4
    /// Alert events waiting per destination (`<prefix>alerts` and each webhook) before new ones are dropped.
    public var alertQueue = 1_000
    public var instanceForgetAfter: Duration = .seconds(3_600)
    public var streamForgetAfter: Duration = .seconds(72 * 3_600)
    public var maxStreams = 10_000
    public var maxInstances = 256
    public var maxSources = 64
    /// `service:pattern` items (``HeartbeatTrust``); empty: any instance of the pipeline's services.
    public var expectedInstances: [String] = []
    /// Empty: the status page and `/api/*` are open (as on a laptop). Else the bearer token they require.
    public var authToken = ""
    /// `/api/candles` requests served at once (each holds the database connection); more get 503.
    public var candlesConcurrency = 4
    /// `/api/candles`' statement timeout.
    public var candlesTimeout: Duration = .seconds(2)

    public init() {}

    /// The alert rules: the file's, or the built-in ones.
    public func alertRules() throws(ConfigurationError) -> [AlertRule] {
        guard !alertRulesPath.isEmpty else { return AlertRule.defaults }
        let text: String
        do { text = try String(contentsOfFile: alertRulesPath, encoding: .utf8) }
        catch { throw ConfigurationError(code: .invalidValue, key: "alert_rules", origin: .derived("alert rules file \(alertRulesPath)"),
                                         reason: "cannot be read: \(error.localizedDescription)") }
        return try AlertRule.parse(yaml: text, path: alertRulesPath)
    }

    /// The board's settings from these.
    public var boardSettings: StreamBoard.Settings {
        var settings = StreamBoard.Settings()
        settings.instanceMissingAfter = instanceMissingAfter
        settings.instanceForgetAfter = instanceForgetAfter
        settings.streamForgetAfter = streamForgetAfter
        settings.maxStreams = maxStreams
        settings.maxInstances = maxInstances
        settings.staleAfter = staleAfter.byKey()
        return settings
    }

    static let durationReader = ValueReader<Duration>.duration(bareUnit: .seconds, min: .seconds(1), max: .seconds(86_400))

    static let staleItem = ValueReader<KeyedValue<Duration>>.keyed(durationReader)

    public static let settings: [Setting<MonitorConfiguration>] = [
        Setting(list: \.staleAfter, key: "stale_after", env: "STALE_AFTER", flag: "stale-after", item: staleItem,
                help: "Silence after which a stream is no longer live, `SOURCE=DURATION` (repeatable); default the ingestor's per-symbol threshold (Coinbase 30 s, Finnhub 180 s)."),
        Setting(\.instanceMissingAfter, key: "instance_missing_after_ms", env: "INSTANCE_MISSING_AFTER_MS", flag: "instance-missing-after-ms",
                reader: .duration(bareUnit: .milliseconds, min: .seconds(1), max: .seconds(3_600)),
                help: "A service instance whose heartbeat is older than this is missing (its streams go down)."),
        Setting(\.evaluateInterval, key: "evaluate_interval_ms", env: "EVALUATE_INTERVAL_MS", flag: "evaluate-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(50), max: .seconds(60)),
                help: "How often stream states are derived again."),
        Setting(\.latencyWindow, key: "latency_window", env: "LATENCY_WINDOW", flag: "latency-window",
                reader: .duration(bareUnit: .seconds, min: .seconds(10), max: .seconds(86_400)),
                help: "How far back latency percentiles (and the p99 alert) look; the window moves in fifths."),
        Setting(\.alertRulesPath, key: "alert_rules", env: "ALERT_RULES", flag: "alert-rules", reader: .string(nonEmpty: false),
                help: "Path of the alert rules file (YAML, see deploy/monitor-alerts.yaml); empty: the built-in rules."),
        Setting(list: \.webhooks, key: "webhooks", env: "ALERT_WEBHOOKS", flag: "webhook", item: webhookItem, secret: true,
                help: "URLs that receive every alert event as an HTTP POST of its JSON (repeatable; secret: such URLs often carry a token)."),
        Setting(\.webhookTimeout, key: "webhook_timeout_ms", env: "WEBHOOK_TIMEOUT_MS", flag: "webhook-timeout-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(120)),
                help: "Deadline of one webhook request."),
        Setting(\.webhookAttempts, key: "webhook_attempts", env: "WEBHOOK_ATTEMPTS", flag: "webhook-attempts", reader: .int(1...20),
                help: "Attempts per event and webhook (with backoff) before the delivery counts as failed."),
        Setting(\.alertQueue, key: "alert_queue", env: "ALERT_QUEUE", flag: "alert-queue", reader: .int(1...1_000_000),
                help: "Alert events waiting per destination (the alerts topic, each webhook); a full queue drops new events (counted, logged)."),
        Setting(\.instanceForgetAfter, key: "instance_forget_after_ms", env: "INSTANCE_FORGET_AFTER_MS", flag: "instance-forget-after-ms",
                reader: .duration(bareUnit: .milliseconds, min: .seconds(1), max: .seconds(30 * 86_400)),
                help: "A missing instance is forgotten this long after it went missing (its instance_missing alert resolves, its series go)."),
        Setting(\.streamForgetAfter, key: "stream_forget_after", env: "STREAM_FORGET_AFTER", flag: "stream-forget-after",
                reader: .duration(bareUnit: .seconds, min: .seconds(60), max: .seconds(365 * 86_400)),
                help: "A stream without ticks or gap events for this long is forgotten (longer than a weekend market close)."),
        Setting(\.maxStreams, key: "max_streams", env: "MAX_STREAMS", flag: "max-streams", reader: .int(1...1_000_000),
                help: "Streams (source + symbol) the monitor tracks at most; ticks of further streams are ignored (counted)."),
        Setting(\.maxInstances, key: "max_instances", env: "MAX_INSTANCES", flag: "max-instances", reader: .int(1...100_000),
                help: "Service instances the monitor tracks at most; heartbeats of further instances are ignored (counted)."),
        Setting(\.maxSources, key: "max_sources", env: "MAX_SOURCES", flag: "max-sources", reader: .int(1...10_000),
                help: "Sources per rate and per latency measure the monitor tracks at most (latency: about 1 MB each)."),
        Setting(list: \.expectedInstances, key: "expected_instances", env: "EXPECTED_INSTANCES", flag: "expected-instance", item: .string(),
                help: "`service:instance` heartbeat senders to believe (repeatable; a trailing `*` matches a prefix, e.g. `ingestor:ingestor-coinbase-*`); empty: any instance of ingestor, aggregator, backfiller. Others are ignored, counted and listed on /api/instances."),
        Setting(\.authToken, key: "auth_token", env: "MONITOR_AUTH_TOKEN", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "Bearer token the status page and /api/* require (header `Authorization: Bearer <token>`, or the page's login cookie); empty: open. /health/* and /metrics never ask."),
        Setting(\.candlesConcurrency, key: "api_candles_concurrency", env: "API_CANDLES_CONCURRENCY", flag: "api-candles-concurrency", reader: .int(1...64),
                help: "/api/candles requests served at once; more are answered 503 with Retry-After."),
        Setting(\.candlesTimeout, key: "api_candles_timeout_ms", env: "API_CANDLES_TIMEOUT_MS", flag: "api-candles-timeout-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(60)),
                help: "Statement timeout of one /api/candles query (503 when it runs out)."),
    ]

    static let webhookItem = ValueReader<String>.httpURL
}
