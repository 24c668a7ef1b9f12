import FXContracts
import FXCore
import FXMonitor
import Testing

/// The monitor's whole state as one value, fed messages written by the services' own encoders, on an
/// injected clock: no Kafka, no lock, no logger.
@Suite("Monitor: one state value")
struct MonitorStateTests {
    typealias S = MonitorTestSupport
    static let start: Int64 = 1_795_608_000_000_000_000   // Wednesday 2026-11-25 12:00 UTC: markets open

    static func state() -> MonitorState {
        var settings = StreamBoard.Settings()
        settings.staleAfter = ["coinbase": .seconds(10)]
        settings.instanceMissingAfter = .seconds(15)
        return MonitorState(board: StreamBoard(settings: settings), latency: LatencyBook(window: .seconds(300), maxSources: 8),
                            pipeline: PipelineBook(), engine: AlertEngine(rules: AlertRule.defaults))
    }

    static func trade(at ts: Int64) -> [UInt8] {
        Tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", timestamp: ts, receivedAt: ts + 2_000_000, sequence: 7,
             payload: .trade(price: DecimalText("97000.5")!, size: DecimalText("0.01")!, side: .buy, tradeID: "42")).jsonBytes()
    }

    @Test("a tick makes its stream live; silence past its threshold makes it stale and, held, fires stream_stale")
    func silenceFires() {
        var state = Self.state()
        var now = Self.start
        #expect(state.apply(.health, Heartbeat.ingestor(ts: now, lastMessage: now).jsonBytes(), now: now).ignored.isEmpty)
        #expect(state.apply(.ticks, Self.trade(at: now - 1_000_000), now: now).ignored.isEmpty)
        let first = state.evaluate(now: now)
        #expect(first.streams.map(\.state) == [.live] && first.perState[.live] == 1)
        #expect(first.latencyP99["coinbase"] == 2, "exchange-to-receive 2 ms")
        // The ingestor keeps reporting (its connection silent too); the stream's last tick ages.
        for second in stride(from: 5, through: 60, by: 5) {
            now = Self.start + Int64(second) * 1_000_000_000
            _ = state.apply(.health, Heartbeat.ingestor(ts: now, lastMessage: Self.start).jsonBytes(), now: now)
            let evaluation = state.evaluate(now: now)
            if second == 15 { #expect(evaluation.streams.first?.state == .stale, "stale after 10 s without a tick") }
        }
        #expect(state.recentAlerts.contains { $0.id.hasPrefix("stream_stale:") && $0.status == .firing }, "held 30 s: firing")
    }

    @Test("a gap counts once per stream (bootstrap does not); a stopping heartbeat removes its instance at once")
    func gapsAndStopping() {
        var state = Self.state()
        let now = Self.start
        let gap = GapEvent(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", from: now - 5_000_000_000, to: now,
                           reason: .disconnect, detectedAt: now, detail: "test", instance: "ing-1")
        let applied = state.apply(.gaps, gap.jsonBytes(), now: now)
        #expect(applied.gap?.source == "coinbase" && applied.gap?.symbol == "BTC/USD")
        var bootstrap = gap
        bootstrap.reason = .bootstrap
        #expect(state.apply(.gaps, bootstrap.jsonBytes(), now: now).gap == nil)
        _ = state.apply(.health, Heartbeat.ingestor(ts: now, lastMessage: now).jsonBytes(), now: now)
        #expect(state.board.instanceCount == 1)
        var last = Heartbeat.ingestor(ts: now + 1, lastMessage: now)
        last.stopping = true
        #expect(state.apply(.health, last.jsonBytes(), now: now + 1).stoppedInstance == "ingestor:ing-1")
        #expect(state.board.instanceCount == 0)
    }

    @Test("input outside the contracts is set aside with its reason and changes nothing")
    func setAside() {
        var state = Self.state()
        #expect(state.apply(.ticks, Array("not json".utf8), now: Self.start).ignored == [.malformed])
        #expect(state.apply(.ticks, Self.trade(at: 5), now: Self.start).ignored == [.invalidTimestamp])
        #expect(state.apply(.health, Heartbeat(service: "Bad Name", instance: "x", timestamp: Self.start, startedAt: nil).jsonBytes(),
                            now: Self.start).ignored == [.invalidName])
        #expect(state.board.streamCount == 0 && state.board.instanceCount == 0)
    }

    @Test("a tick is read field by field: the whole value must still be one valid object with text names and integer times")
    func tickFields() {
        let ts = Self.start
        func decode(_ text: String) -> MonitorState.Message { MonitorState.decode(.ticks, Array(text.utf8), now: ts) }
        func isMalformed(_ text: String) -> Bool {
            if case .ignored(.malformed) = decode(text) { return true }
            return false
        }
        let body = #""source":"coinbase","symbol":"BTC/USD","ts":\#(ts)"#
        // Truncated, trailing data, not an object, a broken value after the needed fields.
        #expect(isMalformed("{\(body)"))
        #expect(isMalformed("{\(body)} {}"))
        #expect(isMalformed("[{\(body)}]"))
        #expect(isMalformed(#"{\#(body),"price":"1.5",}"#))
        #expect(isMalformed(#"{\#(body),"price":1.5.5}"#))
        // A required field missing or of the wrong kind.
        #expect(isMalformed(#"{"source":"coinbase","ts":\#(ts)}"#))
        #expect(isMalformed(#"{"source":"coinbase","symbol":"BTC/USD","ts":"\#(ts)"}"#))
        #expect(isMalformed(#"{"source":7,"symbol":"BTC/USD","ts":\#(ts)}"#))
        #expect(isMalformed(#"{"source":"coinbase","symbol":"BTC/USD","ts":\#(ts).5}"#))
        // Escapes decoded; venue_symbol defaults to the symbol; a repeated member counts as its last occurrence.
        guard case .tick(let source, let symbol, let venueSymbol, let time, let received) =
                decode(#"{"ts":1,"source":"coinbase","symbol":"BTC\/USD","ts":\#(ts),"recv_ts":\#(ts + 5)}"#) else {
            Issue.record("a valid tick was refused")
            return
        }
        #expect(source == "coinbase" && symbol == "BTC/USD" && venueSymbol == "BTC/USD" && time == ts && received == ts + 5)
        guard case .tick(_, _, let venue, _, let noReceived) = decode(#"{\#(body),"venue_symbol":"BTC-USD","recv_ts":null}"#) else {
            Issue.record("a valid tick was refused")
            return
        }
        #expect(venue == "BTC-USD" && noReceived == nil)
    }
}
