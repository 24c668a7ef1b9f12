import FXContracts
import FXVenues
import Testing

/// Binance spot depth: a per-symbol book synchronized from a REST snapshot and the diff stream, never
/// blocking other symbols, resynchronized alone on a gap.
@Suite("Binance: depth synchronization")
struct BinanceDepthSyncTests {
    static func update(_ first: Int64, _ last: Int64, bid: String = "1") -> BinanceDepthSync.Update {
        .init(firstUpdateID: first, finalUpdateID: last, bids: [BookLevel(price: "10", quantity: bid)], asks: [], eventTime: 0)
    }

    static func snapshot(_ id: Int64) -> BinanceDepthSync.Snapshot {
        .init(lastUpdateID: id, bids: [BookLevel(price: "10", quantity: "0.5")], asks: [BookLevel(price: "11", quantity: "1")])
    }

    @Test("the first event asks for a snapshot once; events are buffered until it arrives")
    func buffers() {
        var sync = BinanceDepthSync()
        #expect(sync.receive(Self.update(100, 105)) == [.requestSnapshot])
        #expect(sync.receive(Self.update(106, 110)) == [])
        #expect(!sync.isSynced)
    }

    @Test("buffered events the snapshot already covers are dropped; the first applied straddles it")
    func straddles() {
        var sync = BinanceDepthSync()
        _ = sync.receive(Self.update(100, 105))
        _ = sync.receive(Self.update(106, 110, bid: "2"))
        _ = sync.receive(Self.update(111, 112, bid: "3"))
        let actions = sync.receive(snapshot: Self.snapshot(107))
        #expect(actions == [.publishSnapshot(Self.snapshot(107)), .publishUpdate(Self.update(106, 110, bid: "2")),
                            .publishUpdate(Self.update(111, 112, bid: "3"))])
        #expect(sync.lastUpdateID == 112)
        #expect(sync.epoch == 1)
    }

    @Test("a snapshot older than the buffered stream is fetched again")
    func staleSnapshot() {
        var sync = BinanceDepthSync()
        _ = sync.receive(Self.update(100, 105))
        #expect(sync.receive(snapshot: Self.snapshot(90)) == [.requestSnapshot])
        #expect(!sync.isSynced)
        #expect(sync.receive(snapshot: Self.snapshot(99)) == [.publishSnapshot(Self.snapshot(99)), .publishUpdate(Self.update(100, 105))])
    }

    @Test("a snapshot newer than every buffered event waits for the event that straddles it")
    func snapshotAhead() {
        var sync = BinanceDepthSync()
        _ = sync.receive(Self.update(100, 105))
        #expect(sync.receive(snapshot: Self.snapshot(120)) == [.publishSnapshot(Self.snapshot(120))])
        #expect(sync.receive(Self.update(106, 118)) == [])
        #expect(sync.receive(Self.update(119, 125)) == [.publishUpdate(Self.update(119, 125))])
        #expect(sync.lastUpdateID == 125)
    }

    @Test("a skipped update id is a gap: a new epoch and a new snapshot for this symbol only")
    func gap() {
        var sync = BinanceDepthSync()
        _ = sync.receive(Self.update(100, 105))
        _ = sync.receive(snapshot: Self.snapshot(104))
        #expect(sync.receive(Self.update(106, 108)) == [.publishUpdate(Self.update(106, 108))])
        #expect(sync.receive(Self.update(110, 111)) == [.gap(expected: 109, received: 110), .requestSnapshot])
        #expect(sync.epoch == 2)
        #expect(!sync.isSynced)
        // The event after the hole is kept for the next snapshot.
        #expect(sync.receive(snapshot: Self.snapshot(110)) == [.publishSnapshot(Self.snapshot(110)), .publishUpdate(Self.update(110, 111))])
    }

    @Test("an event the book already has (u <= last id) is ignored")
    func old() {
        var sync = BinanceDepthSync()
        _ = sync.receive(Self.update(100, 105))
        _ = sync.receive(snapshot: Self.snapshot(105))
        #expect(sync.receive(Self.update(101, 103)) == [])
        #expect(sync.lastUpdateID == 105)
    }

    @Test("a failed snapshot request is asked again; a lost connection starts a new epoch")
    func failuresAndReset() {
        var sync = BinanceDepthSync(maxBuffered: 2)
        _ = sync.receive(Self.update(100, 101))
        #expect(sync.snapshotFailed() == [.requestSnapshot])
        _ = sync.receive(Self.update(102, 103))
        _ = sync.receive(Self.update(104, 105))
        // Only the two newest events were kept (102-103, 104-105): a snapshot at 100 leaves a hole at 101.
        #expect(sync.receive(snapshot: Self.snapshot(100)) == [.requestSnapshot])
        _ = sync.receive(snapshot: Self.snapshot(103))
        #expect(sync.isSynced)
        sync.reset()
        #expect(sync.epoch == 2)
        #expect(sync.receive(Self.update(300, 301)) == [.requestSnapshot])
    }
}
