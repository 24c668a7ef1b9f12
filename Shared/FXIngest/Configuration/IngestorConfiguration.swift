import FXVenues
import FXConfiguration
import FXCore

/// The ingestor's own settings (the shared ones — brokers, topic prefix, HTTP, logging — are in
/// `ServiceSettings`). Each tuning key is declared once in ``settings``, default in the property; the
/// feeds come from the command line (``CommandLineFeed``) and/or the YAML file's `feeds` list
/// (``FeedFile``). Secrets are read from the environment or files only (never from the YAML file) and
/// never logged.
public struct IngestorConfiguration: ConfigSection {
    public static let sectionName = "ingestor"

    public var feeds: [FeedConfiguration] = []
    public var partitions: Int32 = 3
    public var queueCapacity = 100_000
    public var publishLinger: Duration = .milliseconds(1)
    public var maxMessageBytes = ByteSize(bytes: 1 << 20)
    public var healthInterval: Duration = .seconds(5)
    public var pingInterval: Duration = .seconds(15)
    public var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
    public var circuitFailures = 5
    public var circuitOpen: Duration = .seconds(30)
    public var enqueueMaxWait: Duration = .seconds(2)
    public var bookSnapshotInterval: Duration = .seconds(30)
    public var latestInterval: Duration = .milliseconds(250)
    public var latestPrune = true
    /// Empty: this instance streams every configured shard. Set: it joins the fleet of this name and
    /// streams the shards the fleet gives it (see ``IngestorFleet``).
    public var fleetGroup = ""
    public var redundancy = 1
    public var fleetSessionTimeout: Duration = .seconds(6)
    public var createTopics = true
    public var replicationFactor: Int32 = 1
    /// The raw capture's producer and queue (feeds with `capture_raw`).
    public var capture = RawCapture.Settings()

    public init() {}

    public init(feeds: [FeedConfiguration]) {
        self.feeds = feeds
    }

    public static let settings: [Setting<IngestorConfiguration>] = [
        Setting(\.partitions, key: "partitions", env: "FX_PARTITIONS", flag: "partitions", reader: .int32(1...10_000),
                help: "Partitions of the topics the ingestor creates at start."),
        Setting(\.queueCapacity, key: "queue_capacity", env: "QUEUE_CAPACITY", flag: "queue-capacity", reader: .int(1...100_000_000),
                help: "Messages the publish queue holds before the WebSocket readers wait (then drop into delivery gaps)."),
        Setting(\.publishLinger, key: "publish_linger_ms", env: "PUBLISH_LINGER_MS", flag: "publish-linger-ms",
                reader: .duration(bareUnit: .milliseconds, min: .zero, max: .milliseconds(100)),
                help: "After handing Kafka a batch of more than one message, the publisher waits this long before the next, so batches grow under load (fewer wake-ups per tick; adds up to this much latency); 0: never waits."),
        Setting(\.maxMessageBytes, key: "max_message_bytes", env: "MAX_MESSAGE_BYTES", flag: "max-message-bytes",
                reader: .byteSize(1_024...(64 << 20)), help: "Largest accepted WebSocket message; larger ones become rejects."),
        Setting(\.healthInterval, key: "health_interval_ms", env: "HEALTH_INTERVAL_MS", flag: "health-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(3_600)),
                help: "Health heartbeat interval."),
        Setting(\.pingInterval, key: "ping_interval_ms", env: "PING_INTERVAL_MS", flag: "ping-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(3_600)),
                help: "WebSocket ping interval (a missing pong drops the connection)."),
        Setting(\.bookSnapshotInterval, key: "book_snapshot_interval_ms", env: "BOOK_SNAPSHOT_INTERVAL_MS", flag: "book-snapshot-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .seconds(1), max: .seconds(86_400)),
                help: "A full snapshot of every order book on the books topic this often (and after every resync)."),
        Setting(\.latestInterval, key: "latest_interval_ms", env: "LATEST_INTERVAL_MS", flag: "latest-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(10), max: .seconds(60)),
                help: "The hot layer (the latest topic): each symbol's latest quote and trade is published at most this often (conflated)."),
        Setting(\.latestPrune, key: "latest_prune", env: "LATEST_PRUNE", flag: "latest-prune", reader: .bool,
                help: "At start, tombstone the latest topic's symbols of this ingestor's venues that its feeds no longer stream (off when several ingestor deployments share a venue)."),
        Setting(\.backoff.base, key: "backoff_base_ms", env: "BACKOFF_BASE_MS", flag: "backoff-base-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(1), max: .seconds(3_600)),
                help: "Reconnect backoff base (capped exponential, full jitter)."),
        Setting(\.backoff.cap, key: "backoff_cap_ms", env: "BACKOFF_CAP_MS", flag: "backoff-cap-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(1), max: .seconds(3_600)),
                help: "Reconnect backoff cap."),
        Setting(\.circuitFailures, key: "circuit_failures", env: "CIRCUIT_FAILURES", flag: "circuit-failures", reader: .int(1...1_000),
                help: "Consecutive failed connects that open a provider's circuit breaker."),
        Setting(\.circuitOpen, key: "circuit_open_ms", env: "CIRCUIT_OPEN_MS", flag: "circuit-open-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(1), max: .seconds(3_600)),
                help: "How long an open circuit waits before a trial connect (doubles up to 5m)."),
        Setting(\.createTopics, key: "create_topics", env: "CREATE_TOPICS", flag: "create-topics", reader: .bool,
                help: "Create the ingestor's topics at start (false: they must exist, e.g. made by the setup job with its replication factor)."),
        Setting(\.replicationFactor, key: "replication_factor", env: "REPLICATION_FACTOR", flag: "replication-factor", reader: .int32(1...100),
                help: "Replicas of each partition of the topics the ingestor creates (its fleet's control topic included)."),
        Setting(\.fleetGroup, key: "fleet_group", env: "INGEST_FLEET_GROUP", flag: "fleet-group", reader: .string(nonEmpty: false),
                help: "Join the ingestor fleet of this name (1-32 of a-z 0-9 _ -): replicas with the same feeds split the shards among themselves; empty: stream every shard."),
        Setting(\.redundancy, key: "redundancy", env: "INGEST_REDUNDANCY", flag: "redundancy", reader: .int(1...4),
                help: "In a fleet: how many replicas stream each shard at once (2: an A/B feed, a replica's death loses nothing)."),
        Setting(\.fleetSessionTimeout, key: "fleet_session_timeout_ms", env: "INGEST_FLEET_SESSION_TIMEOUT_MS", flag: "fleet-session-timeout-ms",
                reader: .duration(bareUnit: .milliseconds, min: .seconds(1), max: .seconds(300)),
                help: "In a fleet: how long a silent replica keeps its shards before the others take them (the group's session.timeout.ms)."),
        Setting(\.capture.compression, key: "capture_compression", env: "CAPTURE_COMPRESSION", flag: "capture-compression",
                reader: .choice(["zstd", "lz4", "gzip", "snappy", "none"]),
                help: "Compression of the raw capture topic (feeds with capture_raw)."),
        Setting(\.capture.queueBytes, key: "capture_queue_bytes", env: "CAPTURE_QUEUE_BYTES", flag: "capture-queue-bytes",
                reader: .byteSize((1 << 16)...(4 << 30)),
                help: "Frame bytes the raw capture holds while Kafka takes them; when full, frames are dropped from the capture only (counted, and recorded as a capture gap in the raw topic)."),
    ]

