/// How a venue carries its live stream.
public enum FeedTransport: String, Sendable, Equatable {
    /// A WebSocket: ``MarketDataProvider/webSocketURL(base:credential:)`` and
    /// ``MarketDataProvider/subscribeMessages(symbols:credential:now:)``; each text frame is one message.
    case webSocket
    /// One long HTTP GET whose chunked body carries one JSON object per line (OANDA v20 pricing):
    /// ``MarketDataProvider/streamRequest(base:symbols:credential:)``; each line is one message
    /// (``LineReader``).
    case httpLines
    /// Lightstreamer (TLCP over a WebSocket) after a REST login (IG): ``MarketDataProvider/loginRequest(base:credential:)``
    /// and ``MarketDataProvider/lightstreamerEndpoint(status:headers:body:)`` open a session,
    /// ``MarketDataProvider/lightstreamerSubscriptions(symbols:)`` subscribe, and each decoded update
    /// becomes events through ``MarketDataProvider/lightstreamerEvents(subscription:item:values:symbols:receivedAt:)``.
    case lightstreamer
}

/// Where and as whom a Lightstreamer session is opened, from a venue's login answer (secrets: never logged).
public struct LightstreamerEndpoint: Sendable, Equatable {
    /// `ws://` or `wss://`, ending in `/lightstreamer`.
    public var url: String
    public var user: String
    public var password: String
    public var adapterSet: String?

    public init(url: String, user: String, password: String, adapterSet: String? = nil) {
        self.url = url
        self.user = user
        self.password = password
        self.adapterSet = adapterSet
    }
}

/// An HTTP request a venue needs: the one that opens an HTTP line stream (a GET), or a login (a POST
/// with a body).
public struct StreamRequest: Sendable, Equatable {
    /// The full URL (it may carry an account id; log ``redactedURL``).
    public var url: String
    /// Request headers, e.g. `Authorization` (never logged).
    public var headers: [String: String]
    /// The URL as logs and gap details may show it.
    public var redactedURL: String
    /// `GET` or `POST`.
    public var method: String
    /// The body of a `POST` (it may hold a password: never logged).
    public var body: [UInt8]?

    public init(url: String, headers: [String: String], redactedURL: String, method: String = "GET", body: [UInt8]? = nil) {
        self.url = url
        self.headers = headers
        self.redactedURL = redactedURL
        self.method = method
        self.body = body
    }
}
