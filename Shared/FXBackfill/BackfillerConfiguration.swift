import FXCandles
import FXConfiguration
import FXVenues

/// The backfiller's own settings (the shared ones are in `ServiceSettings` and `DatabaseSettings`).
public struct BackfillerConfiguration: ConfigSection {
    public static let sectionName = "backfiller"

    /// Empty: `<topic prefix>backfiller`, so replicas of one deployment share the gap events.
    public var consumerGroup = ""
    /// `SOURCE=URL` items of the repeatable `--rest-url` flag; they win over the per-source keys.
    public var restURLOverrides: [KeyedValue<String>] = []
    public var coinbaseRESTURL = CoinbaseProvider().defaults.restURL
    public var finnhubRESTURL = FinnhubProvider().defaults.restURL
    public var oandaRESTURL = OandaProvider().defaults.restURL
    public var igRESTURL = IGProvider().defaults.restURL
    public var binanceRESTURL = BinanceProvider().defaults.restURL
    public var krakenRESTURL = KrakenProvider().defaults.restURL
    /// `SOURCE=N/s[,burst=B]` items of the repeatable `--rate-limit` flag; they win over the per-source keys.
    public var rateLimitOverrides: [KeyedValue<RateLimit>] = []
    /// `SOURCE=NAME` items: the shared rate bucket's name of a source's credential (default `<source>:credential`).
    public var rateBucketNames: [KeyedValue<String>] = []
    public var coinbaseRateLimit = try! RateLimit.reader.parse(CoinbaseProvider().defaultRateLimit)
    public var finnhubRateLimit = try! RateLimit.reader.parse(FinnhubProvider().defaultRateLimit)
    public var oandaRateLimit = try! RateLimit.reader.parse(OandaProvider().defaultRateLimit)
    public var igRateLimit = try! RateLimit.reader.parse(IGProvider().defaultRateLimit)
    public var binanceRateLimit = try! RateLimit.reader.parse(BinanceProvider().defaultRateLimit)
    public var krakenRateLimit = try! RateLimit.reader.parse(KrakenProvider().defaultRateLimit)
    /// IG API key, user name and password (history logs in as the stream does) and the environment (`demo` or `live`).
    public var igAPIKey = ""
    public var igIdentifier = ""
    public var igPassword = ""
    public var igEnvironment = "demo"
    /// OANDA API token (history uses the stream's token) and its environment (`practice` or `live`).
    public var oandaAPIToken = ""
    public var oandaEnvironment = "practice"
    /// Finnhub API key(s), comma-separated as the ingestor takes them; REST uses the first.
    public var finnhubAPIKey = ""
    public var timeframes = Timeframe.defaults
    /// Also repair bid and ask candles where the venue's history has them (as the aggregator's `bid_ask_candles`).
    public var bidAskCandles = false
    public var workers = 2
    public var lease: Duration = .seconds(120)
    public var settle: Duration = .seconds(90)
    public var bootstrapDays = 7
    public var pollInterval: Duration = .seconds(1)
    public var requestTimeout: Duration = .seconds(30)
    public var healthInterval: Duration = .seconds(5)

    public init() {}

    public static func withTopicPrefix(_ prefix: String) -> BackfillerConfiguration {
        var configuration = BackfillerConfiguration()
        configuration.consumerGroup = prefix + "backfiller"
        return configuration
    }

    /// The sources with a REST history plug-in.
    public static let historySources = ["coinbase", "finnhub", "oanda", "ig", "binance", "kraken"]

    /// The REST base URL used for `source`.
    public func restURL(for source: String) -> String? {
        if let override = restURLOverrides.byKey()[source] { return override }
        switch source {
        case "coinbase": return coinbaseRESTURL
        case "finnhub": return finnhubRESTURL
        case "oanda": return oandaRESTURL
        case "ig": return igRESTURL
        case "binance": return binanceRESTURL
        case "kraken": return krakenRESTURL
        default: return nil
        }
    }

    /// The rate limit used for `source`.
    public func rateLimit(for source: String) -> RateLimit? {
        if let override = rateLimitOverrides.byKey()[source] { return override }
        switch source {
        case "coinbase": return coinbaseRateLimit
        case "finnhub": return finnhubRateLimit
        case "oanda": return oandaRateLimit
        case "ig": return igRateLimit
        case "binance": return binanceRateLimit
        case "kraken": return krakenRateLimit
        default: return nil
        }
    }

