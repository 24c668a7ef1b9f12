@testable import FXCandles
import FXCore
import Testing

/// `CandleAccumulator`: combining a flush's ticks in memory gives the same candle whichever way the
/// ticks are grouped, and orders them by their order keys as PostgreSQL's `COLLATE "C"` does.
@Suite("Candle accumulator")
struct CandleAccumulatorTests {
    @Test("order keys compare byte by byte, a prefix first, as COLLATE \"C\" (non-ASCII bytes above ASCII)")
    func byteOrder() {
        let keys = ["", "0", "01", "01795300000000000000|1", "01795300000000000000|10", "01795300000000000001", "a", "b", "é", "z€", "€"]
        for a in keys {
            for b in keys {
                #expect(CandleAccumulator.Point.precedes(a, b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(a) vs \(b)")
            }
        }
    }

    @Test("a tick's order compares field by field exactly as its order key text compares byte by byte")
    func orderMatchesText() {
        var generator = SystemRandomNumberGenerator()
        let ids: [String?] = [nil, "", "7", "42", "987", "1000", "abc", "ab", "é", "e\u{301}", "z"]
        let identities = ["t:1", "t:2", "T:5::1.5:0", "q:1:2:1.1::2.5:", "é", "e\u{301}"]
        let orders: [TickOrder] = (0..<400).map { _ in
            TickOrder(ts: Int64.random(in: 1_795_000_000_000_000_000...1_795_000_000_000_000_003, using: &generator),
                      seq: Bool.random(using: &generator) ? nil : Int64.random(in: 0...3, using: &generator),
                      tradeID: ids.randomElement(using: &generator)!, identity: identities.randomElement(using: &generator)!)
        }
        for a in orders.prefix(80) {
            for b in orders {
                #expect((a < b) == CandleAccumulator.Point.precedes(a.text, b.text), "\(a.text) vs \(b.text)")
                #expect((a == b) == (a.text.utf8.elementsEqual(b.text.utf8)))
            }
        }
        #expect(TickOrder(ts: 1_795_300_000_000_000_000, seq: 41, tradeID: "987", identity: "t:987").text
                    == "01795300000000000000|00000000000000000042|0003987|t:987")
    }

    @Test("ticks added one by one give the candle of combining them in any grouping")
    func addingEqualsCombining() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let count = Int.random(in: 1...40, using: &generator)
            let ticks: [(price: DecimalText, size: ExactDecimal, key: TickOrder, ts: Int64, partition: Int32)] = try (0..<count).map { index in
                let price = try #require(DecimalText("\(Int.random(in: 1...500, using: &generator)).\(Int.random(in: 0...99, using: &generator))"))
                let sizeText = try #require(DecimalText("0.\(Int.random(in: 1...999, using: &generator))"))
                let size = try #require(ExactDecimal(sizeText))
                let ts = Int64.random(in: 0...1_000, using: &generator)
                return (price, size, TickOrder(ts: ts, seq: Int64(index), tradeID: nil, identity: "i\(index)"), ts, Int32.random(in: 0...3, using: &generator))
            }
            func point(_ tick: (price: DecimalText, size: ExactDecimal, key: TickOrder, ts: Int64, partition: Int32)) throws -> CandleAccumulator.Point {
                CandleAccumulator.Point(price: tick.price, size: tick.size, notional: try #require(ExactDecimal(tick.price)) * tick.size,
                                        orderKey: tick.key, ts: tick.ts, partition: tick.partition)
            }
            var added = try point(ticks[0])
            for tick in ticks.dropFirst() {
                added.add(price: tick.price, size: tick.size, notional: try #require(ExactDecimal(tick.price)) * tick.size,
                          orderKey: tick.key, ts: tick.ts, partition: tick.partition)
            }
            // Combined in a shuffled order, in two groups.
            let shuffled = ticks.shuffled(using: &generator)
            let split = Int.random(in: 1...shuffled.count, using: &generator)
            func combined(_ group: ArraySlice<(price: DecimalText, size: ExactDecimal, key: TickOrder, ts: Int64, partition: Int32)>) throws -> CandleAccumulator.Point {
                var result = try point(group[group.startIndex])
                for tick in group.dropFirst() { result.combine(try point(tick)) }
                return result
            }
            var first = try combined(shuffled[..<split])
            if split < shuffled.count { first.combine(try combined(shuffled[split...])) }
            #expect(added.open == first.open && added.openKey.text == first.openKey.text && added.close == first.close && added.closeKey.text == first.closeKey.text)
            #expect(added.high == first.high && added.low == first.low && added.openTs == first.openTs && added.closeTs == first.closeTs)
            #expect(added.volume.decimalText == first.volume.decimalText && added.notional.decimalText == first.notional.decimalText && added.tickCount == first.tickCount
                        && added.tickCount == Int64(count) && added.partition == first.partition)
        }
    }
}
