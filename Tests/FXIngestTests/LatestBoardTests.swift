import FXContracts
import FXCore
import FXIngest
import Testing

@Suite("The hot layer: a connection's latest values")
struct LatestBoardTests {
    let t0: Int64 = 1_796_036_400_000_000_000

    func quote(_ venue: String, bid: String, ts: Int64) -> Tick {
        Tick(source: "coinbase", symbol: venue.replacingOccurrences(of: "-", with: "/"), venueSymbol: venue, timestamp: ts, receivedAt: ts,
             sequence: nil, payload: .quote(bid: DecimalText(bid), ask: nil, bidSize: nil, askSize: nil))
    }

    @Test("many ticks between two publications are one value per symbol, the newest; nothing changed is nothing to publish")
    func conflation() {
        var board = LatestBoard(source: "coinbase", instance: "i", symbols: ["BTC-USD": "BTC/USD", "ETH-USD": "ETH/USD"])
        for step in 0..<100 { board.apply(quote("BTC-USD", bid: "\(50_000 + step)", ts: t0 + Int64(step))) }
        board.apply(quote("ETH-USD", bid: "3000", ts: t0))
        let values = board.take()
        #expect(values.map(\.symbol) == ["BTC/USD", "ETH/USD"])
        #expect(values.first?.quote?.bid == DecimalText("50099"))
        #expect(board.take().isEmpty)
        board.market(venueSymbol: "ETH-USD", open: false, reason: "halted")
        #expect(board.take().map { "\($0.symbol) \($0.marketOpen) \($0.marketReason ?? "")" } == ["ETH/USD false halted"])
        board.market(venueSymbol: "ETH-USD", open: false, reason: "halted")
        #expect(board.take().isEmpty, "the same statement again changes nothing")
        board.apply(quote("XRP-USD", bid: "1", ts: t0))
        #expect(board.take().isEmpty, "a symbol the connection does not carry is not published")
        board.market(venueSymbol: "BTC-USD", open: true, reason: "")
        #expect(board.take().isEmpty, "an open market that was never closed is no change")
    }

    @Test("values come in symbol order whatever order they changed in; an older tick does not replace a newer one")
    func order() {
        var board = LatestBoard(source: "coinbase", instance: "i", symbols: ["SOL-USD": "SOL/USD", "ADA-USD": "ADA/USD", "BTC-USD": "BTC/USD"])
        board.apply(quote("SOL-USD", bid: "150", ts: t0 + 10))
        board.market(venueSymbol: "BTC-USD", open: false, reason: "maintenance")
        board.apply(quote("ADA-USD", bid: "1", ts: t0))
        board.apply(quote("SOL-USD", bid: "149", ts: t0 + 5))
        let values = board.take()
        #expect(values.map(\.venueSymbol) == ["ADA-USD", "BTC-USD", "SOL-USD"])
        #expect(values.last?.quote?.bid == DecimalText("150"))
        #expect(values[1].quote == nil && values[1].marketOpen == false)
    }
}
