import FXVenues
import FXCore
@testable import FXIngest
import Testing

/// 2026-11-20 was a Friday; times below are nanoseconds since the epoch, UTC.
private let friday2100: Int64 = 1_795_208_400 * 1_000_000_000
private let hour: Int64 = 3_600 * 1_000_000_000
private let second: Int64 = 1_000_000_000

private func tracker(hours: MarketHours = .continuous, sequence: Bool = true, connectionStale: Duration = .seconds(30),
                     symbolStale: Duration = .seconds(60), now: Int64 = friday2100) -> FeedTracker {
    FeedTracker(source: "sim", connectionID: "sim-0", instance: "test",
                settings: .init(connectionStaleAfter: connectionStale, symbolStaleAfter: symbolStale, tracksSequence: sequence),
                symbols: [(venue: "EUR-USD", symbol: "EUR/USD", hours: hours), (venue: "GBP-USD", symbol: "GBP/USD", hours: hours)],
                now: now)
}

@Suite("Feed tracker: gap windows, staleness and the forex week")
struct FeedTrackerTests {
    @Test("the forex market closes Friday 22:00 UTC and reopens Sunday 22:00 UTC")
    func forexHours() {
        #expect(MarketHours.forex.isOpen(at: friday2100))
        #expect(!MarketHours.forex.isOpen(at: friday2100 + hour))          // Friday 22:00
        #expect(!MarketHours.forex.isOpen(at: friday2100 + 24 * hour))     // Saturday 21:00
        #expect(!MarketHours.forex.isOpen(at: friday2100 + 49 * hour - 1)) // Sunday 21:59:59.999
        #expect(MarketHours.forex.isOpen(at: friday2100 + 49 * hour))      // Sunday 22:00
        #expect(MarketHours.forex.lastOpening(atOrBefore: friday2100 + 50 * hour) == friday2100 + 49 * hour)
        #expect(MarketHours.continuous.isOpen(at: friday2100 + 24 * hour))
    }

