import Crypto
import Foundation
import FXCore

/// Coinbase Exchange: `matches`, `ticker` and `heartbeat` channels on one subscribe message per
/// connection; sequences tracked per product; optional authenticated subscribe.
public struct CoinbaseProvider: MarketDataProvider {
    public let id = "coinbase"
    public init() {}

    public var defaults: ProviderDefaults {
        ProviderDefaults(webSocketURL: "wss://ws-feed.exchange.coinbase.com", restURL: "https://api.exchange.coinbase.com",
                         maxSymbolsPerConnection: 100, connectionsPerCredential: nil, requiresCredential: false,
                         // Heartbeats arrive every second per product, so 30 s of silence is an outage. Real
                         // Coinbase numbers every message of a product (order book included): trade ids are
                         // what is contiguous on these channels (see ConnectionPlan for the simulator).
                         tracker: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(30), sequenceCheck: .tradeID))
    }

    public static let channels = ["matches", "ticker", "heartbeat"]

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        CoinbaseNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String { base }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] {
        var writer = JSONWriter(capacity: 64 + symbols.count * 12)
        writer.beginObject()
        writer.key("type"); writer.string("subscribe")
        writer.key("product_ids"); writer.stringArray(symbols)
        writer.key("channels"); writer.stringArray(Self.channels)
        if let credential {
            let timestamp = String(now / 1_000_000_000)
            writer.key("signature"); writer.string(try Self.signature(credential: credential, timestamp: timestamp))
            writer.key("key"); writer.string(credential.key)
            writer.key("passphrase"); writer.string(credential.passphrase ?? "")
            writer.key("timestamp"); writer.string(timestamp)
        }
        writer.endObject()
        return [String(decoding: writer.bytes, as: UTF8.self)]
    }

    /// `base64(HMAC-SHA256(base64decode(secret), timestamp + "GET" + "/users/self/verify"))`.
    public static func signature(credential: ProviderCredential, timestamp: String) throws(ProviderError) -> String {
        guard let secretText = credential.secret, let secret = Data(base64Encoded: secretText) else {
            throw ProviderError(.invalidCredential, provider: "coinbase", "the API secret is missing or not base64")
        }
        let message = Data((timestamp + "GET" + "/users/self/verify").utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return Data(mac).base64EncodedString()
    }

    public func canonicalSymbol(_ venueSymbol: String) -> String? { SymbolMapper.coinbase(venueSymbol) }

    public func marketHours(for venueSymbol: String) -> MarketHours { .continuous }
}
