import Crypto
import Foundation
import FXCore

/// Coinbase Exchange: `matches`, `ticker`, `heartbeat` and `level2_batch` channels on one subscribe message
/// per connection; sequences tracked per product; optional authenticated subscribe.
///
/// Order books come from `level2_batch` (changes batched every 50 ms; the unbatched `level2` channel needs an
/// authenticated connection): a `snapshot` of the whole book, then `l2update`s with absolute sizes (`"0"`
/// deletes). They carry no sequence number, so a book is trusted only while its connection lasts, no `error`
/// arrives and it never crosses; a resync resubscribes the product and its new snapshot replaces the book.
public struct CoinbaseProvider: MarketDataProvider {
    public let id = "coinbase"
    /// Whether `level2_batch` books are streamed (`book_depth: 0` turns them off).
    public let books: Bool

    public init(books: Bool = true) {
        self.books = books
    }

    public var defaults: ProviderDefaults {
        ProviderDefaults(webSocketURL: "wss://ws-feed.exchange.coinbase.com", restURL: "https://api.exchange.coinbase.com",
                         maxSymbolsPerConnection: 100, connectionsPerCredential: nil, requiresCredential: false,
                         // Heartbeats arrive every second per product, so 30 s of silence is an outage. Real
                         // Coinbase numbers every message of a product (order book included): trade ids are
                         // what is contiguous on these channels (see ConnectionPlan for the simulator).
                         tracker: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(30), sequenceCheck: .tradeID))
    }

    public static let channels = ["matches", "ticker", "heartbeat"]
    public static let bookChannel = "level2_batch"

    public var book: BookFeed? { books ? BookFeed(depth: nil, crossedIsError: true, snapshots: .stream) : nil }

    /// A whole-book snapshot of a busy product runs to megabytes: snapshots (Coinbase writes `type` first) are
    /// read up to 32 MiB; every other message keeps the ingestor's `max_message_bytes`.
    public var largeMessages: (prefix: [UInt8], limit: Int)? { books ? (Array(#"{"type":"snapshot""#.utf8), 32 << 20) : nil }

    public func withBookDepth(_ depth: Int) throws(ProviderError) -> any MarketDataProvider {
        guard depth == 0 else {
            throw ProviderError(.invalidSetting, provider: id, "Coinbase sends the whole book (level2_batch): book_depth takes only 0, for no books")
        }
        return CoinbaseProvider(books: false)
    }

    public func bookResubscribeMessages(venueSymbol: String) -> [String] {
        ["unsubscribe", "subscribe"].map { type in
            var writer = JSONWriter(capacity: 96)
            writer.beginObject()
            writer.key("type"); writer.string(type)
            writer.key("product_ids"); writer.stringArray([venueSymbol])
            writer.key("channels"); writer.stringArray([Self.bookChannel])
            writer.endObject()
            return String(decoding: writer.bytes, as: UTF8.self)
        }
    }

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        CoinbaseNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String { base }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] {
        var writer = JSONWriter(capacity: 64 + symbols.count * 12)
        writer.beginObject()
        writer.key("type"); writer.string("subscribe")
        writer.key("product_ids"); writer.stringArray(symbols)
        writer.key("channels"); writer.stringArray(books ? Self.channels + [Self.bookChannel] : Self.channels)
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
