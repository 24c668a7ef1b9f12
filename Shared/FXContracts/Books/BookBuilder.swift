import FXCore

/// Rebuilds order books from the `<prefix>books` topic, the way a consumer should: messages are applied in
/// topic order per `source:symbol`; `seq` is checked within each epoch; a hole, a broken snapshot or a
/// checksum the rebuilt book does not reproduce, or a crossed book (best bid at or above best ask: a change
/// the venue's feed missed; the ingestor resyncs such a symbol) marks the symbol out of sync until the next
/// complete snapshot (a periodic one in the same epoch, or the resync that starts a new epoch).
///
/// A value type: keep one per consumer (or per partition) and feed it every message.
public struct BookBuilder: Sendable {
    public enum Status: String, Sendable, Equatable {
        /// No complete snapshot seen yet in the current epoch (or since the last hole): no book to trust.
        case awaitingSnapshot = "awaiting_snapshot"
        /// Between the chunks of a snapshot.
        case assembling
        /// The book equals the ingestor's as of the last applied message.
        case inSync = "in_sync"
    }

    /// What applying a message meant, for the consumer to act on (log, count, alert).
    public enum Event: Sendable, Equatable {
        /// A complete snapshot was applied: the book is in sync (again).
        case synced(key: String, epoch: Int64, seq: Int64)
        /// The producer started a new epoch (it resynced the symbol); the old book is dropped.
        case newEpoch(key: String, from: Int64, to: Int64)
        /// Messages `expected ..< received` of the epoch were not seen: the book is out of sync.
        case gap(key: String, epoch: Int64, expected: Int64, received: Int64)
        /// The rebuilt book does not give the venue checksum the message carries.
        case checksumMismatch(key: String, epoch: Int64, seq: Int64, venue: UInt32, computed: UInt32)
        /// The rebuilt book is crossed (best bid >= best ask): a change was missed upstream (the ingestor
        /// publishes a `book` gap event and resyncs the symbol); the book is not handed out until the next snapshot.
        case crossed(key: String, epoch: Int64, seq: Int64)
        /// A message that breaks the contract (chunks out of order, a delta inside a snapshot).
        case contractViolation(key: String, epoch: Int64, seq: Int64, detail: String)
    }

    struct Symbol: Sendable {
        var epoch: Int64 = 0
        var nextSeq: Int64 = 0
        var status: Status = .awaitingSnapshot
        var book = OrderBook()
        var partial = OrderBook()
        var nextChunk = 0
    }

    private var symbols: [String: Symbol] = [:]

    public init() {}

    /// Every key (`source:symbol`) seen so far.
    public var keys: [String] { symbols.keys.sorted() }

    public func status(_ key: String) -> Status? { symbols[key]?.status }
    public func epoch(_ key: String) -> Int64? { symbols[key]?.epoch }

    /// The book of `key` when it is in sync; nil otherwise (a book that may be wrong is never handed out).
    public func book(_ key: String) -> OrderBook? {
        guard let symbol = symbols[key], symbol.status == .inSync else { return nil }
        return symbol.book
    }

    /// Applies one message and returns what it meant. Messages of an older epoch are ignored, as are
    /// repeated ones (`seq` already applied), so reading a partition again from an earlier offset is safe.
    public mutating func apply(_ message: BookMessage) -> [Event] {
        let key = message.key
        var symbol = symbols[key] ?? Symbol()
        var events: [Event] = []
        defer { symbols[key] = symbol }

        if message.epoch < symbol.epoch { return [] }
        if message.epoch > symbol.epoch {
            if symbol.epoch > 0 { events.append(.newEpoch(key: key, from: symbol.epoch, to: message.epoch)) }
            symbol = Symbol()
            symbol.epoch = message.epoch
        }
        if symbol.status != .awaitingSnapshot || symbol.nextSeq > 0 {
            if message.seq < symbol.nextSeq { return events }
            if message.seq > symbol.nextSeq {
                events.append(.gap(key: key, epoch: symbol.epoch, expected: symbol.nextSeq, received: message.seq))
                symbol.status = .awaitingSnapshot
                symbol.nextSeq = 0
            }
        }
        // Waiting for a snapshot: only the first chunk of one can start the book.
        if symbol.status == .awaitingSnapshot {
            guard message.kind == .snapshot, message.chunk == 0 else { return events }
            symbol.status = .assembling
            symbol.partial = OrderBook(depth: message.depth)
            symbol.nextChunk = 0
        }
        symbol.nextSeq = message.seq + 1

        func violation(_ detail: String) {
            events.append(.contractViolation(key: key, epoch: symbol.epoch, seq: message.seq, detail: detail))
            symbol.status = .awaitingSnapshot
            symbol.nextSeq = 0
        }

        switch message.kind {
        case .snapshot:
            if message.chunk == 0 {
                symbol.status = .assembling
                symbol.partial = OrderBook(depth: message.depth)
                symbol.nextChunk = 0
            }
            guard symbol.status == .assembling, message.chunk == symbol.nextChunk else {
                violation("snapshot chunk \(message.chunk) where chunk \(symbol.nextChunk) was due")
                return events
            }
            do throws(BookError) {
                for level in message.bids { try symbol.partial.apply(.bid, level) }
                for level in message.asks { try symbol.partial.apply(.ask, level) }
            } catch {
                violation(error.detail)
                return events
            }
            symbol.nextChunk += 1
            guard message.lastChunk else { return events }
            symbol.partial.truncate()
            symbol.book = symbol.partial
            symbol.partial = OrderBook()
            symbol.status = .inSync
            events.append(.synced(key: key, epoch: symbol.epoch, seq: message.seq))
        case .delta:
            guard symbol.status == .inSync else {
                violation("a delta inside a snapshot (chunk \(symbol.nextChunk) was due)")
                return events
            }
            symbol.book.depth = message.depth
            do throws(BookError) {
                for level in message.bids { try symbol.book.apply(.bid, level) }
                for level in message.asks { try symbol.book.apply(.ask, level) }
            } catch {
                violation(error.detail)
                return events
            }
            symbol.book.truncate()
        }
        if symbol.status == .inSync, symbol.book.isCrossed {
            events.append(.crossed(key: key, epoch: symbol.epoch, seq: message.seq))
            symbol.status = .awaitingSnapshot
            symbol.nextSeq = 0
            return events
        }
        if let checksum = message.checksum {
            let computed = BookChecksum.compute(checksum.kind, of: symbol.book)
            if computed != checksum.value {
                events.append(.checksumMismatch(key: key, epoch: symbol.epoch, seq: message.seq, venue: checksum.value, computed: computed))
                symbol.status = .awaitingSnapshot
                symbol.nextSeq = 0
            }
        }
        return events
    }
}