    @Test("a dropped connection opens a disconnect gap per symbol, closed by the first event after reconnecting")
    func disconnectWindow() {
        var t = tracker()
        t.connected(now: friday2100)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 1 * second, sequence: 10, now: friday2100 + 1 * second)
        t.disconnected(now: friday2100 + 2 * second, detail: "reset")
        t.connected(now: friday2100 + 3 * second)
        let gaps = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 4 * second, sequence: 25, now: friday2100 + 4 * second)
        #expect(gaps.count == 1)
        #expect(gaps.first?.reason == .disconnect)
        #expect(gaps.first?.from == friday2100 + 1 * second)
        #expect(gaps.first?.to == friday2100 + 4 * second)
        #expect(gaps.first?.symbol == "EUR/USD")
        #expect(t.reconnects == 1)
        // The jump 10 -> 25 across the reconnect is covered by the disconnect gap, not reported twice.
        #expect(t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 5 * second, sequence: 26, now: friday2100 + 5 * second).isEmpty)
    }

    @Test("a sequence jump is a gap between the two events; repeats and steps of one are not")
    func sequenceJump() {
        var t = tracker()
        t.connected(now: friday2100)
        #expect(t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 1, sequence: 100, now: friday2100).isEmpty)
        #expect(t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 2, sequence: 101, now: friday2100).isEmpty)
        #expect(t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 2, sequence: 101, now: friday2100).isEmpty)
        let gaps = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 9, sequence: 105, now: friday2100)
        #expect(gaps.map(\.reason) == [.sequence])
        #expect(gaps.first?.from == friday2100 + 2)
        #expect(gaps.first?.to == friday2100 + 9)
        #expect(gaps.first?.detail.contains("3 missing") == true)
    }

    @Test("trade-id mode: a jump in trade ids, or a heartbeat's last_trade_id ahead of the last trade, is a gap; seq jumps are not")
    func tradeIDJumps() {
        var t = FeedTracker(source: "sim", connectionID: "sim-0", instance: "test", settings: .init(sequenceCheck: .tradeID),
                            symbols: [(venue: "BTC-USD", symbol: "BTC/USD", hours: .continuous)], now: friday2100)
        t.connected(now: friday2100)
        #expect(t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 1, sequence: 100, tradeID: 10, now: friday2100).isEmpty)
        #expect(t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 2, sequence: 170, tradeID: 11, now: friday2100).isEmpty,
                "the full channel's numbering jumps on real Coinbase: not a gap")
        #expect(t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 3, sequence: 171, lastTradeID: 11, now: friday2100).isEmpty)
        #expect(t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 3, sequence: 172, lastTradeID: 0, now: friday2100).isEmpty,
                "a heartbeat without a trade id says nothing")
        let jump = t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 9, sequence: 180, tradeID: 15, now: friday2100)
        #expect(jump.first?.detail.contains("3 trade(s) missing") == true)
        let quiet = t.observe(venueSymbol: "BTC-USD", eventTs: friday2100 + 12, sequence: 190, lastTradeID: 17, now: friday2100)
        #expect(quiet.first?.detail.contains("2 trade(s) missing") == true, "the heartbeat reveals trades never received")
        #expect(quiet.first.map { ($0.from, $0.to) }! == (friday2100 + 9, friday2100 + 12))
    }

    @Test("a silent connection during open markets asks for a reconnect and opens stale gaps")
    func connectionStale() {
        var t = tracker(connectionStale: .seconds(10))
        t.connected(now: friday2100)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100, sequence: nil, now: friday2100)
        #expect(t.watchdog(now: friday2100 + 9 * second) == nil)
        #expect(t.watchdog(now: friday2100 + 11 * second) != nil)
        #expect(t.staleSymbols == 2)
        let gaps = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 20 * second, sequence: nil, now: friday2100 + 20 * second)
        #expect(gaps.map(\.reason) == [.stale])
        #expect(gaps.first.map { $0.to - $0.from } == 20 * second)
    }

    @Test("weekend silence on forex raises no stale gap; silence after the Sunday reopen does")
    func weekendSilence() {
        var t = tracker(hours: .forex, connectionStale: .seconds(10), symbolStale: .seconds(60))
        t.connected(now: friday2100)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + hour - second, sequence: nil, now: friday2100 + hour - second)
        _ = t.observe(venueSymbol: "GBP-USD", eventTs: friday2100 + hour - second, sequence: nil, now: friday2100 + hour - second)
        for minutes in stride(from: Int64(1), through: 48 * 60, by: 30) {
            #expect(t.watchdog(now: friday2100 + hour + minutes * 60 * second) == nil)
        }
        #expect(t.symbolsWithOpenGaps == 0)
        // Sunday 22:00:30 — within a minute of the reopen: still fine (silence counts from the reopen).
        #expect(t.watchdog(now: friday2100 + 49 * hour + 30 * second) != nil)  // no frames at all for 2 days: reconnect
        var quiet = tracker(hours: .forex, connectionStale: .seconds(3_600 * 72), symbolStale: .seconds(60))
        quiet.connected(now: friday2100)
        _ = quiet.watchdog(now: friday2100 + 49 * hour + 30 * second)
        #expect(quiet.symbolsWithOpenGaps == 0)
        _ = quiet.watchdog(now: friday2100 + 49 * hour + 61 * second)
        #expect(quiet.symbolsWithOpenGaps == 2)
    }

    @Test("gaps still open at shutdown are published up to the shutdown time")
    func closeAll() {
        var t = tracker()
        t.connected(now: friday2100)
        t.disconnected(now: friday2100 + second, detail: "gone")
        let gaps = t.closeAll(now: friday2100 + 5 * second)
        #expect(gaps.count == 2)
        #expect(gaps.allSatisfy { $0.to == friday2100 + 5 * second && $0.detail.contains("still open") })
    }
}

