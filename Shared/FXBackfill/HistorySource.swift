import FXCore
import FXVenues
import Foundation

/// One source the backfiller can repair from: its history plug-in, REST endpoint, shared rate-limit
/// bucket (one per credential) and credential.
public struct HistorySource: Sendable {
    public var id: String
    public var history: any MarketHistory
    public var restURL: String
    public var rateLimit: RateLimit
    /// The rate bucket's name: configured (`rate_bucket`), else `<source>:credential` with a credential and
    /// `<source>:public` without. Nothing of the key is in it: the name shows on /metrics and in the database,
    /// and even a hash of a key lets anyone who reads it confirm a guessed key.
    public var bucket: String
    public var credential: ProviderCredential?

    public init(id: String, history: any MarketHistory, restURL: String, rateLimit: RateLimit, credential: ProviderCredential?,
                bucket: String? = nil) {
        self.id = id
        self.history = history
        self.restURL = restURL
        self.rateLimit = rateLimit
        self.credential = credential
        self.bucket = bucket ?? (credential == nil ? "\(id):public" : "\(id):credential")
    }

    /// Every source with a history plug-in, as configured.
    public static func configured(_ configuration: BackfillerConfiguration) -> [String: HistorySource] {
        var sources: [String: HistorySource] = [:]
        for id in BackfillerConfiguration.historySources {
            guard let history = ProviderRegistry.all[id] as? any MarketHistory, let url = configuration.restURL(for: id),
                  let limit = configuration.rateLimit(for: id) else { continue }
            var credential: ProviderCredential?
            if id == "finnhub", let key = ProviderCredential.apiKeys(configuration.finnhubAPIKey).first {
                credential = ProviderCredential(key: key)
            }
            if id == "oanda", let token = ProviderCredential.apiKeys(configuration.oandaAPIToken).first {
                credential = ProviderCredential(key: token, live: configuration.oandaEnvironment == "live")
            }
            if id == "ig", let key = ProviderCredential.apiKeys(configuration.igAPIKey).first {
                credential = ProviderCredential(key: key, secret: configuration.igPassword, account: configuration.igIdentifier,
                                                live: configuration.igEnvironment == "live")
            }
            sources[id] = HistorySource(id: id, history: history, restURL: url, rateLimit: limit, credential: credential,
                                        bucket: configuration.rateBucketNames.byKey()[id])
        }
        return sources
    }
}
