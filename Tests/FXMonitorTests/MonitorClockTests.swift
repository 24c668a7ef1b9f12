import FXContracts
import FXCore
import FXMonitor
import Testing

/// The staleness watchdog measures silence on a monotonic clock; market hours and event times stay on
/// the wall clock.
@Suite("Monitor: silences on a monotonic clock")
struct MonitorClockTests {
    typealias S = MonitorTestSupport

    func board() -> StreamBoard {
        var settings = StreamBoard.Settings()
        settings.staleAfter = ["coinbase": .seconds(10)]
        return StreamBoard(settings: settings)
    }

    /// An ingestor heartbeat sent at `ts` (the ingestor's clock) reporting its connection's last message.
    func heartbeat(_ board: inout StreamBoard, ts: Int64, lastMessage: Int64, now: Int64) {
        board.heartbeat(Heartbeat.ingestor(ts: ts, lastMessage: lastMessage).received(at: now), now: now)
    }

    @Test("the monitor clock starts at the wall time and advances exactly with the monotonic clock")
    func clockReadings() {
        let start = ContinuousClock.now
        let clock = MonitorClock(wall: S.wednesday, start: start)
        #expect(clock.now(at: start) == S.wednesday)
        #expect(clock.now(at: start + .milliseconds(2_500)) == S.wednesday + 2_500_000_000)
        let first = clock.now()
        #expect(clock.now() >= first, "never backwards")
    }

    @Test("a wall clock stepping forward an hour does not make a live stream stale (1 s of monotonic time passed)")
    func wallStepForward() {
        var board = board()
        let now = S.wednesday
        heartbeat(&board, ts: now, lastMessage: now, now: now)
        board.tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", eventTs: now, now: now)
        #expect(board.evaluate(now: now, wall: now).streams.map(\.to) == [.live])
        heartbeat(&board, ts: now + S.second, lastMessage: now + S.second, now: now + S.second)
        #expect(board.evaluate(now: now + S.second, wall: now + 3_600 * S.second).streams.isEmpty, "still live")
    }

    @Test("the monitor's wall clock stepping back an hour does not hide a dead feed: stale after its threshold of monotonic time")
    func wallStepBack() {
        var board = board()
        let now = S.wednesday
        heartbeat(&board, ts: now, lastMessage: now, now: now)
        board.tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", eventTs: now, now: now)
        _ = board.evaluate(now: now, wall: now)
        let later = now + 11 * S.second
        let wall = now - 3_600 * S.second + 11 * S.second
        heartbeat(&board, ts: later, lastMessage: now, now: later)
        let stale = board.evaluate(now: later, wall: wall).streams
        #expect(stale.map(\.to) == [.stale], "\(board.snapshot.map(\.reason))")
    }
}
