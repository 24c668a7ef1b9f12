import FXContracts
import FXCore
import FXIngest
import FXVenues
import Testing

/// The ingestor's side of a book: what it publishes for each venue message, how it numbers it, and when it
/// gives a symbol up and asks for a new snapshot (that symbol only, with a growing backoff).
@Suite("Books: the ingestor's book keeper")
struct BookKeeperTests {
    static let t0: Int64 = 1_795_608_000_000_000_000
    static let second: Int64 = 1_000_000_000

    static func level(_ price: String, _ quantity: String) -> BookLevel { BookLevel(price: price, quantity: quantity) }

    static func keeper(_ settings: BookKeeper.Settings = .init()) -> BookKeeper {
        BookKeeper(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", instance: "ingestor-0", settings: settings)
    }

    static func published(_ actions: [BookKeeper.Action]) -> [BookMessage] {
        actions.flatMap { action -> [BookMessage] in
            if case .publish(let messages) = action { return messages }
            return []
        }
    }

    static func resyncs(_ actions: [BookKeeper.Action]) -> [Duration] {
        actions.compactMap { action in
            if case .resync(_, let after) = action { return after }
            return nil
        }
    }

    @Test("the first snapshot opens epoch 1 at seq 1; each update is the next seq; updates before it are dropped")
    func numbering() {
        var keeper = Self.keeper()
        #expect(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .update, bids: [Self.level("9", "1")], asks: []), receivedAt: Self.t0).isEmpty)
        #expect(keeper.dropped == 1)
        let snapshot = Self.published(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .snapshot, bids: [Self.level("10", "1")],
                                                                asks: [Self.level("11", "1")], timestamp: Self.t0), receivedAt: Self.t0 + 5))
        #expect(snapshot.map { [$0.epoch, $0.seq] } == [[1, 1]])
        #expect(snapshot.first?.reason == .initial)
        #expect(snapshot.first?.ts == Self.t0)
        #expect(snapshot.first?.recvTs == Self.t0 + 5)
        let delta = Self.published(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .update, bids: [Self.level("10", "0")], asks: []),
                                                  receivedAt: Self.t0 + 10))
        #expect(delta.map { [$0.epoch, $0.seq] } == [[1, 2]])
        #expect(delta.first?.kind == .delta)
        #expect(delta.first?.bids == [Self.level("10", "0")])
        #expect(keeper.book.bids.isEmpty)
    }

    @Test("a checksum mismatch is published as unverified, then the symbol resyncs in a new epoch with a resync snapshot")
    func checksumMismatch() throws {
        var keeper = Self.keeper(.init(depth: 10))
        var venue = OrderBook(depth: 10)
        try venue.replace(bids: [Self.level("100.0", "1.0")], asks: [Self.level("101.0", "1.0")])
        let good = (kind: BookChecksum.Kind.krakenCRC32, value: BookChecksum.kraken(venue))
        _ = keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .snapshot, bids: venue.bids, asks: venue.asks, checksum: good), receivedAt: Self.t0)
        let actions = keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .update, bids: [Self.level("100.0", "2.0")], asks: [],
                                                checksum: good), receivedAt: Self.t0 + Self.second)
        #expect(Self.published(actions).first?.checksum?.verified == false)
        #expect(Self.resyncs(actions) == [.seconds(1)])
        #expect(keeper.status == .resyncing)
        #expect(keeper.lastChecksumFailure == Self.t0 + Self.second)
        // Updates while resyncing are not published.
        #expect(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .update, bids: [Self.level("99.0", "1.0")], asks: []),
                               receivedAt: Self.t0 + 2 * Self.second).isEmpty)
        let again = Self.published(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .snapshot, bids: venue.bids, asks: venue.asks, checksum: good),
                                                  receivedAt: Self.t0 + 3 * Self.second))
        #expect(again.map { [$0.epoch, $0.seq] } == [[2, 1]])
        #expect(again.first?.reason == .resync)
        #expect(again.first?.checksum?.verified == true)
        #expect(keeper.status == .inSync)
    }

    @Test("a crossed book is a failed check")
    func crossed() {
        var keeper = Self.keeper()
        _ = keeper.receive(BookUpdate(venueSymbol: "BTC-USD", kind: .snapshot, bids: [Self.level("10", "1")], asks: [Self.level("11", "1")]), receivedAt: Self.t0)
        let actions = keeper.receive(BookUpdate(venueSymbol: "BTC-USD", kind: .update, bids: [Self.level("11.5", "1")], asks: []), receivedAt: Self.t0 + 1)
        #expect(Self.resyncs(actions).count == 1)
        #expect(keeper.lastFailure?.hasPrefix("crossed book: best bid 11.5 >= best ask 11") == true)
    }

    @Test("a pair that keeps failing backs off (1 s, 2 s, 4 s ... capped); staying in sync resets it")
    func backoff() {
        var keeper = Self.keeper(.init(resyncBase: .seconds(1), resyncCap: .seconds(5), stableAfter: .seconds(60)))
        var now = Self.t0
        var waits: [Duration] = []
        for _ in 0..<5 {
            _ = keeper.receive(BookUpdate(venueSymbol: "X", kind: .snapshot, bids: [Self.level("10", "1")], asks: [Self.level("11", "1")]), receivedAt: now)
            now += Self.second
            waits += Self.resyncs(keeper.lost("update id gap", at: now))
        }
        #expect(waits == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(keeper.resyncs == 5)
        _ = keeper.receive(BookUpdate(venueSymbol: "X", kind: .snapshot, bids: [Self.level("10", "1")], asks: []), receivedAt: now)
        now += 61 * Self.second
        #expect(Self.resyncs(keeper.lost("update id gap", at: now)) == [.seconds(1)])
    }

    @Test("periodic snapshots repeat the book in the same epoch; large ones are chunked")
    func periodic() {
        var keeper = Self.keeper(.init(snapshotInterval: .seconds(30), chunkLevels: 3))
        _ = keeper.receive(BookUpdate(venueSymbol: "X", kind: .snapshot, bids: (1...4).map { Self.level("\(10 - $0)", "1") },
                                      asks: [Self.level("11", "1")]), receivedAt: Self.t0)
        #expect(keeper.seq == 2)
        #expect(keeper.periodic(now: Self.t0 + 29 * Self.second).isEmpty)
        let repeated = Self.published(keeper.periodic(now: Self.t0 + 30 * Self.second))
        #expect(repeated.map(\.seq) == [3, 4])
        #expect(repeated.map(\.reason) == [.periodic, .periodic])
        #expect(repeated.map(\.epoch) == [1, 1])
        #expect(repeated.flatMap(\.bids) == keeper.book.bids)
        #expect(keeper.periodic(now: Self.t0 + 31 * Self.second).isEmpty)
    }

    @Test("what the keeper publishes, read back through JSON by the book builder, is the venue's book at every step")
    func consumerRebuildsTheVenueBook() throws {
        var random = SplitMix64(seed: 24)
        var venue = OrderBook(depth: 25)
        var keeper = Self.keeper(.init(depth: 25, snapshotInterval: .seconds(5), chunkLevels: 7))
        var builder = BookBuilder()
        func price() -> String { "\(100 + Int.random(in: 0..<60, using: &random)).\(Int.random(in: 0..<10, using: &random))0" }
        func quantity() -> String { Int.random(in: 0..<4, using: &random) == 0 ? "0.00000000" : "0.\(Int.random(in: 1..<99_999_999, using: &random))" }
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        for _ in 0..<40 {
            let p = price()
            if p < "130" { bids.append(Self.level(p, quantity())) } else { asks.append(Self.level(p, quantity())) }
        }
        try venue.replace(bids: bids, asks: asks)
        var now = Self.t0
        func deliver(_ actions: [BookKeeper.Action]) throws {
            for message in Self.published(actions) {
                let events = builder.apply(try BookMessage(json: message.jsonBytes()))
                #expect(!events.contains { if case .gap = $0 { return true }; if case .checksumMismatch = $0 { return true }; return false })
            }
        }
        try deliver(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .snapshot, bids: venue.bids, asks: venue.asks,
                                              checksum: (.krakenCRC32, BookChecksum.kraken(venue))), receivedAt: now))
        for step in 0..<2_000 {
            now += 10_000_000
            var changedBids: [BookLevel] = [], changedAsks: [BookLevel] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let p = price()
                let change = Self.level(p, quantity())
                if p < "130" { changedBids.append(change); try venue.apply(.bid, change) } else { changedAsks.append(change); try venue.apply(.ask, change) }
            }
            venue.truncate()
            try deliver(keeper.receive(BookUpdate(venueSymbol: "BTC/USD", kind: .update, bids: changedBids, asks: changedAsks,
                                                  checksum: (.krakenCRC32, BookChecksum.kraken(venue))), receivedAt: now))
            try deliver(keeper.periodic(now: now))
            #expect(builder.book("kraken:BTC/USD") == venue, "step \(step)")
            if builder.book("kraken:BTC/USD") != venue { break }
        }
        #expect(keeper.resyncs == 0)
        #expect(keeper.epoch == 1)
    }
}
