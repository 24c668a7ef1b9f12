import FXContracts
import FXCore
import Testing

/// The books topic as a consumer reads it: the message contract, and the library that rebuilds books from
/// it (checks `seq` within an epoch, reports holes, starts over on a new epoch, verifies checksums).
@Suite("Books: the topic contract and the book builder")
struct BookBuilderTests {
    static let ts: Int64 = 1_795_608_000_000_000_000

    static func level(_ price: String, _ quantity: String) -> BookLevel { BookLevel(price: price, quantity: quantity) }

    static func message(_ kind: BookMessage.Kind, epoch: Int64 = 1, seq: Int64, bids: [BookLevel] = [], asks: [BookLevel] = [],
                        reason: BookMessage.SnapshotReason? = nil, depth: Int? = nil, chunk: Int = 0, lastChunk: Bool = true,
                        checksum: BookChecksum? = nil) -> BookMessage {
        BookMessage(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", kind: kind, reason: reason, epoch: epoch, seq: seq,
                    depth: depth, chunk: chunk, lastChunk: lastChunk, bids: bids, asks: asks, checksum: checksum,
                    ts: ts + seq, recvTs: ts + seq + 1_000, instance: "ingestor-0")
    }

    static let key = "kraken:BTC/USD"

    @Test("a message reads back exactly as it was written, levels as exact strings")
    func roundTrip() throws {
        let written = BookMessage(source: "binance", symbol: "BTC/USDT", venueSymbol: "BTCUSDT", kind: .delta, epoch: 3, seq: 17,
                                  firstUpdateID: 160, lastUpdateID: 172, depth: nil,
                                  bids: [Self.level("0.0024", "10.00000000")], asks: [Self.level("0.0026", "0")],
                                  ts: Self.ts, recvTs: Self.ts + 2_000_000, instance: "ingestor-0")
        let text = String(decoding: written.jsonBytes(), as: UTF8.self)
        #expect(text.contains(#""bids":[["0.0024","10.00000000"]]"#))
        #expect(text.contains(#""kind":"delta","reason":null,"epoch":3,"seq":17,"first_update_id":160,"last_update_id":172"#))
        #expect(try BookMessage(json: written.jsonBytes()) == written)
        let snapshot = Self.message(.snapshot, seq: 1, bids: [Self.level("1", "2")], reason: .resync, depth: 10,
                                    checksum: BookChecksum(kind: .krakenCRC32, value: 4_000_000_000, verified: true))
        #expect(try BookMessage(json: snapshot.jsonBytes()) == snapshot)
    }

    @Test("messages that break the contract are refused with a reason", arguments: [
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":0,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":0,"last_chunk":true,"bids":[],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":1,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":0,"last_chunk":true,"bids":[[1.5,"2"]],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":1,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":0,"last_chunk":true,"bids":[["-1.5","2"]],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":"periodic","epoch":1,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":0,"last_chunk":true,"bids":[],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":1,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":2,"last_chunk":false,"bids":[],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":1,"seq":1,"first_update_id":null,"last_update_id":null,"depth":null,"chunk":0,"last_chunk":true,"bids":[],"asks":[],"checksum":{"kind":"kraken_crc32","value":4294967296,"verified":true},"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
        #"{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"","kind":"delta","reason":null,"epoch":1,"seq":1,"chunk":0,"last_chunk":true,"bids":[],"asks":[],"checksum":null,"ts":1795608000000000000,"recv_ts":1795608000000000000,"instance":"i"}"#,
    ])
    func refused(json: String) {
        #expect(throws: ContractError.self) { try BookMessage(json: Array(json.utf8)) }
    }

