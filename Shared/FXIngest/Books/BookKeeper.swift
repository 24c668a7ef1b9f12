import FXContracts
import FXCore
import FXVenues

/// The ingestor's half of one symbol's order book: applies the venue's book messages, checks them (the
/// venue's checksum, a crossed book, levels that are not exact decimals) and numbers what goes to the books
/// topic (`epoch`, `seq`), so that ``BookBuilder`` on the consumer side rebuilds the same book.
///
/// A value type returning actions; the caller publishes and resubscribes. A failed check never tears down
/// other symbols: the action asks to resubscribe this one, after a backoff that grows while it keeps failing
/// (a thin pair cannot loop through resubscribes) and resets once it has stayed in sync for
/// ``Settings/stableAfter``.
public struct BookKeeper: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Levels kept per side (nil: as deep as the venue sends).
        public var depth: Int?
        /// Whether a crossed book (best bid >= best ask) after a message means a missed update.
        public var crossedIsError: Bool
        /// A full snapshot of the book in the same epoch this often, for consumers that join late.
        public var snapshotInterval: Duration
        /// The first resync waits this long; each further one within the unstable period doubles it.
        public var resyncBase: Duration
        public var resyncCap: Duration
        /// In sync this long resets the resync backoff.
        public var stableAfter: Duration
        /// Levels per snapshot message (larger snapshots are chunked).
        public var chunkLevels: Int

        public init(depth: Int? = nil, crossedIsError: Bool = true, snapshotInterval: Duration = .seconds(30),
                    resyncBase: Duration = .seconds(1), resyncCap: Duration = .seconds(300), stableAfter: Duration = .seconds(60),
                    chunkLevels: Int = BookMessage.defaultChunkLevels) {
            self.depth = depth
            self.crossedIsError = crossedIsError
            self.snapshotInterval = snapshotInterval
            self.resyncBase = resyncBase
            self.resyncCap = resyncCap
            self.stableAfter = stableAfter
            self.chunkLevels = max(1, chunkLevels)
        }
    }

    public enum Status: String, Sendable, Equatable {
        /// Subscribed, no snapshot yet.
        case awaitingSnapshot = "awaiting_snapshot"
        /// The book is checked and published.
        case inSync = "in_sync"
        /// A check failed: waiting to resubscribe and for the new snapshot (updates until then are dropped).
        case resyncing
    }

    public enum Action: Sendable, Equatable {
        /// Publish these messages to the books topic, in order.
        case publish([BookMessage])
        /// The book can no longer be trusted: publish a gap event (reason `book`) saying `detail`, and get a
        /// new snapshot of this symbol (only) after `after`: resubscribe it (Kraken, Coinbase) or fetch
        /// the REST snapshot again (Binance).
        case resync(detail: String, after: Duration)
    }

    public let source: String
    public let symbol: String
    public let venueSymbol: String
    public let instance: String
    public let settings: Settings

    public private(set) var status: Status = .awaitingSnapshot
    /// The epoch of the book being published (0 before the first snapshot).
    public private(set) var epoch: Int64 = 0
    public private(set) var seq: Int64 = 0
    public private(set) var book: OrderBook
    /// Resyncs since start.
    public private(set) var resyncs = 0
    /// When the venue's checksum last disagreed with the book (ns), and the last failure's detail.
    public private(set) var lastChecksumFailure: Int64?
    public private(set) var lastFailure: String?
    /// Updates dropped while no trusted book existed (before a snapshot, or while resyncing).
    public private(set) var dropped = 0

    private var consecutiveFailures = 0
    private var syncedAt: Int64 = 0
    private var lastSnapshotAt: Int64 = 0

    public init(source: String, symbol: String, venueSymbol: String, instance: String, settings: Settings = Settings()) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.instance = instance
        self.settings = settings
        self.book = OrderBook(depth: settings.depth)
    }

    /// Applies one venue message received at `receivedAt` (ns).
    public mutating func receive(_ update: BookUpdate, receivedAt: Int64) -> [Action] {
        let ts = update.timestamp ?? receivedAt
        switch update.kind {
        case .snapshot:
            var fresh = OrderBook(depth: settings.depth)
            do throws(BookError) {
                try fresh.replace(bids: update.bids, asks: update.asks)
            } catch {
                return fail("snapshot refused: \(error.detail)", at: receivedAt)
            }
            let reason: BookMessage.SnapshotReason = epoch == 0 ? .initial : .resync
            epoch += 1
            seq = 0
            book = fresh
            status = .inSync
            syncedAt = receivedAt
            var actions = [Action.publish(snapshotMessages(reason: reason, update: update, ts: ts, receivedAt: receivedAt))]
            actions += check(update, at: receivedAt)
            return actions
        case .update:
            guard status == .inSync else {
                dropped += 1
                return []
            }
            do throws(BookError) {
                for level in update.bids { try book.apply(.bid, level) }
                for level in update.asks { try book.apply(.ask, level) }
            } catch {
                return fail("update refused: \(error.detail)", at: receivedAt)
            }
            book.truncate()
            seq += 1
            // The book's checksum is computed once: for the message's `verified` and for the check.
            let computed = update.checksum.map { BookChecksum.compute($0.kind, of: book) }
            let message = BookMessage(source: source, symbol: symbol, venueSymbol: venueSymbol, kind: .delta, epoch: epoch, seq: seq,
                                      firstUpdateID: update.firstUpdateID, lastUpdateID: update.lastUpdateID, depth: settings.depth,
                                      bids: update.bids, asks: update.asks,
                                      checksum: update.checksum.map { BookChecksum(kind: $0.kind, value: $0.value, verified: computed == $0.value) },
                                      ts: ts, recvTs: receivedAt, instance: instance)
            return [.publish([message])] + check(update, at: receivedAt, computed: computed)
        }
    }

    /// A full snapshot in the current epoch when one is due (every ``Settings/snapshotInterval``).
    public mutating func periodic(now: Int64) -> [Action] {
        guard status == .inSync, now.subtractingClamped(lastSnapshotAt) >= settings.snapshotInterval.nanosecondsClamped else { return [] }
        return [.publish(snapshotMessages(reason: .periodic, update: nil, ts: now, receivedAt: now))]
    }

    /// The venue's stream showed a hole in this symbol's updates (a skipped Binance update id, a Coinbase
    /// error for the product): the same as a failed check.
    public mutating func lost(_ detail: String, at now: Int64) -> [Action] {
        fail(detail, at: now)
    }

    /// The connection carrying the symbol was lost: the book is stale until the venue's next snapshot,
    /// which starts a new epoch.
    public mutating func connectionLost() {
        if status == .inSync { status = .awaitingSnapshot }
    }

    private func verified(_ checksum: (kind: BookChecksum.Kind, value: UInt32)?) -> BookChecksum? {
        guard let checksum else { return nil }
        return BookChecksum(kind: checksum.kind, value: checksum.value,
                            verified: BookChecksum.compute(checksum.kind, of: book) == checksum.value)
    }

    /// The checks after a message was applied and published.
    private mutating func check(_ update: BookUpdate, at now: Int64, computed known: UInt32? = nil) -> [Action] {
        if let checksum = update.checksum {
            let computed = known ?? BookChecksum.compute(checksum.kind, of: book)
            if computed != checksum.value {
                lastChecksumFailure = now
                return fail("checksum mismatch: venue \(checksum.value), book \(computed) (epoch \(epoch), seq \(seq))", at: now)
            }
        }
        if settings.crossedIsError, book.isCrossed, let bid = book.bestBid, let ask = book.bestAsk {
            return fail("crossed book: best bid \(bid.price) >= best ask \(ask.price) (epoch \(epoch), seq \(seq))", at: now)
        }
        return []
    }

    private mutating func fail(_ detail: String, at now: Int64) -> [Action] {
        if status == .inSync, now.subtractingClamped(syncedAt) >= settings.stableAfter.nanosecondsClamped { consecutiveFailures = 0 }
        consecutiveFailures += 1
        resyncs += 1
        lastFailure = detail
        status = .resyncing
        let grown = settings.resyncBase * (1 << min(consecutiveFailures - 1, 30))
        return [.resync(detail: detail, after: grown > settings.resyncCap || grown < .zero ? settings.resyncCap : grown)]
    }

    private mutating func snapshotMessages(reason: BookMessage.SnapshotReason, update: BookUpdate?, ts: Int64, receivedAt: Int64) -> [BookMessage] {
        lastSnapshotAt = receivedAt
        let whole = BookMessage(source: source, symbol: symbol, venueSymbol: venueSymbol, kind: .snapshot, reason: reason,
                                epoch: epoch, seq: seq + 1, firstUpdateID: update?.firstUpdateID, lastUpdateID: update?.lastUpdateID,
                                depth: settings.depth, bids: book.bids, asks: book.asks, checksum: verified(update?.checksum),
                                ts: ts, recvTs: receivedAt, instance: instance)
        let chunks = whole.chunked(levelsPerChunk: settings.chunkLevels)
        seq += Int64(chunks.count)
        return chunks
    }
}
