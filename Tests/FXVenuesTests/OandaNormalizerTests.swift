import FXContracts
import Foundation
import FXCore
import FXVenues
import Testing

@Suite("OANDA pricing stream lines to normalized quotes")
struct OandaNormalizerTests {
    let normalizer = OandaNormalizer()

    private func events(_ text: String) -> [NormalizedEvent] {
        normalizer.normalize(Array(text.utf8), receivedAt: 5)
    }

    static let price = #"{"type":"PRICE","time":"2026-12-04T10:00:00.123456789Z","bids":[{"price":"1.09177","liquidity":10000000},{"price":"1.09176","liquidity":5000000}],"asks":[{"price":"1.09189","liquidity":10000000},{"price":"1.09191","liquidity":5000000}],"closeoutBid":"1.09162","closeoutAsk":"1.09204","status":"tradeable","tradeable":true,"instrument":"EUR_USD"}"#

    @Test("a PRICE is a quote of the best bid and ask with their liquidity, exact decimals from the strings, time to the nanosecond")
    func quote() {
        let ts = Timestamps.nanoseconds(rfc3339: "2026-12-04T10:00:00.123456789Z")!
        #expect(events(Self.price) == [
            .marketState(venueSymbol: "EUR_USD", open: true, reason: "tradeable", timestamp: ts),
            .tick(Tick(source: "oanda", symbol: "EUR/USD", venueSymbol: "EUR_USD", timestamp: ts, receivedAt: 5, sequence: nil,
                       payload: .quote(bid: DecimalText("1.09177"), ask: DecimalText("1.09189"),
                                       bidSize: DecimalText("10000000"), askSize: DecimalText("10000000")))),
        ])
        #expect(ts % 1_000 == 789, "nanoseconds kept")
        // Levels out of order: the best is chosen, not the first.
        let shuffled = Self.price.replacingOccurrences(of: #""bids":[{"price":"1.09177","liquidity":10000000},{"price":"1.09176","liquidity":5000000}]"#,
                                                       with: #""bids":[{"price":"1.09176","liquidity":5000000},{"price":"1.09177","liquidity":10000000}]"#)
        guard case .tick(let tick)? = events(shuffled).last, case .quote(let bid, _, _, _) = tick.payload else { Issue.record("no quote"); return }
        #expect(bid == DecimalText("1.09177"))
    }

    @Test("tradeable:false says the market is closed and publishes no quote; a HEARTBEAT is proof of life")
    func closedAndHeartbeat() {
        let closed = events(Self.price.replacingOccurrences(of: #""tradeable":true"#, with: #""tradeable":false"#))
        guard closed.count == 1, case .marketState("EUR_USD", false, let reason, _) = closed[0] else { Issue.record("\(closed)"); return }
        #expect(reason.contains("not tradeable"))
        #expect(events(#"{"type":"HEARTBEAT","time":"2026-12-04T10:00:05.000000000Z"}"#) == [.control("heartbeat")])
    }

    @Test("bad lines are rejects with a reason: not JSON, unknown type, no instrument, bad time, a price as a JSON number, crossed, none at all")
    func rejects() {
        func reason(_ text: String) -> RejectReason? {
            if case .reject(let reason, _)? = events(text).first { return reason }
            return nil
        }
        #expect(reason(#"{"type":"PRICE","instrument""#) == .malformedJSON)
        #expect(reason(#"{"type":"ORDER_FILL"}"#) == .unknownType)
        #expect(reason(#"{"time":"2026-12-04T10:00:00Z"}"#) == .missingField)
        #expect(reason(Self.price.replacingOccurrences(of: #""instrument":"EUR_USD""#, with: #""instrument":"EURUSD""#)) == .unmappedSymbol)
        #expect(reason(Self.price.replacingOccurrences(of: "2026-12-04T10:00:00.123456789Z", with: "yesterday")) == .invalidTimestamp)
        #expect(reason(Self.price.replacingOccurrences(of: #""price":"1.09177""#, with: #""price":1.09177"#)) == .invalidPrice)
        #expect(reason(Self.price.replacingOccurrences(of: #""price":"1.09189""#, with: #""price":"1.09000""#)) == .invalidPrice, "crossed")
        #expect(reason(#"{"type":"PRICE","time":"2026-12-04T10:00:00Z","instrument":"EUR_USD","tradeable":true,"bids":[],"asks":[]}"#) == .missingField)
    }
}