    public mutating func validate(_ context: ConfigContext) throws(ConfigurationError) {
        if !fleetGroup.isEmpty, !ContractLimits.isValidSource(fleetGroup) {
            throw ConfigurationError(code: .invalidValue, key: "fleet_group", origin: context.origin(of: "fleet_group"),
                                     reason: "must be 1-32 characters of a-z, 0-9, _ and -")
        }
        if redundancy > 1, fleetGroup.isEmpty {
            throw ConfigurationError(code: .refused, key: "redundancy", origin: context.origin(of: "redundancy"),
                                     reason: "needs a fleet (fleet_group): redundancy is spread over replicas")
        }
        guard backoff.base <= backoff.cap else {
            throw ConfigurationError(code: .refused, key: "backoff_base_ms", origin: context.origin(of: "backoff_base_ms"),
                                     reason: "is above backoff_cap_ms (\(formatDuration(backoff.cap)))")
        }
    }

    /// Resolves the tuning keys, the command-line feed and the file's feeds; refuses a configuration
    /// without feeds or whose connection plan is impossible.
    public static func resolve(_ resolver: inout ConfigResolver) throws(ConfigurationError) -> IngestorConfiguration {
        var configuration = try resolver.resolve(IngestorConfiguration.self)
        let commandLine = try resolver.resolve(CommandLineFeed.self)
        configuration.feeds = try FeedFile.feeds(&resolver)
        if let feed = try commandLine.feed(environment: resolver.input.environment) {
            configuration.feeds.append(feed)
        }
        guard !configuration.feeds.isEmpty else {
            throw ConfigurationError(code: .missing, key: "provider",
                                     reason: "no feed configured: pass --provider and --symbols, or --config with feeds")
        }
        let plans: [ConnectionPlan]
        do { plans = try configuration.plans() }
        catch { throw ConfigurationError(code: .refused, key: "feeds", reason: "\(error)") }
        if configuration.redundancy > 1, let limited = plans.first(where: { $0.provider.defaults.connectionsPerCredential != nil }) {
            // Two copies of a shard would open a second session on one API key, which the venue refuses.
            throw ConfigurationError(code: .refused, key: "redundancy",
                                     reason: "\(limited.provider.id) allows one connection per API key: run its feed with redundancy 1 (a fleet of its own)")
        }
        for (index, feed) in configuration.feeds.enumerated() {
            resolver.record(section: "feeds", key: "feeds[\(index)]",
                            value: "\(feed.provider) \(feed.symbols.count) symbol(s)\(feed.webSocketURL.map { " at \($0)" } ?? "")" +
                                   " \(feed.credentials.count) key(s)",
                            origin: index < configuration.feeds.count - (commandLine.provider == nil ? 0 : 1)
                                ? resolver.input.file.map { .file(path: $0.path, line: $0["feeds"]?.line ?? 0) } ?? .defaultValue
                                : .derived("provider/symbols"))
        }
        return configuration
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
