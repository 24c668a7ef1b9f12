/// How a venue's order books are kept: the depth subscribed per side (nil: as deep as the venue sends),
/// whether a crossed book means a missed update, and where a book's snapshot comes from.
public struct BookFeed: Sendable, Equatable {
    public enum Snapshots: Sendable, Equatable {
        /// The stream sends the snapshot on subscribe (Kraken, Coinbase): a resync resubscribes the symbol.
        case stream
        /// The stream sends only changes; the snapshot is a REST request per symbol
        /// (``MarketDataProvider/bookSnapshotRequest(base:venueSymbol:)``), aligned by update ids (Binance).
        case rest
    }

    public var depth: Int?
    public var crossedIsError: Bool
    public var snapshots: Snapshots

    public init(depth: Int?, crossedIsError: Bool, snapshots: Snapshots = .stream) {
        self.depth = depth
        self.crossedIsError = crossedIsError
        self.snapshots = snapshots
    }
}
