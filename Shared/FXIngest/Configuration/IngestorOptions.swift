import ArgumentParser
import Foundation
import FXServiceChassis
import Yams

/// The ingestor's command-line flags; ``IngestorConfiguration`` documents each key with its environment
/// variable, YAML key and default.
public struct IngestorOptions: ParsableArguments, Sendable {
    @Option(help: "Provider of the command-line feed: coinbase or finnhub (env PROVIDER).")
    public var provider: String?

    @Option(help: "Provider symbols, comma-separated, e.g. BTC-USD,ETH-USD or OANDA:EUR_USD (env SYMBOLS).")
    public var symbols: String?

    @Option(name: .customLong("ws-url"), help: "Override the provider's WebSocket URL (env WS_URL).")
    public var wsURL: String?

    @Option(name: .customLong("rest-url"), help: "Override the provider's REST URL (env REST_URL).")
    public var restURL: String?

    @Option(help: "Symbols per connection (env MAX_SYMBOLS_PER_CONNECTION; default per provider).")
    public var maxSymbolsPerConnection: Int?

    @Option(help: "YAML file with one or more feeds and tuning keys (env INGESTOR_CONFIG).")
    public var config: String?

    @Option(help: "Partitions of the topics created at start (env FX_PARTITIONS, default 3).")
    public var partitions: Int32?

    public init() {}

    public func resolve(environment: EnvironmentReader = EnvironmentReader()) throws -> IngestorConfiguration {
        var configuration = IngestorConfiguration(feeds: [])
        if let path = try config ?? environment.value("INGESTOR_CONFIG") {
            try IngestorConfigFile.load(path: path, into: &configuration, environment: environment)
        }
        if let provider = try provider ?? environment.value("PROVIDER") {
            guard let list = try symbols ?? environment.value("SYMBOLS") else {
                throw ConfigurationError(key: "SYMBOLS", reason: "--symbols is required with --provider")
            }
            configuration.feeds.append(FeedConfiguration(
                provider: provider.lowercased(),
                symbols: list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                webSocketURL: try wsURL ?? environment.value("WS_URL"), restURL: try restURL ?? environment.value("REST_URL"),
                credentials: try IngestorConfigFile.credentials(prefix: provider.uppercased(), environment: environment),
                maxSymbolsPerConnection: try maxSymbolsPerConnection ?? IngestorConfigFile.int(environment.value("MAX_SYMBOLS_PER_CONNECTION"), key: "MAX_SYMBOLS_PER_CONNECTION")))
        }
        guard !configuration.feeds.isEmpty else {
            throw ConfigurationError(key: "PROVIDER", reason: "no feed configured: pass --provider and --symbols, or --config with feeds")
        }
        if let value = try partitions ?? IngestorConfigFile.int(environment.value("FX_PARTITIONS"), key: "FX_PARTITIONS").map(Int32.init) {
            configuration.partitions = value
        }
        let env: [(String, (inout IngestorConfiguration, Int) -> Void)] = [
            ("QUEUE_CAPACITY", { $0.queueCapacity = $1 }),
            ("MAX_MESSAGE_BYTES", { $0.maxMessageBytes = $1 }),
            ("HEALTH_INTERVAL_MS", { $0.healthInterval = .milliseconds($1) }),
            ("PING_INTERVAL_MS", { $0.pingInterval = .milliseconds($1) }),
            ("BACKOFF_BASE_MS", { $0.backoff.base = .milliseconds($1) }),
            ("BACKOFF_CAP_MS", { $0.backoff.cap = .milliseconds($1) }),
            ("CIRCUIT_FAILURES", { $0.circuitFailures = $1 }),
            ("CIRCUIT_OPEN_MS", { $0.circuitOpen = .milliseconds($1) }),
        ]
        for (key, apply) in env {
            if let value = try IngestorConfigFile.int(environment.value(key), key: key) { apply(&configuration, value) }
        }
        _ = try configuration.plans()  // fail at start, with a clear message, on anything the plan refuses
        return configuration
    }
}

