import FXContracts
import FXCore
import FXMonitor
import Testing

/// Stream states from ticks and heartbeats, with the clock injected.
@Suite("Monitor: stream states and instance liveness")
struct StreamBoardTests {
    static let second: Int64 = 1_000_000_000
    /// Wednesday 2026-11-25 12:00 UTC (forex open) and Saturday 2026-11-28 12:00 UTC (forex closed).
    static let wednesday: Int64 = 1_795_608_000 * second
    static let saturday: Int64 = wednesday + 3 * 86_400 * second

    func ingestor(_ board: inout StreamBoard, source: String = "coinbase", state: ConnectionState = .streaming, lastMessage: Int64?,
                  staleSymbols: Int64 = 0, now: Int64) {
        board.heartbeat(Heartbeat.ingestor(ts: now, source: source, state: state, lastMessage: lastMessage, staleSymbols: staleSymbols).received(at: now),
                        now: now)
    }

    func settings(staleAfter: Duration = .seconds(10)) -> StreamBoard.Settings {
        var settings = StreamBoard.Settings()
        settings.staleAfter = ["coinbase": staleAfter, "finnhub": staleAfter, "oanda": staleAfter]
        return settings
    }

    @Test("live while ticks arrive; stale once silent beyond the threshold with the feed silent too; live again on the next tick")
    func silence() {
        var board = StreamBoard(settings: settings())
        var now = Self.wednesday
        ingestor(&board, lastMessage: now, now: now)
        board.tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", eventTs: now, now: now)
        #expect(board.evaluate(now: now).streams.map(\.to) == [.live])
        now += 9 * Self.second
        ingestor(&board, lastMessage: Self.wednesday, now: now)
        #expect(board.evaluate(now: now).streams.isEmpty, "still live at 9 s")
        now += 2 * Self.second
        ingestor(&board, lastMessage: Self.wednesday, now: now)
        let stale = board.evaluate(now: now).streams
        #expect(stale.map(\.to) == [.stale] && stale.first?.from == .live)
        #expect(board.snapshot.first?.reason == "no data for 11 s while the market is open")
        #expect(board.evaluate(now: now + Self.second).streams.isEmpty, "a state change is reported once")
        board.tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", eventTs: now, now: now + 2 * Self.second)
        #expect(board.evaluate(now: now + 2 * Self.second).streams.map(\.to) == [.live])
    }

    @Test("no trades while the connection keeps receiving provider messages is quiet, not stale; a stale symbol count makes it stale")
    func quietFeed() {
        var board = StreamBoard(settings: settings())
        let start = Self.wednesday
        ingestor(&board, lastMessage: start, now: start)
        board.tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", eventTs: start, now: start)
        _ = board.evaluate(now: start)
        let later = start + 30 * Self.second
        ingestor(&board, lastMessage: later - Self.second, now: later)
        #expect(board.evaluate(now: later).streams.map(\.to) == [.quiet])
        ingestor(&board, lastMessage: later, staleSymbols: 1, now: later + Self.second)
        #expect(board.evaluate(now: later + Self.second).streams.map(\.to) == [.stale])
    }

    @Test("a forex stream over the weekend close is quiet, not stale; a crypto stream of the same venue is stale")
    func weekend() {
        var board = StreamBoard(settings: settings())
        let friday = Self.saturday - 20 * 3_600 * Self.second   // Friday 16:00 UTC: open
        ingestor(&board, source: "finnhub", lastMessage: friday, now: friday)
        board.tick(source: "finnhub", symbol: "EUR/USD", venueSymbol: "OANDA:EUR_USD", eventTs: friday, now: friday)
        board.tick(source: "finnhub", symbol: "BTC/USDT", venueSymbol: "BINANCE:BTCUSDT", eventTs: friday, now: friday)
        _ = board.evaluate(now: friday)
        ingestor(&board, source: "finnhub", lastMessage: friday, staleSymbols: 2, now: Self.saturday)
        let changes = Dictionary(uniqueKeysWithValues: board.evaluate(now: Self.saturday).streams.map { ($0.symbol, $0.to) })
        #expect(changes == ["EUR/USD": .quiet, "BTC/USDT": .stale])
        #expect(board.snapshot.first { $0.symbol == "EUR/USD" }?.reason == "market closed")
    }