@Suite("Backoff and circuit breaker")
struct ResilienceTests {
    @Test("backoff waits are jittered within a doubling ceiling capped at the maximum")
    func backoff() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
        var generator = SystemRandomNumberGenerator()
        var ceilings: [Duration] = []
        for _ in 0..<8 {
            let ceiling = backoff.ceiling
            ceilings.append(ceiling)
            let wait = backoff.next(using: &generator)
            #expect(wait >= .zero && wait <= ceiling)
        }
        #expect(ceilings.prefix(5) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        #expect(ceilings.suffix(3).allSatisfy { $0 == .seconds(2) })
        backoff.reset()
        #expect(backoff.ceiling == .milliseconds(100))
    }

    @Test("a provider's attempt budget (Binance: 300 per 5 minutes) makes the next connection wait for the oldest attempt to leave the window")
    func attemptBudget() {
        let circuit = ProviderCircuit(provider: "binance", breaker: CircuitBreaker(failureThreshold: 1_000), attemptBudget: (3, .seconds(300)))
        let second: Int64 = 1_000_000_000
        #expect((0..<3).map { circuit.beforeConnecting(now: Int64($0) * second) } == [.proceed, .proceed, .proceed])
        #expect(circuit.beforeConnecting(now: 10 * second) == .waitUntil(300 * second), "the fourth waits until the first is 5 minutes old")
        #expect(circuit.beforeConnecting(now: 300 * second) == .proceed)
        #expect(circuit.beforeConnecting(now: 300 * second) == .waitUntil(301 * second))
        let unlimited = ProviderCircuit(provider: "coinbase", breaker: CircuitBreaker(failureThreshold: 1_000))
        #expect((0..<1_000).allSatisfy { unlimited.beforeConnecting(now: Int64($0)) == .proceed })
    }

    @Test("the breaker opens after consecutive failures, lets one trial through, and closes on success")
    func breaker() {
        var breaker = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(10))
        for _ in 0..<2 { breaker.recordFailure(now: 0) }
        #expect(breaker.beforeConnecting(now: 0) == .proceed)
        breaker.recordFailure(now: 0)
        #expect(breaker.state == .open)
        #expect(breaker.beforeConnecting(now: 5 * second) == .waitUntil(10 * second))
        #expect(breaker.beforeConnecting(now: 10 * second) == .proceed)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.beforeConnecting(now: 10 * second) == .waitUntil(11 * second))
        breaker.recordFailure(now: 10 * second)
        #expect(breaker.beforeConnecting(now: 25 * second) == .waitUntil(30 * second))  // doubled to 20 s
        #expect(breaker.beforeConnecting(now: 30 * second) == .proceed)
        breaker.recordSuccess()
        #expect(breaker.state == .closed)
    }

    @Test("a market the venue says is closed is quiet: no stale gap while closed and heartbeats come; after it reopens, silence counts from then")
    func venueClosedMarket() {
        var t = tracker(connectionStale: .seconds(10), symbolStale: .seconds(30))
        t.connected(now: friday2100)
        t.subscribed(now: friday2100, acknowledged: false)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100, sequence: nil, now: friday2100)
        _ = t.observe(venueSymbol: "GBP-USD", eventTs: friday2100, sequence: nil, now: friday2100)
        _ = t.marketState(venueSymbol: "EUR-USD", open: false, reason: "not tradeable (OANDA)", now: friday2100 + second)
        _ = t.marketState(venueSymbol: "GBP-USD", open: false, reason: "not tradeable (OANDA)", now: friday2100 + second)
        #expect(t.closedMarkets == ["EUR/USD": "not tradeable (OANDA)", "GBP/USD": "not tradeable (OANDA)"])
        // An hour of heartbeats only: every market is closed, so no stale gap.
        for minute in stride(from: Int64(1), through: 60, by: 1) {
            t.frameReceived(now: friday2100 + minute * 60 * second)
            #expect(t.watchdog(now: friday2100 + minute * 60 * second) == nil)
        }
        #expect(t.staleSymbols == 0 && t.symbolsWithOpenGaps == 0)
        _ = t.marketState(venueSymbol: "EUR-USD", open: true, reason: "tradeable", now: friday2100 + 60 * 60 * second)
        #expect(t.closedMarkets == ["GBP/USD": "not tradeable (OANDA)"])
        t.frameReceived(now: friday2100 + 60 * 60 * second + 5 * second)
        #expect(t.watchdog(now: friday2100 + 60 * 60 * second + 5 * second) == nil)
        #expect(t.staleSymbols == 0, "reopened 5 s ago: not stale yet")
        t.frameReceived(now: friday2100 + 60 * 60 * second + 35 * second)
        _ = t.watchdog(now: friday2100 + 60 * 60 * second + 35 * second)
        #expect(t.staleSymbols == 1, "the reopened market silent past the limit is stale; the closed one is not")
    }

    @Test("a recovered session (the venue resends what it sent) withdraws the gaps the loss and the silence opened, not a symbol's own silence; market states stand")
    func recoveredSession() {
        var t = tracker(connectionStale: .seconds(10), symbolStale: .seconds(30))
        t.connected(now: friday2100)
        t.subscribed(now: friday2100, acknowledged: false)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100, sequence: nil, now: friday2100)
        _ = t.marketState(venueSymbol: "GBP-USD", open: false, reason: "CLOSED (IG)", now: friday2100)
        t.disconnected(now: friday2100 + second, detail: "reset")
        #expect(t.symbolsWithOpenGaps == 2 && t.closedMarkets.isEmpty)
        t.connected(now: friday2100 + 2 * second)
        t.recovered()
        #expect(t.symbolsWithOpenGaps == 0, "nothing is missing after a recovery")
        #expect(t.closedMarkets == ["GBP/USD": "CLOSED (IG)"], "a recovered session does not say the market state again")
        #expect(t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 3 * second, sequence: nil, now: friday2100 + 3 * second).isEmpty)
        // A symbol silent past its own limit stays open through a recovery: the venue sent nothing for it.
        t.frameReceived(now: friday2100 + 40 * second)
        #expect(t.watchdog(now: friday2100 + 40 * second) == nil)
        #expect(t.staleSymbols == 1, "EUR/USD silent for 37 s; GBP/USD closed")
        t.recovered()
        #expect(t.staleSymbols == 1)
    }

    @Test("the venue's word that it dropped updates (Lightstreamer OV) is a sequence gap from the symbol's last event to its next")
    func venueDroppedUpdates() {
        var t = tracker(sequence: false)
        t.connected(now: friday2100)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + second, sequence: nil, now: friday2100 + second)
        t.lost(venueSymbol: "EUR-USD", count: 3)
        #expect(t.observe(venueSymbol: "GBP-USD", eventTs: friday2100 + 2 * second, sequence: nil, now: friday2100 + 2 * second).isEmpty)
        let gaps = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100 + 5 * second, sequence: nil, now: friday2100 + 5 * second)
        #expect(gaps.count == 1 && gaps.first?.reason == .sequence)
        #expect(gaps.first?.from == friday2100 + second && gaps.first?.to == friday2100 + 5 * second && gaps.first?.detail.contains("3 update") == true)
    }

    @Test("a venue-closed market does not hide a dead connection: no frame at all past the limit is a reconnect, closed or not; a reconnect forgets the word")
    func closedButDead() {
        var t = tracker(connectionStale: .seconds(10), symbolStale: .seconds(30))
        t.connected(now: friday2100)
        t.subscribed(now: friday2100, acknowledged: false)
        _ = t.marketState(venueSymbol: "EUR-USD", open: false, reason: "CLOSED (IG)", now: friday2100)
        _ = t.marketState(venueSymbol: "GBP-USD", open: false, reason: "CLOSED (IG)", now: friday2100)
        #expect(t.watchdog(now: friday2100 + 11 * second) != nil, "a silent connection is dead even with every market closed")
        t.disconnected(now: friday2100 + 11 * second, detail: "stale")
        #expect(t.closedMarkets.isEmpty)
    }

    @Test("a disconnect gap ends where the venue says the market closed (a weekend reconnect does not report the weekend)")
    func closedStatementClosesGap() {
        var t = tracker()
        t.connected(now: friday2100)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: friday2100, sequence: nil, now: friday2100)
        t.disconnected(now: friday2100 + 30 * second, detail: "reset")
        t.connected(now: friday2100 + 24 * hour)
        let gaps = t.marketState(venueSymbol: "EUR-USD", open: false, reason: "not tradeable (OANDA)", eventTs: friday2100 + hour,
                                 now: friday2100 + 24 * hour)
        #expect(gaps.count == 1 && gaps.first?.from == friday2100 && gaps.first?.to == friday2100 + hour && gaps.first?.reason == .disconnect)
        #expect(t.symbolsWithOpenGaps == 1, "GBP-USD, never said closed, keeps its gap")
    }
}
