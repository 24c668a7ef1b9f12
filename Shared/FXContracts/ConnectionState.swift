/// The state of one ingestor connection, as its heartbeat reports it (`connections[].state`): the
/// ``FeedTracker``'s states. Open to values a newer ingestor may add: a reader keeps any well-formed one.
public struct ConnectionState: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let connecting = ConnectionState(rawValue: "connecting")
    public static let subscribing = ConnectionState(rawValue: "subscribing")
    public static let streaming = ConnectionState(rawValue: "streaming")
    public static let stale = ConnectionState(rawValue: "stale")
    public static let backoff = ConnectionState(rawValue: "backoff")
    public static let circuitOpen = ConnectionState(rawValue: "circuit_open")
    public static let stopped = ConnectionState(rawValue: "stopped")

    public var description: String { rawValue }
}
