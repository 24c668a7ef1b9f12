import FXContracts
@testable import FXIngest
import Testing

/// How a replica that takes a shard over reports the window its previous owner left: from the previous
/// owner's checkpoints on the control topic and its own first data. No broker: the events are given.
@Suite("Ingestor fleet: handover windows")
struct HandoverBookTests {
    static let second: Int64 = 1_000_000_000
    static let t0: Int64 = 1_800_000_000 * second

    static func bootstrap(_ venueSymbol: String, at ts: Int64) -> GapEvent {
        GapEvent(source: "coinbase", symbol: venueSymbol.replacingOccurrences(of: "-", with: "/"), venueSymbol: venueSymbol,
                 from: ts, to: ts, reason: .bootstrap, detectedAt: ts, detail: "first data", instance: "ing-a")
    }

    static func checkpoint(_ last: [String: Int64], from instance: String = "ing-b", released: Bool = false) -> ShardCheckpoint {
        // Written before the takeover at t0.
        ShardCheckpoint(shard: "coinbase-1", instance: instance, timestamp: t0 - second, released: released, last: last)
    }

    @Test("after the settle time, each symbol's window runs from the previous owner's newest checkpointed event to the first one here, reported once")
    func window() {
        var book = HandoverBook(instance: "ing-a", settle: 2 * Self.second)
        book.started(1, id: "coinbase-1", now: Self.t0)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 9 * Self.second, "ETH-USD": Self.t0 - 8 * Self.second]), shard: 1)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 4 * Self.second]), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + Self.second).isEmpty, "still reading checkpoints")
        let gaps = book.due(now: Self.t0 + 2 * Self.second)
        #expect(gaps.map(\.venueSymbol) == ["BTC-USD"])
        #expect(gaps.first?.from == Self.t0 - 4 * Self.second && gaps.first?.to == Self.t0 + Self.second, "the newest checkpoint counts")
        #expect(gaps.first?.reason == .handover && gaps.first?.instance == "ing-a" && gaps.first?.symbol == "BTC/USD")
        #expect(gaps.first?.detail.contains("ing-b") == true)
        // ETH's first data comes later: reported then; BTC never again.
        book.firstData(Self.bootstrap("ETH-USD", at: Self.t0 + 5 * Self.second), shard: 1)
        let later = book.due(now: Self.t0 + 6 * Self.second)
        #expect(later.map(\.venueSymbol) == ["ETH-USD"] && later.first?.from == Self.t0 - 8 * Self.second)
        #expect(book.due(now: Self.t0 + 9 * Self.second).isEmpty)
    }

    @Test("nothing is reported without a checkpoint (a new fleet), for the instance's own checkpoints, for another shard, or when the previous owner was ahead (a redundant copy)")
    func nothing() {
        var book = HandoverBook(instance: "ing-a", settle: 0)
        book.started(1, id: "coinbase-1", now: Self.t0)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0), shard: 1)
        book.read(Self.checkpoint(["SOL-USD": Self.t0 - Self.second], from: "ing-a"), shard: 1)
        book.read(ShardCheckpoint(shard: "coinbase-2", instance: "ing-b", timestamp: Self.t0, released: false, last: ["SOL-USD": 1]), shard: 1)
        book.read(Self.checkpoint(["ETH-USD": Self.t0 + Self.second]), shard: 1)
        book.firstData(Self.bootstrap("SOL-USD", at: Self.t0), shard: 1)
        book.firstData(Self.bootstrap("ETH-USD", at: Self.t0), shard: 1)
        #expect(book.due(now: Self.t0).isEmpty)
    }

    @Test("a redundant copy still streaming (its checkpoint written after the takeover, not released) means nothing was lost: no window")
    func liveCopy() {
        var book = HandoverBook(instance: "ing-a", settle: 0)
        book.started(1, id: "coinbase-1", now: Self.t0)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - 5 * Self.second], from: "ing-b", released: true), shard: 1)
        book.read(ShardCheckpoint(shard: "coinbase-1", instance: "ing-c", timestamp: Self.t0 + Self.second, released: false,
                                  last: ["BTC-USD": Self.t0 - Self.second / 2]), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0 + Self.second), shard: 1)
        #expect(book.due(now: Self.t0 + 2 * Self.second).isEmpty)
    }

    @Test("a shard stopped here forgets what it knew; taken again, it starts afresh")
    func restart() {
        var book = HandoverBook(instance: "ing-a", settle: 0)
        book.started(1, id: "coinbase-1", now: Self.t0)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second], released: true), shard: 1)
        book.stopped(1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0), shard: 1)
        #expect(book.due(now: Self.t0).isEmpty)
        book.started(1, id: "coinbase-1", now: Self.t0)
        book.read(Self.checkpoint(["BTC-USD": Self.t0 - Self.second], released: true), shard: 1)
        book.firstData(Self.bootstrap("BTC-USD", at: Self.t0), shard: 1)
        let gaps = book.due(now: Self.t0)
        #expect(gaps.count == 1 && gaps.first?.detail.contains("released cleanly") == true)
        // A symbol without events since the previous owner's last regular checkpoint: its release, same time, says it was clean.
        book.started(2, id: "coinbase-2", now: Self.t0)
        book.read(ShardCheckpoint(shard: "coinbase-2", instance: "ing-b", timestamp: Self.t0 - 2 * Self.second, released: false,
                                  last: ["SOL-USD": Self.t0 - 3 * Self.second]), shard: 2)
        book.read(ShardCheckpoint(shard: "coinbase-2", instance: "ing-b", timestamp: Self.t0 - Self.second, released: true,
                                  last: ["SOL-USD": Self.t0 - 3 * Self.second]), shard: 2)
        book.firstData(Self.bootstrap("SOL-USD", at: Self.t0), shard: 2)
        #expect(book.due(now: Self.t0).first?.detail.contains("released cleanly") == true)
    }

    @Test("a checkpoint is read back as written; other versions, foreign messages and implausible times are not checkpoints")
    func checkpointJSON() {
        let checkpoint = Self.checkpoint(["BTC-USD": Self.t0, "ETH-USD": Self.t0 - 1], released: true)
        #expect(ShardCheckpoint(json: checkpoint.jsonBytes()) == checkpoint)
        for text in [#"{"v":2,"shard":"coinbase-1","instance":"x","ts":1800000000000000000,"last":{}}"#,
                     #"{"v":1,"service":"ingestor"}"#, "not json",
                     #"{"v":1,"shard":"coinbase-1","instance":"x","ts":1800000000000000000,"last":{"BTC-USD":5}}"#] {
            #expect(ShardCheckpoint(json: Array(text.utf8)) == nil, "\(text)")
        }
    }
}
