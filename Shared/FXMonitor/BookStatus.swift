import FXContracts

/// One order book an ingestor keeps, as the monitor shows it (`GET /api/books`, the status page): the
/// state, epoch and resync count from the ingestor's heartbeat, and the resyncs of the last hour from the
/// `book` gap events (what the `book_resyncs_per_hour` alert rule counts).
public struct BookStatus: Sendable, Equatable {
    public var source: String
    public var symbol: String
    public var venueSymbol: String
    /// `awaiting_snapshot`, `in_sync` or `resyncing`.
    public var state: String
    public var epoch: Int64
    public var seq: Int64
    /// Resyncs since the ingestor instance started (its heartbeat).
    public var resyncs: Int64
    /// `book` gap events of the last hour (monitor clock).
    public var resyncsLastHour: Int64
    public var lastChecksumFailureTs: Int64?
    public var lastError: String?
    /// The ingestor instance (`ingestor:<instance>`) and connection that keep it.
    public var instance: String
    public var connection: String

    public init(source: String, symbol: String, venueSymbol: String, state: String, epoch: Int64, seq: Int64, resyncs: Int64,
                resyncsLastHour: Int64, lastChecksumFailureTs: Int64?, lastError: String?, instance: String, connection: String) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.state = state
        self.epoch = epoch
        self.seq = seq
        self.resyncs = resyncs
        self.resyncsLastHour = resyncsLastHour
        self.lastChecksumFailureTs = lastChecksumFailureTs
        self.lastError = lastError
        self.instance = instance
        self.connection = connection
    }
}
