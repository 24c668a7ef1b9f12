import FXContracts

/// A service instance known from its heartbeats on `<prefix>health` (key `<service>:<instance>`).
public struct InstanceStatus: Sendable, Equatable {
    public var service: String
    public var instance: String
    /// When the monitor last received its heartbeat (ns, monitor clock), and the heartbeat's own `ts`.
    public var lastSeen: Int64
    public var heartbeatTs: Int64
    /// False once no heartbeat came for the board's `instanceMissingAfter`.
    public var alive: Bool
    /// An ingestor's fleet part, from its latest heartbeat (nil outside a fleet).
    public var fleet: Heartbeat.Fleet?

    public init(service: String, instance: String, lastSeen: Int64, heartbeatTs: Int64, alive: Bool, fleet: Heartbeat.Fleet? = nil) {
        self.fleet = fleet
        self.service = service
        self.instance = instance
        self.lastSeen = lastSeen
        self.heartbeatTs = heartbeatTs
        self.alive = alive
    }

    public var key: String { "\(service):\(instance)" }
}

/// One connection of an ingestor instance, from its latest heartbeat.
struct ConnectionReport: Sendable, Equatable {
    var id: String
    var source: String
    /// `connecting`, `subscribing`, `streaming`, `stale`, `backoff`, `circuit_open`, `stopped`.
    var state: String
    var lastMessageTs: Int64?
    var staleSymbols: Int
    /// Symbols the venue says are closed, with its reason.
    var marketClosed: [String: String] = [:]
    /// The order books the connection keeps (venues with books).
    var books: [Heartbeat.Book] = []
    /// Heartbeat `ts` - `last_message_ts`: both on the ingestor's clock, so neither the monitor's wall
    /// clock nor a skew between machines enters it. Nil when unknown (no message yet, or negative: the
    /// ingestor's clock stepped back).
    var silence: Int64? = nil
    /// When the monitor received that heartbeat (monitor clock; set while evaluating).
    var heardAt: Int64 = 0
}