    /// `SOURCE=VALUE` with a known source and a value `value` accepts.
    static func sourceItem<Value>(_ value: ValueReader<Value>) -> ValueReader<KeyedValue<Value>> {
        .keyed(value, keys: historySources)
    }

    /// `coinbase=10/s,burst=5,finnhub=1/s` split on commas -> `coinbase=10/s,burst=5`, `finnhub=1/s`.
    @Sendable static func regroupSources(_ pieces: [String]) -> [String] {
        var items: [String] = []
        for piece in pieces {
            let name = piece.split(separator: "=", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            if historySources.contains(name) || items.isEmpty { items.append(piece) } else { items[items.count - 1] += "," + piece }
        }
        return items
    }

    static let urlReader = ValueReader<String>.httpURL


    public static let settings: [Setting<BackfillerConfiguration>] = [
        Setting(\.consumerGroup, key: "consumer_group", env: "BACKFILLER_GROUP", flag: "consumer-group", reader: .string(),
                help: "Kafka consumer group of the gap events (default: `<topic prefix>backfiller`, e.g. `fx.backfiller`)."),
        Setting(list: \.restURLOverrides, key: "rest_url", env: nil, flag: "rest-url", item: sourceItem(urlReader),
                help: "REST endpoint of a source, `SOURCE=URL` (repeatable); wins over the per-source keys below."),
        Setting(\.coinbaseRESTURL, key: "coinbase_rest_url", env: "COINBASE_REST_URL", flag: nil, reader: urlReader,
                help: "Coinbase Exchange REST endpoint (candles history)."),
        Setting(\.finnhubRESTURL, key: "finnhub_rest_url", env: "FINNHUB_REST_URL", flag: nil, reader: urlReader,
                help: "Finnhub REST endpoint (forex and crypto candles)."),
        Setting(\.oandaRESTURL, key: "oanda_rest_url", env: "OANDA_REST_URL", flag: nil, reader: urlReader,
                help: "OANDA v20 REST endpoint (M1 bid/ask candles history); the practice host unless `oanda_environment` is live."),
        Setting(\.igRESTURL, key: "ig_rest_url", env: "IG_REST_URL", flag: nil, reader: urlReader,
                help: "IG REST gateway (login and minute bid/ask prices history); the demo gateway unless `ig_environment` is live."),
        Setting(\.binanceRESTURL, key: "binance_rest_url", env: "BINANCE_REST_URL", flag: nil, reader: urlReader,
                help: "Binance spot REST endpoint (1-minute klines history)."),
        Setting(\.krakenRESTURL, key: "kraken_rest_url", env: "KRAKEN_REST_URL", flag: nil, reader: urlReader,
                help: "Kraken spot REST endpoint (1-minute OHLC history: the last 720 minutes only)."),
        Setting(list: \.rateLimitOverrides, key: "rate_limit", env: nil, flag: "rate-limit", item: sourceItem(RateLimit.reader),
                help: "REST rate limit of a source, `SOURCE=N/s[,burst=B]` or `N/m` (repeatable), shared by every replica; wins over the per-source keys below.",
                regroup: regroupSources),
        Setting(list: \.rateBucketNames, key: "rate_bucket", env: "RATE_BUCKETS", flag: "rate-bucket", item: sourceItem(.string()),
                help: "Name of a source's shared rate bucket, `SOURCE=NAME` (repeatable): replicas with the same credential must use the same name, deployments sharing a database with different credentials different ones. Default `<source>:credential` (`<source>:public` without a credential); never derived from the key, so /metrics and the database reveal nothing of it."),
        Setting(\.coinbaseRateLimit, key: "coinbase_rate_limit", env: "COINBASE_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "Coinbase REST rate limit for all replicas together (public limit: about 10/s)."),
        Setting(\.finnhubRateLimit, key: "finnhub_rate_limit", env: "FINNHUB_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "Finnhub REST rate limit per API key for all replicas together (free plan: 60/m)."),
        Setting(\.oandaRateLimit, key: "oanda_rate_limit", env: "OANDA_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "OANDA REST rate limit per token for all replicas together (OANDA allows about 100/s)."),
        Setting(\.igRateLimit, key: "ig_rate_limit", env: "IG_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "IG REST rate limit per API key for all replicas together, logins included (IG allows about 60 non-trading requests a minute)."),
        Setting(\.binanceRateLimit, key: "binance_rate_limit", env: "BINANCE_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "Binance REST rate limit for all replicas together (klines weigh 2 of the 6,000 a minute an IP may spend; the ingestor's depth snapshots share that budget)."),
        Setting(\.krakenRateLimit, key: "kraken_rate_limit", env: "KRAKEN_RATE_LIMIT", flag: nil, reader: RateLimit.reader,
                help: "Kraken REST rate limit for all replicas together (public endpoints: about 1 call a second)."),
        Setting(\.oandaAPIToken, key: "oanda_api_token", env: "OANDA_API_TOKEN", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "OANDA API token(s), comma-separated as the ingestor takes them; history uses the first."),
        Setting(\.oandaEnvironment, key: "oanda_environment", env: "OANDA_ENVIRONMENT", flag: nil, reader: .choice(["practice", "live"]),
                help: "OANDA environment of the token: `practice` or `live` (picks the default REST host)."),
        Setting(\.igAPIKey, key: "ig_api_key", env: "IG_API_KEY", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "IG API key (the first of a list); with `ig_identifier` and `ig_password` the history logs in."),
        Setting(\.igIdentifier, key: "ig_identifier", env: "IG_IDENTIFIER", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "IG user name for the history's login."),
        Setting(\.igPassword, key: "ig_password", env: "IG_PASSWORD", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "IG password for the history's login."),
        Setting(\.igEnvironment, key: "ig_environment", env: "IG_ENVIRONMENT", flag: nil, reader: .choice(["demo", "live"]),
                help: "IG environment of the account: `demo` or `live` (picks the default gateway)."),
        Setting(\.finnhubAPIKey, key: "finnhub_api_key", env: "FINNHUB_API_KEY", flag: nil, reader: .string(nonEmpty: false), secret: true,
                help: "Finnhub API key(s), comma-separated as the ingestor takes them; REST uses the first (its rate bucket: rate_bucket)."),
        Setting(\.timeframes, key: "timeframes", env: "TIMEFRAMES", flag: "timeframes", reader: Timeframe.listReader,
                help: "The aggregator's candle timeframes: repaired minutes are rolled up into every whole-minute one."),
        Setting(\.bidAskCandles, key: "bid_ask_candles", env: "BID_ASK_CANDLES", flag: "bid-ask-candles", reader: .bool,
                help: "Also repair bid and ask candles from a quote venue's history (OANDA, IG); set as the aggregator's `bid_ask_candles`."),
        Setting(\.workers, key: "workers", env: "BACKFILL_WORKERS", flag: "workers", reader: .int(1...64),
                help: "Gaps repaired at once by this instance."),
        Setting(\.lease, key: "lease_seconds", env: "BACKFILL_LEASE_SECONDS", flag: "lease-seconds",
                reader: .duration(bareUnit: .seconds, min: .seconds(5), max: .seconds(3_600)),
                help: "A claimed gap is this instance's for this long (renewed after every request); a killed instance's gap is claimed again after it."),
        Setting(\.settle, key: "settle_seconds", env: "BACKFILL_SETTLE_SECONDS", flag: "settle-seconds",
                reader: .duration(bareUnit: .seconds, max: .seconds(86_400)),
                help: "A gap is repaired once its last minute ended this long ago (the venue's candle is complete, the stream's late ticks are in)."),
        Setting(\.bootstrapDays, key: "bootstrap_days", env: "BOOTSTRAP_DAYS", flag: "bootstrap-days", reader: .int(0...3_650),
                help: "History loaded for a symbol that has none, on its first subscription (0: never automatically)."),
        Setting(\.pollInterval, key: "poll_interval_ms", env: "BACKFILL_POLL_INTERVAL_MS", flag: "poll-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(10), max: .seconds(60)),
                help: "The longest an idle worker waits before looking for due gaps again (new gaps and the next due time wake it sooner)."),
        Setting(\.requestTimeout, key: "request_timeout_ms", env: "BACKFILL_REQUEST_TIMEOUT_MS", flag: "request-timeout-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(300)),
                help: "Deadline of one REST request."),
        Setting(\.healthInterval, key: "health_interval_ms", env: "HEALTH_INTERVAL_MS", flag: "health-interval-ms",
                reader: .duration(bareUnit: .milliseconds, min: .milliseconds(100), max: .seconds(3_600)),
                help: "Health heartbeat interval (`<prefix>health`, key `backfiller:<instance>`)."),
    ]
}
