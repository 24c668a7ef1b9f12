import FXVenues
import Foundation
import FXConfiguration

/// The YAML file's `feeds` list: one entry per provider feed, each with
/// `provider`, `symbols` (a list or a comma-separated string), optional `ws_url` (or `stream_url`, the
/// same: the stream's endpoint, a WebSocket or an HTTP stream host such as OANDA's), `rest_url`,
/// `max_symbols_per_connection`, `connection_stale_after_ms`, `symbol_stale_after_ms`,
/// `sequence_check` (`off`, `contiguous`, `trade_id`), `credentials_env` (the prefix of the
/// credential variables, default the provider id upper-cased) and `symbol_map` (IG: `EPIC=BASE/QUOTE`
/// items for epics that do not name a currency pair) and `book_depth` (venues with order books: levels per
/// side, Kraken 10, 25, 100, 500 or 1000) and `capture_raw` (true: every frame of the feed, verbatim, to
/// `<prefix>raw`). Unknown keys are refused with their line.
enum FeedFile {
    static let keys: Set<String> = ["provider", "symbols", "ws_url", "stream_url", "rest_url", "max_symbols_per_connection", "credentials_env",
                                    "connection_stale_after_ms", "symbol_stale_after_ms", "sequence_check", "symbol_map", "book_depth", "capture_raw"]

    static func feeds(_ resolver: inout ConfigResolver) throws(ConfigurationError) -> [FeedConfiguration] {
        guard let list = resolver.claimFileKey("feeds"), let file = resolver.input.file else { return [] }
        guard case .sequence(let entries) = list.content, !entries.isEmpty else {
            throw ConfigurationError(code: .invalidValue, key: "feeds", origin: file.origin(of: list),
                                     reason: "expected a non-empty list of feeds, found \(list.kindDescription)")
        }
        var feeds: [FeedConfiguration] = []
        for (index, entry) in entries.enumerated() {
            feeds.append(try feed(entry, index: index, file: file, environment: resolver.input.environment))
        }
        return feeds
    }

    private static func feed(_ entry: ConfigFileValue, index: Int, file: ConfigFile,
                             environment: EnvironmentReader) throws(ConfigurationError) -> FeedConfiguration {
        let name = "feeds[\(index)]"
        guard case .mapping(let pairs) = entry.content else {
            throw ConfigurationError(code: .invalidValue, key: name, origin: file.origin(of: entry), reason: "expected a mapping, found \(entry.kindDescription)")
        }
        if let unknown = pairs.first(where: { !keys.contains($0.key) }) {
            throw ConfigurationError(code: .unknownKey, key: "\(name).\(unknown.key)", origin: file.origin(of: unknown.value),
                                     reason: "unknown key (secrets belong in the environment or files)",
                                     allowed: keys.sorted().joined(separator: ", "))
        }
        func read<Value>(_ key: String, _ reader: ValueReader<Value>) throws(ConfigurationError) -> Value? {
            guard let value = entry[key] else { return nil }
            do { return try reader.parse(value) }
            catch {
                throw ConfigurationError(code: .invalidValue, key: "\(name).\(key)", origin: file.origin(of: value),
                                         reason: error.reason, allowed: reader.allowed)
            }
        }
        guard let provider = try read("provider", .choice(ProviderRegistry.all.keys.sorted())) else {
            throw ConfigurationError(code: .missing, key: "\(name).provider", origin: file.origin(of: entry), reason: "required")
        }
        guard let symbols = try read("symbols", .list), !symbols.isEmpty else {
            throw ConfigurationError(code: .missing, key: "\(name).symbols", origin: file.origin(of: entry), reason: "required: a list of provider symbols")
        }
        let symbolMap = try Self.symbolMap(try read("symbol_map", .list) ?? [], key: "\(name).symbol_map",
                                           origin: entry["symbol_map"].map { file.origin(of: $0) })
        let staleness = ValueReader<Duration>.duration(bareUnit: .milliseconds, min: .milliseconds(1), max: .seconds(86_400))
        let sequenceCheck = ValueReader<FeedTracker.SequenceCheck>(
            allowed: FeedTracker.SequenceCheck.allCases.map(\.rawValue).joined(separator: ", "),
            text: { (text: String) throws(ConfigValueError) -> FeedTracker.SequenceCheck in
                guard let check = FeedTracker.SequenceCheck(rawValue: text) else { throw ConfigValueError("'\(text)' is not a sequence check") }
                return check
            })
        let prefix = try read("credentials_env", .string()) ?? provider.uppercased()
        let webSocketURL = try read("ws_url", .string())
        let streamURL = webSocketURL == nil ? try read("stream_url", .string()) : webSocketURL
        return FeedConfiguration(provider: provider, symbols: symbols, webSocketURL: streamURL,
                                 restURL: try read("rest_url", .string()),
                                 credentials: try credentials(prefix: prefix, environment: environment),
                                 maxSymbolsPerConnection: try read("max_symbols_per_connection", .int(1...10_000)),
                                 connectionStaleAfter: try read("connection_stale_after_ms", staleness),
                                 symbolStaleAfter: try read("symbol_stale_after_ms", staleness),
                                 sequenceCheck: try read("sequence_check", sequenceCheck),
                                 symbolMap: symbolMap, bookDepth: try read("book_depth", .int(0...5_000)),
                                 captureRaw: try read("capture_raw", .bool) ?? false)
    }

    /// `EPIC=BASE/QUOTE` items (a list, or a comma-separated string) as a map.
    static func symbolMap(_ items: [String], key: String, origin: ConfigOrigin? = nil) throws(ConfigurationError) -> [String: String] {
        var map: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigurationError(code: .invalidValue, key: key, origin: origin, reason: "'\(item.prefix(80))' is not EPIC=BASE/QUOTE")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }

    /// `<PREFIX>_API_KEY` (several keys comma- or newline-separated), `_API_SECRET`, `_API_PASSPHRASE`,
    /// each also as `*_FILE`.
    /// A venue with tokens and accounts (OANDA) reads `_API_TOKEN` instead of `_API_KEY`, `_ACCOUNT_ID`, and
    /// `_ENVIRONMENT` (`practice`, the default, or `live`: the venue's live hosts). A venue with a login
    /// (IG) reads `_IDENTIFIER` (the user name) and `_PASSWORD` as well.
    static func credentials(prefix: String, environment: EnvironmentReader) throws(ConfigurationError) -> [ProviderCredential] {
        let key = try environment.value("\(prefix)_API_KEY")
        let token = key == nil ? try environment.value("\(prefix)_API_TOKEN") : nil
        guard let keys = key ?? token else { return [] }
        var secret = try environment.value("\(prefix)_API_SECRET")
        if secret == nil { secret = try environment.value("\(prefix)_PASSWORD") }
        let passphrase = try environment.value("\(prefix)_API_PASSPHRASE")
        var account = try environment.value("\(prefix)_ACCOUNT_ID")
        if account == nil { account = try environment.value("\(prefix)_IDENTIFIER") }
        let live: Bool
        switch try environment.value("\(prefix)_ENVIRONMENT")?.lowercased() {
        case nil, "practice", "demo": live = false
        case "live": live = true
        case let other?:
            throw ConfigurationError(code: .invalidValue, key: "\(prefix)_ENVIRONMENT", reason: "must be practice (or demo) or live, not '\(other.prefix(20))'")
        }
        return ProviderCredential.apiKeys(keys).map {
            ProviderCredential(key: $0, secret: secret, passphrase: passphrase, account: account, live: live)
        }
    }
}
