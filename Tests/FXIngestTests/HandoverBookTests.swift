import FXContracts
@testable import FXIngest
import Testing

/// How a replica that takes a shard over accounts for the window its previous owner left: from the
/// previous owners' checkpoints on the control topic, the other copies streaming it, and its own first
/// data. No broker: the events are given.
@Suite("Ingestor fleet: handover windows")
struct HandoverBookTests {
    static let second: Int64 = 1_000_000_000
    /// The takeover.
    static let t0: Int64 = 1_800_000_000 * second
    /// Three health intervals of 1 s: a regular checkpoint vouches for the stream up to one interval before it.
    static let settle = 3 * second

    static func bootstrap(_ venueSymbol: String, at ts: Int64) -> GapEvent {
        GapEvent(source: "coinbase", symbol: venueSymbol.replacingOccurrences(of: "-", with: "/"), venueSymbol: venueSymbol,
                 from: ts, to: ts, reason: .bootstrap, detectedAt: ts, detail: "first data", instance: "ing-a")
    }

    /// A checkpoint of `instance`, streaming since `since`, written at `at` (default: a session timeout
    /// before the takeover, as a dead owner's last one).
    static func checkpoint(_ last: [String: Int64], from instance: String = "ing-b", since: Int64 = t0 - 600 * second,
                           at: Int64 = t0 - 6 * second, released: Bool = false, shard: String = "coinbase-1") -> ShardCheckpoint {
        ShardCheckpoint(shard: shard, instance: instance, timestamp: at, since: since, released: released, last: last)
    }

    static func book() -> HandoverBook {
        var book = HandoverBook(instance: "ing-a", settle: settle)
        book.started(1, id: "coinbase-1", now: t0)
        return book
    }

