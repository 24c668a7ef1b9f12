/// How a venue carries its live stream.
public enum FeedTransport: String, Sendable, Equatable {
    /// A WebSocket: ``MarketDataProvider/webSocketURL(base:credential:)`` and
    /// ``MarketDataProvider/subscribeMessages(symbols:credential:now:)``; each text frame is one message.
    case webSocket
    /// One long HTTP GET whose chunked body carries one JSON object per line (OANDA v20 pricing):
    /// ``MarketDataProvider/streamRequest(base:symbols:credential:)``; each line is one message
    /// (``LineReader``).
    case httpLines
}

/// The request that opens an HTTP line stream.
public struct StreamRequest: Sendable, Equatable {
    /// The full URL (it may carry an account id; log ``redactedURL``).
    public var url: String
    /// Request headers, e.g. `Authorization` (never logged).
    public var headers: [String: String]
    /// The URL as logs and gap details may show it.
    public var redactedURL: String

    public init(url: String, headers: [String: String], redactedURL: String) {
        self.url = url
        self.headers = headers
        self.redactedURL = redactedURL
    }
}
