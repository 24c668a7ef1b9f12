import FXContracts

/// Keeps one Binance spot symbol's book in step with its `<symbol>@depth@100ms` stream, following Binance's
/// procedure, as a value type that returns actions (the caller does the I/O: the REST snapshot is fetched
/// off the socket's path, so one symbol waiting for its snapshot never holds up another):
/// 1. buffer the stream's `depthUpdate` events and ask for a snapshot (`GET /api/v3/depth?limit=N`);
/// 2. a snapshot whose `lastUpdateId` leaves a hole before the first buffered event (`lastUpdateId + 1 <
///    U`) is fetched again;
/// 3. buffered events with `u <= lastUpdateId` are dropped; the first one applied must straddle it
///    (`U <= lastUpdateId + 1 <= u`);
/// 4. afterwards each event continues the last (`U == lastID + 1`; an event with `u <= lastID` is old and
///    ignored): `U > lastID + 1` is a gap, and only this symbol is resynchronized, in a new epoch.
public struct BinanceDepthSync: Sendable {
    /// One `depthUpdate` event: the venue's first and final update ids and the changed levels (absolute
    /// quantities, zero deletes).
    public struct Update: Sendable, Equatable {
        public var firstUpdateID: Int64
        public var finalUpdateID: Int64
        public var bids: [BookLevel]
        public var asks: [BookLevel]
        public var eventTime: Int64

        public init(firstUpdateID: Int64, finalUpdateID: Int64, bids: [BookLevel], asks: [BookLevel], eventTime: Int64) {
            self.firstUpdateID = firstUpdateID
            self.finalUpdateID = finalUpdateID
            self.bids = bids
            self.asks = asks
            self.eventTime = eventTime
        }
    }

    /// A REST depth snapshot.
    public struct Snapshot: Sendable, Equatable {
        public var lastUpdateID: Int64
        public var bids: [BookLevel]
        public var asks: [BookLevel]

        public init(lastUpdateID: Int64, bids: [BookLevel], asks: [BookLevel]) {
            self.lastUpdateID = lastUpdateID
            self.bids = bids
            self.asks = asks
        }
    }

    public enum Action: Sendable, Equatable {
        /// Fetch a REST snapshot for this symbol (and pass it to ``receive(snapshot:)``).
        case requestSnapshot
        /// The book starts (or restarts, in ``BinanceDepthSync/epoch``) from this snapshot.
        case publishSnapshot(Snapshot)
        /// Apply and publish this event (it continues the book without a hole).
        case publishUpdate(Update)
        /// The stream skipped updates `expected ..< received`: the symbol's book is no longer valid; a
        /// snapshot has been requested and ``BinanceDepthSync/epoch`` incremented.
        case gap(expected: Int64, received: Int64)
    }

    enum State: Sendable, Equatable {
        /// Waiting for a snapshot (`requested`: one has been asked for and not yet answered).
        case buffering([Update], requested: Bool)
        /// In step after `lastID`: the next event must satisfy `U <= lastID + 1 <= u` (right after a
        /// snapshot it straddles `lastID`; afterwards `U == lastID + 1`; absolute quantities make an overlap
        /// harmless).
        case synced(lastID: Int64)
    }

    private(set) var state: State = .buffering([], requested: false)
    /// Increments on every resync; the first book is epoch 1.
    public private(set) var epoch: Int64 = 1
    /// Events kept while a snapshot is awaited; older ones are dropped (the snapshot is then fetched
    /// again if it turns out older than what is left).
    public let maxBuffered: Int

    public init(maxBuffered: Int = 10_000) {
        self.maxBuffered = max(1, maxBuffered)
    }

    public var isSynced: Bool {
        if case .synced = state { return true }
        return false
    }

    /// The last update id applied to the book (nil while waiting for a snapshot).
    public var lastUpdateID: Int64? {
        if case .synced(let lastID) = state { return lastID }
        return nil
    }

    public mutating func receive(_ update: Update) -> [Action] {
        switch state {
        case .buffering(var buffer, let requested):
            buffer.append(update)
            if buffer.count > maxBuffered { buffer.removeFirst(buffer.count - maxBuffered) }
            state = .buffering(buffer, requested: true)
            return requested ? [] : [.requestSnapshot]
        case .synced(let lastID):
            if update.finalUpdateID <= lastID { return [] }
            let expected = lastID + 1
            if update.firstUpdateID > expected {
                epoch += 1
                state = .buffering([update], requested: true)
                return [.gap(expected: expected, received: update.firstUpdateID), .requestSnapshot]
            }
            state = .synced(lastID: update.finalUpdateID)
            return [.publishUpdate(update)]
        }
    }

    public mutating func receive(snapshot: Snapshot) -> [Action] {
        guard case .buffering(let buffer, _) = state else { return [] }
        let remaining = buffer.filter { $0.finalUpdateID > snapshot.lastUpdateID }
        if let first = remaining.first, first.firstUpdateID > snapshot.lastUpdateID + 1 {
            // The snapshot is older than what the stream has left: ask again.
            state = .buffering(buffer, requested: true)
            return [.requestSnapshot]
        }
        var actions: [Action] = [.publishSnapshot(snapshot)]
        state = .synced(lastID: snapshot.lastUpdateID)
        for update in remaining {
            actions += receive(update)
        }
        return actions
    }

    /// The snapshot request failed: ask again (the caller waits its backoff first).
    public mutating func snapshotFailed() -> [Action] {
        guard case .buffering(let buffer, _) = state else { return [] }
        state = .buffering(buffer, requested: true)
        return [.requestSnapshot]
    }

    /// The book failed a check of its own (a crossed book): the buffer is dropped, a new epoch begins, and a
    /// snapshot is awaited (the caller fetches it when its backoff is over).
    public mutating func restart() {
        epoch += 1
        state = .buffering([], requested: true)
    }

    /// Starts over after the connection was lost: the buffer is dropped and a new epoch begins.
    public mutating func reset() {
        if case .synced = state { epoch += 1 }
        state = .buffering([], requested: false)
    }
}
