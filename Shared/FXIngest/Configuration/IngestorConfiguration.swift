import FXCore
/// The ingestor's own settings (the shared ones — brokers, topic prefix, HTTP, logging — are in
/// `ServiceSettings`). Each key, once:
///
/// | setting | flag | environment | YAML key | default |
/// |---|---|---|---|---|
/// | provider of the command-line feed | `--provider` | `PROVIDER` | `feeds[].provider` | none |
/// | its symbols, comma-separated | `--symbols` | `SYMBOLS` | `feeds[].symbols` | none |
/// | WebSocket endpoint override | `--ws-url` | `WS_URL` | `feeds[].ws_url` | the provider's |
/// | REST endpoint override | `--rest-url` | `REST_URL` | `feeds[].rest_url` | the provider's |
/// | symbols per connection | `--max-symbols-per-connection` | `MAX_SYMBOLS_PER_CONNECTION` | `feeds[].max_symbols_per_connection` | coinbase 100, finnhub 50 |
/// | YAML file (several feeds) | `--config` | `INGESTOR_CONFIG` | — | none |
/// | partitions of topics created at start | `--partitions` | `FX_PARTITIONS` | `partitions` | 3 |
/// | publish queue capacity (messages) | — | `QUEUE_CAPACITY` | `queue_capacity` | 100000 |
/// | largest accepted message (bytes) | — | `MAX_MESSAGE_BYTES` | `max_message_bytes` | 1048576 |
/// | health heartbeat interval (ms) | — | `HEALTH_INTERVAL_MS` | `health_interval_ms` | 5000 |
/// | WebSocket ping interval (ms) | — | `PING_INTERVAL_MS` | `ping_interval_ms` | 15000 |
/// | reconnect backoff base / cap (ms) | — | `BACKOFF_BASE_MS`, `BACKOFF_CAP_MS` | `backoff_base_ms`, `backoff_cap_ms` | 500, 30000 |
/// | circuit breaker: failures to open, open time (ms) | — | `CIRCUIT_FAILURES`, `CIRCUIT_OPEN_MS` | `circuit_failures`, `circuit_open_ms` | 5, 30000 |
/// | how missed messages are detected (`off`, `contiguous`, `trade_id`) | — | — | `feeds[].sequence_check` | coinbase `trade_id` on its real endpoint, `contiguous` with `ws_url` overridden; finnhub `off` |
/// | connection / symbol silence before `stale` (ms) | — | — | `feeds[].connection_stale_after_ms`, `feeds[].symbol_stale_after_ms` | coinbase 30000/30000, finnhub 60000/180000 |
/// | credentials | — | `<PROVIDER>_API_KEY` (comma-separated for several keys), `<PROVIDER>_API_SECRET`, `<PROVIDER>_API_PASSPHRASE`, each also as `*_FILE` | `feeds[].credentials_env` (the prefix, default the provider id upper-cased) | none |
///
/// Secrets are read from the environment or files only (never from the YAML file) and never logged.
public struct IngestorConfiguration: Sendable {
    public var feeds: [FeedConfiguration]
    public var partitions: Int32 = 3
    public var queueCapacity = 100_000
    public var maxMessageBytes = 1 << 20
    public var healthInterval: Duration = .seconds(5)
    public var pingInterval: Duration = .seconds(15)
    public var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
    public var circuitFailures = 5
    public var circuitOpen: Duration = .seconds(30)
    public var enqueueMaxWait: Duration = .seconds(2)

    public init(feeds: [FeedConfiguration]) {
        self.feeds = feeds
    }

    /// Every feed's connection plan; the first error names the feed's provider and what is wrong.
    public func plans() throws(ProviderError) -> [ConnectionPlan] {
        var plans: [ConnectionPlan] = []
        var next: [String: Int] = [:]
        for feed in feeds {
            let key = feed.provider.lowercased()
            let plan = try ConnectionPlan.make(feed, firstIndex: next[key, default: 0])
            next[key, default: 0] += plan.shards.count
            plans.append(plan)
        }
        return plans
    }
}