    @Test("a symbol's window, decided the settle time after its first data here, runs from the previous owners' newest event to that first data, once")
    func window() {
        var book = Self.book()
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 9 * Self.second, "ETH-USD": Self.t0 - 8 * Self.second], at: Self.t0 - 7 * Self.second), shard: 1)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 7 * Self.second]), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 3 * Self.second).isEmpty, "not settled yet")
        let gaps = book.due(now: Self.t0 + 4 * Self.second)
        #expect(gaps.map(\.venueSymbol) == ["BTC-USD"])
        #expect(gaps.first?.from == Self.t0 - 7 * Self.second && gaps.first?.to == Self.t0 + Self.second, "the newest checkpoint counts")
        #expect(gaps.first?.reason == .handover && gaps.first?.instance == "ing-a" && gaps.first?.symbol == "BTC/USD")
        #expect(gaps.first?.detail.contains("ing-b") == true && gaps.first?.detail.contains("without releasing") == true)
        book.firstData(Self.bootstrap("ETH-USD", at: Self.t0 + 5 * Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 7 * Self.second).isEmpty)
        let later = book.due(now: Self.t0 + 8 * Self.second)
        #expect(later.map(\.venueSymbol) == ["ETH-USD"] && later.first?.from == Self.t0 - 8 * Self.second)
        #expect(book.due(now: Self.t0 + 60 * Self.second).isEmpty, "each symbol once")
    }

    @Test("no window without a checkpoint (a new fleet), from the instance's own checkpoints, from another shard's, or when the previous owner was ahead")
    func nothing() {
        var book = Self.book()
        book.read(Self.checkpoint(["SOL-USD": Self.t0 - Self.second], from: "ing-a"), shard: 1)
        book.read(Self.checkpoint(["SOL-USD": 1], shard: "coinbase-2"), shard: 1)
        book.read(Self.checkpoint(["ETH-USD": Self.t0 + Self.second]), shard: 1)
        for symbol in ["BTC-USD", "SOL-USD", "ETH-USD"] { book.firstData(Self.bootstrap(symbol, at: Self.t0), shard: 1) }
        #expect(book.due(now: Self.t0 + Self.settle).isEmpty)
        #expect(!book.knowsPrevious("BTC-USD", shard: 1) && book.knowsPrevious("ETH-USD", shard: 1))
    }

    @Test("a copy that streamed from before the takeover until after the first data here (redundancy, or the old owner overlapping the move) means nothing was lost")
    func coveredByACopy() {
        var book = Self.book()
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 5 * Self.second], released: true), shard: 1)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second / 2], from: "ing-c", at: Self.t0 + 2 * Self.second), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 4 * Self.second).isEmpty)
        // The previous owner overlapping the move: its release after the first data here vouches to its time.
        var overlapped = Self.book()
        overlapped.read(Self.checkpoint(["BTC-USD": Self.t0 + 3 * Self.second], at: Self.t0 + 4 * Self.second, released: true), shard: 1)
        overlapped.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(overlapped.due(now: Self.t0 + 4 * Self.second).isEmpty)
        // A regular checkpoint written just after the first data vouches only for an interval before it: not
        // enough. The copy is alive, so its next checkpoint is waited for, a while; none came: the window.
        var early = Self.book()
        early.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second], from: "ing-c", at: Self.t0 + Self.second + Self.second / 2), shard: 1)
        early.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(early.due(now: Self.t0 + 4 * Self.second).isEmpty, "a live copy is waited for")
        #expect(early.due(now: Self.t0 + Self.second + HandoverBook.patience * Self.settle).count == 1, "but not forever")
    }

    @Test("a live copy's checkpoint that arrives late (a loaded machine) still covers the move; a dead copy is not waited for")
    func lateCheckpoint() {
        // The previous owner overlaps the move; its checkpoints after the first data here are read late.
        var book = Self.book()
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second], at: Self.t0 - Self.second / 2), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 4 * Self.second).isEmpty, "settled, but the live copy has not vouched yet")
        book.read(Self.checkpoint(["BTC-USD": Self.t0 + 4 * Self.second], at: Self.t0 + 5 * Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 6 * Self.second).isEmpty && book.due(now: Self.t0 + 60 * Self.second).isEmpty, "covered: nothing lost")
        // A previous owner whose last checkpoint is a session timeout old is dead: decided at the settle time.
        var dead = Self.book()
        dead.read(Self.checkpoint(["BTC-USD": Self.t0 - 7 * Self.second]), shard: 1)
        dead.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(dead.due(now: Self.t0 + 4 * Self.second).count == 1)
    }

    @Test("both copies moved at once: each new owner sees the other start after its own takeover, which covers nothing; the window is reported")
    func bothCopiesMoved() {
        var book = Self.book()
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 5 * Self.second], from: "ing-old", released: true), shard: 1)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 + 2 * Self.second], from: "ing-d", since: Self.t0, at: Self.t0 + 3 * Self.second), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + 3 * Self.second), shard: 1)
        let gaps = book.due(now: Self.t0 + 6 * Self.second)
        #expect(gaps.count == 1 && gaps.first?.from == Self.t0 - 5 * Self.second, "\(gaps.map { ($0.from, $0.to) })")
        // A copy released before the first data here covers nothing either.
        var released = Self.book()
        released.read(Self.checkpoint(["BTC-USD": Self.t0 - 5 * Self.second], from: "ing-c", at: Self.t0 + 2 * Self.second, released: true), shard: 1)
        released.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + 3 * Self.second), shard: 1)
        #expect(released.due(now: Self.t0 + 6 * Self.second).count == 1)
    }

    @Test("a shard stopped before its windows settled reports them at once; taken again, it starts afresh and its previous times are handed on")
    func stoppedEarly() {
        var book = Self.book()
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second, "ETH-USD": Self.t0 - 2 * Self.second]), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second / 2), shard: 1)
        #expect(book.inherited(1) == ["BTC-USD": Self.t0 - Self.second, "ETH-USD": Self.t0 - 2 * Self.second])
        let gaps = book.stopped(1, now: Self.t0 + Self.second)
        #expect(gaps.map(\.venueSymbol) == ["BTC-USD"])
        #expect(book.inherited(1).isEmpty && book.due(now: Self.t0 + 60 * Self.second).isEmpty)
    }

    @Test("on a tie (no event since the previous owner's last regular checkpoint) its release decides the window's account")
    func releaseOnTie() {
        var book = Self.book()
        book.read(Self.checkpoint(["SOL-USD": Self.t0 - 3 * Self.second], at: Self.t0 - 2 * Self.second), shard: 1)
        book.read(Self.checkpoint(["SOL-USD": Self.t0 - 3 * Self.second], at: Self.t0 - Self.second, released: true), shard: 1)
        book.firstData(Self.bootstrap("SOL-USD", at: Self.t0), shard: 1)
        #expect(book.due(now: Self.t0 + Self.settle).first?.detail.contains("released cleanly") == true)
    }

    @Test("a checkpoint is read back as written; other versions, foreign messages and implausible times are not checkpoints")
    func checkpointJSON() {
        let checkpoint = Self.checkpoint(["BTC-USD": Self.t0, "ETH-USD": Self.t0 - 1], released: true)
        #expect(ShardCheckpoint(json: checkpoint.jsonBytes()) == checkpoint)
        for text in [#"{"v":2,"shard":"coinbase-1","instance":"x","ts":1800000000000000000,"since":1800000000000000000,"last":{}}"#,
                     #"{"v":1,"service":"ingestor"}"#, "not json",
                     #"{"v":1,"shard":"coinbase-1","instance":"x","ts":1800000000000000000,"last":{}}"#,
                     #"{"v":1,"shard":"coinbase-1","instance":"x","ts":1800000000000000000,"since":1800000000000000000,"last":{"BTC-USD":5}}"#] {
            #expect(ShardCheckpoint(json: Array(text.utf8)) == nil, "\(text)")
        }
    }
}
