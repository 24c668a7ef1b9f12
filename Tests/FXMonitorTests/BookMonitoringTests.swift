import FXContracts
import FXCore
import FXMonitor
import Testing

/// Order books in the monitor: each book's state from the ingestors' heartbeats, resyncs from `book` gap
/// events (not counted as gaps of the stream), and the alert for a book that keeps resyncing.
@Suite("Monitor: order books")
struct BookMonitoringTests {
    static let second: Int64 = 1_000_000_000
    static let t0: Int64 = 1_795_608_000 * second

    func heartbeat(now: Int64, books: [Heartbeat.Book]) -> Heartbeat {
        var beat = Heartbeat.ingestor(ts: now, source: "kraken", lastMessage: now)
        beat.ingestor?.connections[0].books = books
        return beat.received(at: now)
    }

    func book(_ symbol: String, state: String, epoch: Int64, resyncs: Int64, failure: Int64? = nil) -> Heartbeat.Book {
        Heartbeat.Book(symbol: symbol, venueSymbol: symbol, state: state, epoch: epoch, seq: 40, resyncs: resyncs,
                       lastChecksumFailureTs: failure, lastError: failure.map { _ in "checksum mismatch: venue 1, book 2" })
    }

    func resync(_ symbol: String, at now: Int64) -> GapEvent {
        GapEvent(source: "kraken", symbol: symbol, venueSymbol: symbol, from: now, to: now, reason: .book, detectedAt: now,
                 detail: "checksum mismatch", instance: "ing-1")
    }

    @Test("each book's state, epoch and resyncs come from the heartbeat; book gap events count as resyncs of the last hour, not as gaps")
    func booksView() {
        var board = StreamBoard()
        board.heartbeat(heartbeat(now: Self.t0, books: [book("BTC/USD", state: "in_sync", epoch: 1, resyncs: 0),
                                                        book("ETH/USD", state: "resyncing", epoch: 3, resyncs: 2, failure: Self.t0)]), now: Self.t0)
        board.gap(resync("ETH/USD", at: Self.t0), now: Self.t0)
        board.gap(resync("ETH/USD", at: Self.t0 + Self.second), now: Self.t0 + Self.second)
        let books = board.books(now: Self.t0 + 2 * Self.second)
        #expect(books.map(\.symbol) == ["BTC/USD", "ETH/USD"])
        #expect(books[0].state == "in_sync" && books[0].resyncsLastHour == 0 && books[0].instance == "ingestor:ing-1" && books[0].connection == "kraken-0")
        #expect(books[1].state == "resyncing" && books[1].epoch == 3 && books[1].resyncs == 2 && books[1].resyncsLastHour == 2)
        #expect(books[1].lastChecksumFailureTs == Self.t0 && books[1].lastError?.contains("checksum") == true)
        #expect(board.snapshot.first { $0.symbol == "ETH/USD" }?.gaps == 0, "a resync is not a gap of the stream")
        #expect(board.bookResyncsLastHour(now: Self.t0 + 3_601 * Self.second).isEmpty, "an hour later they are gone")
        // A stopped instance's books go with it.
        var stopping = heartbeat(now: Self.t0 + 3 * Self.second, books: [])
        stopping.stopping = true
        board.heartbeat(stopping, now: Self.t0 + 3 * Self.second)
        #expect(board.books(now: Self.t0 + 3 * Self.second).isEmpty)
    }

    @Test("a book resynced more than 6 times in an hour fires book_resyncs_frequent for that symbol, and resolves as they age out")
    func alert() {
        var engine = AlertEngine(rules: AlertRule.defaults)
        var inputs = AlertInputs(streams: [], instances: [])
        inputs.bookResyncsLastHour = ["kraken|ETH/USD": 6, "kraken|BTC/USD": 1]
        #expect(engine.evaluate(inputs, now: Self.t0).isEmpty, "6 is not above 6")
        inputs.bookResyncsLastHour["kraken|ETH/USD"] = 7
        let fired = engine.evaluate(inputs, now: Self.t0 + Self.second)
        #expect(fired.map(\.id) == ["book_resyncs_frequent:kraken:ETH/USD"] && fired.first?.severity == .warning)
        #expect(fired.first?.summary.contains("resynced 7 times") == true)
        inputs.bookResyncsLastHour = [:]
        #expect(engine.evaluate(inputs, now: Self.t0 + 3_600 * Self.second).map(\.status) == [.resolved])
    }
}