    @Test("a market its venue says is closed (OANDA tradeable:false, in the ingestor heartbeat) is quiet with the venue's reason, on a weekday too; open again, silence is stale")
    func venueClosed() {
        var board = StreamBoard(settings: settings())
        var now = Self.wednesday
        func beat(_ closed: [String: String], lastMessage: Int64, staleSymbols: Int64 = 0) {
            board.heartbeat(Heartbeat.ingestor(ts: now, source: "oanda", lastMessage: lastMessage, staleSymbols: staleSymbols,
                                               marketClosed: closed).received(at: now), now: now)
        }
        beat([:], lastMessage: now)
        board.tick(source: "oanda", symbol: "EUR/USD", venueSymbol: "EUR_USD", eventTs: now, now: now)
        _ = board.evaluate(now: now)
        now += 60 * Self.second
        beat(["EUR/USD": "not tradeable (OANDA)"], lastMessage: now - 70 * Self.second)
        #expect(board.evaluate(now: now).streams.map(\.to) == [.quiet])
        #expect(board.snapshot.first?.reason == "market closed: not tradeable (OANDA)")
        now += Self.second
        beat([:], lastMessage: now - 71 * Self.second, staleSymbols: 1)
        #expect(board.evaluate(now: now).streams.map(\.to) == [.stale], "reopened and silent")
    }

    @Test("streams are down when their source's connections are not streaming, or when no ingestor is heard from; the missing instance is reported once")
    func down() {
        var board = StreamBoard(settings: settings())
        var now = Self.wednesday
        ingestor(&board, lastMessage: now, now: now)
        board.tick(source: "coinbase", symbol: "ETH/USD", venueSymbol: "ETH-USD", eventTs: now, now: now)
        _ = board.evaluate(now: now)
        now += Self.second
        ingestor(&board, state: .backoff, lastMessage: now - Self.second, now: now)
        #expect(board.evaluate(now: now).streams.map(\.to) == [.down])
        #expect(board.snapshot.first?.reason == "no coinbase connection is streaming (backoff)")
        now += 16 * Self.second   // no heartbeat for 16 s
        let missing = board.evaluate(now: now)
        #expect(missing.instances.map(\.alive) == [false] && missing.instances.first?.key == "ingestor:ing-1")
        #expect(board.snapshot.first?.reason == "no ingestor heartbeat for 15 s")
        #expect(board.evaluate(now: now + Self.second).instances.isEmpty)
        ingestor(&board, lastMessage: now, now: now + 2 * Self.second)
        board.tick(source: "coinbase", symbol: "ETH/USD", venueSymbol: "ETH-USD", eventTs: now, now: now + 2 * Self.second)
        let back = board.evaluate(now: now + 2 * Self.second)
        #expect(back.instances.map(\.alive) == [true])
        #expect(back.streams.map(\.to) == [.live])
    }

    @Test("a retention gap (the aggregator does not know the venue symbol: empty) is counted, not ignored as an invalid name")
    func retentionGap() {
        var board = StreamBoard(settings: settings())
        let now = Self.wednesday
        let gap = GapEvent(source: "coinbase", symbol: "BTC/USD", venueSymbol: "", from: now - 600 * Self.second, to: now, reason: .retention,
                           detectedAt: now, detail: "offsets 3..<6 of fx.ticks[0] were deleted by retention", instance: "agg-1")
        #expect(board.gap(gap, now: now) == nil)
        #expect(board.gapsLastHour(now: now) == ["coinbase|BTC/USD": 1])
    }
}