    @Test("a snapshot then deltas rebuild the book; nothing is handed out before the snapshot")
    func rebuilds() {
        var builder = BookBuilder()
        #expect(builder.apply(Self.message(.delta, seq: 4, bids: [Self.level("9", "1")])).isEmpty)
        #expect(builder.book(Self.key) == nil)
        #expect(builder.status(Self.key) == .awaitingSnapshot)
        let events = builder.apply(Self.message(.snapshot, seq: 5, bids: [Self.level("10", "1")], asks: [Self.level("11", "1")], reason: .periodic))
        #expect(events == [.synced(key: Self.key, epoch: 1, seq: 5)])
        #expect(builder.apply(Self.message(.delta, seq: 6, bids: [Self.level("10", "0"), Self.level("10.5", "2")])).isEmpty)
        #expect(builder.book(Self.key)?.bids == [Self.level("10.5", "2")])
        #expect(builder.book(Self.key)?.asks == [Self.level("11", "1")])
    }

    @Test("a hole in seq is reported and the book withheld until the next complete snapshot")
    func holes() {
        var builder = BookBuilder()
        _ = builder.apply(Self.message(.snapshot, seq: 1, bids: [Self.level("10", "1")]))
        _ = builder.apply(Self.message(.delta, seq: 2, bids: [Self.level("10", "2")]))
        #expect(builder.apply(Self.message(.delta, seq: 4, bids: [Self.level("10", "4")])) == [.gap(key: Self.key, epoch: 1, expected: 3, received: 4)])
        #expect(builder.book(Self.key) == nil)
        #expect(builder.apply(Self.message(.delta, seq: 5, bids: [Self.level("10", "5")])).isEmpty)
        #expect(builder.apply(Self.message(.snapshot, seq: 6, bids: [Self.level("10", "6")], reason: .periodic)) == [.synced(key: Self.key, epoch: 1, seq: 6)])
        #expect(builder.book(Self.key)?.bids == [Self.level("10", "6")])
    }

    @Test("a repeated message (a consumer reading again from an older offset) changes nothing")
    func duplicates() {
        var builder = BookBuilder()
        _ = builder.apply(Self.message(.snapshot, seq: 1, bids: [Self.level("10", "1")]))
        _ = builder.apply(Self.message(.delta, seq: 2, bids: [Self.level("10", "2")]))
        #expect(builder.apply(Self.message(.delta, seq: 2, bids: [Self.level("10", "2")])).isEmpty)
        #expect(builder.apply(Self.message(.delta, seq: 1, bids: [Self.level("10", "7")])).isEmpty)
        #expect(builder.book(Self.key)?.bids == [Self.level("10", "2")])
    }

    @Test("a new epoch drops the old book and waits for its snapshot; old-epoch stragglers are ignored")
    func epochs() {
        var builder = BookBuilder()
        _ = builder.apply(Self.message(.snapshot, seq: 1, bids: [Self.level("10", "1")], asks: [Self.level("12", "1")]))
        #expect(builder.apply(Self.message(.delta, epoch: 2, seq: 3, bids: [Self.level("9", "1")])) == [.newEpoch(key: Self.key, from: 1, to: 2)])
        #expect(builder.book(Self.key) == nil)
        #expect(builder.apply(Self.message(.snapshot, epoch: 2, seq: 1, bids: [Self.level("9", "1")], reason: .resync)) == [.synced(key: Self.key, epoch: 2, seq: 1)])
        #expect(builder.apply(Self.message(.delta, epoch: 1, seq: 2, bids: [Self.level("10", "5")])).isEmpty)
        // The resync snapshot replaced the old book: the old ask (12) is gone.
        #expect(builder.book(Self.key)?.asks == [])
        #expect(builder.book(Self.key)?.bids == [Self.level("9", "1")])
        #expect(builder.epoch(Self.key) == 2)
    }