/// Reads the YAML configuration file (see ``IngestorConfiguration`` for the keys).
enum IngestorConfigFile {
    static func load(path: String, into configuration: inout IngestorConfiguration, environment: EnvironmentReader) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw ConfigurationError(key: "INGESTOR_CONFIG", reason: "cannot read '\(path)'") }
        let root: Any?
        do { root = try Yams.load(yaml: text) }
        catch { throw ConfigurationError(key: "INGESTOR_CONFIG", reason: "'\(path)' is not valid YAML: \(error)") }
        guard let document = root as? [String: Any] else {
            throw ConfigurationError(key: "INGESTOR_CONFIG", reason: "'\(path)' must be a mapping with a 'feeds' list")
        }
        let known: Set<String> = ["feeds", "partitions", "queue_capacity", "max_message_bytes", "health_interval_ms", "ping_interval_ms",
                                  "backoff_base_ms", "backoff_cap_ms", "circuit_failures", "circuit_open_ms"]
        if let unknown = document.keys.first(where: { !known.contains($0) }) {
            throw ConfigurationError(key: "INGESTOR_CONFIG", reason: "unknown key '\(unknown)'")
        }
        func number(_ key: String) throws -> Int? {
            guard let value = document[key] else { return nil }
            guard let int = value as? Int else { throw ConfigurationError(key: key, reason: "expected an integer") }
            return int
        }
        if let value = try number("partitions") { configuration.partitions = Int32(value) }
        if let value = try number("queue_capacity") { configuration.queueCapacity = value }
        if let value = try number("max_message_bytes") { configuration.maxMessageBytes = value }
        if let value = try number("health_interval_ms") { configuration.healthInterval = .milliseconds(value) }
        if let value = try number("ping_interval_ms") { configuration.pingInterval = .milliseconds(value) }
        if let value = try number("backoff_base_ms") { configuration.backoff.base = .milliseconds(value) }
        if let value = try number("backoff_cap_ms") { configuration.backoff.cap = .milliseconds(value) }
        if let value = try number("circuit_failures") { configuration.circuitFailures = value }
        if let value = try number("circuit_open_ms") { configuration.circuitOpen = .milliseconds(value) }
        guard let feeds = document["feeds"] as? [[String: Any]], !feeds.isEmpty else {
            throw ConfigurationError(key: "feeds", reason: "a non-empty list of feeds is required")
        }
        for (index, feed) in feeds.enumerated() {
            configuration.feeds.append(try self.feed(feed, index: index, environment: environment))
        }
    }

    private static func feed(_ entry: [String: Any], index: Int, environment: EnvironmentReader) throws -> FeedConfiguration {
        let where_ = "feeds[\(index)]"
        let known: Set<String> = ["provider", "symbols", "ws_url", "rest_url", "max_symbols_per_connection", "credentials_env",
                                  "connection_stale_after_ms", "symbol_stale_after_ms", "sequence_check"]
        if let unknown = entry.keys.first(where: { !known.contains($0) }) {
            throw ConfigurationError(key: where_, reason: "unknown key '\(unknown)' (secrets belong in the environment or files)")
        }
        guard let provider = entry["provider"] as? String else { throw ConfigurationError(key: "\(where_).provider", reason: "required") }
        let symbols: [String]
        if let list = entry["symbols"] as? [Any] { symbols = list.map { "\($0)" } }
        else if let text = entry["symbols"] as? String { symbols = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        else { throw ConfigurationError(key: "\(where_).symbols", reason: "required: a list of provider symbols") }
        func milliseconds(_ key: String) throws -> Duration? {
            guard let value = entry[key] else { return nil }
            guard let int = value as? Int, int > 0 else { throw ConfigurationError(key: "\(where_).\(key)", reason: "expected a positive integer") }
            return .milliseconds(int)
        }
        let prefix = (entry["credentials_env"] as? String) ?? provider.uppercased()
        var sequenceCheck: FeedTracker.SequenceCheck?
        if let text = entry["sequence_check"] {
            guard let parsed = (text as? String).flatMap(FeedTracker.SequenceCheck.init(rawValue:)) else {
                throw ConfigurationError(key: "\(where_).sequence_check", reason: "expected off, contiguous or trade_id")
            }
            sequenceCheck = parsed
        }
        return FeedConfiguration(provider: provider.lowercased(), symbols: symbols, webSocketURL: entry["ws_url"] as? String,
                                 restURL: entry["rest_url"] as? String, credentials: try credentials(prefix: prefix, environment: environment),
                                 maxSymbolsPerConnection: entry["max_symbols_per_connection"] as? Int,
                                 connectionStaleAfter: try milliseconds("connection_stale_after_ms"),
                                 symbolStaleAfter: try milliseconds("symbol_stale_after_ms"), sequenceCheck: sequenceCheck)
    }

    /// `<PREFIX>_API_KEY` (several keys comma- or newline-separated), `_API_SECRET`, `_API_PASSPHRASE`,
    /// each also as `*_FILE`.
    static func credentials(prefix: String, environment: EnvironmentReader) throws -> [ProviderCredential] {
        guard let keys = try environment.value("\(prefix)_API_KEY") else { return [] }
        let secret = try environment.value("\(prefix)_API_SECRET")
        let passphrase = try environment.value("\(prefix)_API_PASSPHRASE")
        return keys.split(whereSeparator: { $0 == "," || $0.isNewline }).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.map { ProviderCredential(key: $0, secret: secret, passphrase: passphrase) }
    }

    static func int(_ text: String?, key: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value > 0 else { throw ConfigurationError(key: key, reason: "expected a positive integer") }
        return value
    }
}
