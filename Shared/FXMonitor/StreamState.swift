/// The state of one stream (a source and symbol), as the monitor sees it.
public enum StreamState: String, Sendable, CaseIterable {
    /// Ticks arrive within the stream's threshold.
    case live
    /// No ticks, legitimately: its market is closed (the weekly forex close), or its connection keeps
    /// receiving provider messages (heartbeats) and the ingestor counts no stale symbol.
    case quiet
    /// No data beyond its threshold while its market is open and its connection is up.
    case stale
    /// No connection of its source is streaming, or no ingestor instance is alive.
    case down
}

/// One stream's state, when it last changed and why.
public struct StreamStatus: Sendable, Equatable {
    public var source: String
    public var symbol: String
    public var venueSymbol: String
    public var state: StreamState
    /// When the state last changed (ns, monitor clock).
    public var since: Int64
    public var reason: String
    /// Event time of the newest tick (ns), and when the monitor received it (ns, monitor clock).
    public var lastEventTs: Int64?
    public var lastReceivedAt: Int64?
    public var ticks: Int64
    public var gaps: Int64

    public init(source: String, symbol: String, venueSymbol: String, state: StreamState, since: Int64, reason: String,
                lastEventTs: Int64?, lastReceivedAt: Int64?, ticks: Int64, gaps: Int64) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.state = state
        self.since = since
        self.reason = reason
        self.lastEventTs = lastEventTs
        self.lastReceivedAt = lastReceivedAt
        self.ticks = ticks
        self.gaps = gaps
    }
}

/// One state change, for logs and alert rules.
public struct StreamTransition: Sendable, Equatable {
    public var source: String
    public var symbol: String
    public var from: StreamState?
    public var to: StreamState
    public var reason: String
    public var at: Int64
}