    @Test("a chunked snapshot is assembled in order; a chunk out of order is a contract violation")
    func chunks() {
        let whole = Self.message(.snapshot, seq: 10, bids: (1...5).map { Self.level("\(100 - $0)", "1") },
                                 asks: (1...4).map { Self.level("\(100 + $0)", "1") })
        let pieces = whole.chunked(levelsPerChunk: 4)
        #expect(pieces.map(\.seq) == [10, 11, 12])
        #expect(pieces.map(\.chunk) == [0, 1, 2])
        #expect(pieces.map(\.lastChunk) == [false, false, true])
        var builder = BookBuilder()
        #expect(builder.apply(pieces[0]).isEmpty)
        #expect(builder.book(Self.key) == nil)
        #expect(builder.status(Self.key) == .assembling)
        #expect(builder.apply(pieces[1]).isEmpty)
        #expect(builder.apply(pieces[2]) == [.synced(key: Self.key, epoch: 1, seq: 12)])
        #expect(builder.book(Self.key)?.bids == whole.bids)
        #expect(builder.book(Self.key)?.asks == whole.asks)

        var outOfOrder = BookBuilder()
        _ = outOfOrder.apply(pieces[0])
        var skipped = pieces[2]
        skipped.seq = 11
        #expect(outOfOrder.apply(skipped) == [.contractViolation(key: Self.key, epoch: 1, seq: 11, detail: "snapshot chunk 2 where chunk 1 was due")])
        #expect(outOfOrder.book(Self.key) == nil)
    }

    @Test("a checksum the rebuilt book does not give marks the symbol out of sync")
    func checksums() throws {
        var venue = OrderBook(depth: 10)
        try venue.replace(bids: [Self.level("61412.40000", "0.09300000")], asks: [Self.level("61414.70000", "0.15802523")])
        var builder = BookBuilder()
        let good = BookChecksum(kind: .krakenCRC32, value: BookChecksum.kraken(venue), verified: true)
        #expect(builder.apply(Self.message(.snapshot, seq: 1, bids: venue.bids, asks: venue.asks, depth: 10, checksum: good)) == [.synced(key: Self.key, epoch: 1, seq: 1)])
        try venue.apply(.bid, Self.level("61413.00000", "1.00000000"))
        let next = BookChecksum(kind: .krakenCRC32, value: BookChecksum.kraken(venue), verified: true)
        // The consumer receives a different quantity than the venue's book has: the checksum catches it.
        let events = builder.apply(Self.message(.delta, seq: 2, bids: [Self.level("61413.00000", "2.00000000")], depth: 10, checksum: next))
        guard case .checksumMismatch(key: Self.key, epoch: 1, seq: 2, venue: next.value, computed: _) = events.first else {
            Issue.record("expected a checksum mismatch, got \(events)")
            return
        }
        #expect(builder.book(Self.key) == nil)
    }

    @Test("books of different symbols are independent: a hole in one leaves the other in sync")
    func independent() {
        var builder = BookBuilder()
        var other = Self.message(.snapshot, seq: 1, bids: [Self.level("1", "1")])
        other.symbol = "ETH/USD"
        _ = builder.apply(other)
        _ = builder.apply(Self.message(.snapshot, seq: 1, bids: [Self.level("10", "1")]))
        _ = builder.apply(Self.message(.delta, seq: 3))
        #expect(builder.book(Self.key) == nil)
        #expect(builder.book("kraken:ETH/USD")?.bids == [Self.level("1", "1")])
        #expect(builder.keys == ["kraken:BTC/USD", "kraken:ETH/USD"])
    }

    @Test("a crossed book (a change the venue's feed missed) is never handed out: reported, and waited out until the next snapshot")
    func crossedBookSetAside() {
        var builder = BookBuilder()
        _ = builder.apply(Self.message(.snapshot, seq: 1, bids: [Self.level("100.0", "1")], asks: [Self.level("100.5", "1")], reason: .initial))
        #expect(builder.book(Self.key) != nil)
        let events = builder.apply(Self.message(.delta, seq: 2, bids: [Self.level("100.6", "2")]))
        #expect(events == [.crossed(key: Self.key, epoch: 1, seq: 2)])
        #expect(builder.book(Self.key) == nil && builder.status(Self.key) == .awaitingSnapshot)
        _ = builder.apply(Self.message(.delta, seq: 3, asks: [Self.level("100.7", "1")]))
        #expect(builder.book(Self.key) == nil, "deltas do not bring it back")
        _ = builder.apply(Self.message(.snapshot, epoch: 2, seq: 1, bids: [Self.level("100.0", "1")], asks: [Self.level("100.5", "1")], reason: .resync))
        #expect(builder.book(Self.key)?.bids == [Self.level("100.0", "1")], "the resync snapshot replaces it: no ghost of the crossed bid")
    }
}
