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

    @Test("ticks added one by one give the candle of combining them in any grouping")
    func addingEqualsCombining() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let count = Int.random(in: 1...40, using: &generator)
            let ticks: [(price: DecimalText, size: ExactDecimal, key: String, ts: Int64, partition: Int32)] = try (0..<count).map { index in
                let price = try #require(DecimalText("\(Int.random(in: 1...500, using: &generator)).\(Int.random(in: 0...99, using: &generator))"))
                let sizeText = try #require(DecimalText("0.\(Int.random(in: 1...999, using: &generator))"))
                let size = try #require(ExactDecimal(sizeText))
                let ts = Int64.random(in: 0...1_000, using: &generator)
                let digits = String(ts)
                return (price, size, String(repeating: "0", count: 20 - digits.count) + digits + "|\(index)", ts, Int32.random(in: 0...3, using: &generator))
            }
            func point(_ tick: (price: DecimalText, size: ExactDecimal, key: String, ts: Int64, partition: Int32)) throws -> CandleAccumulator.Point {
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
            func combined(_ group: ArraySlice<(price: DecimalText, size: ExactDecimal, key: String, ts: Int64, partition: Int32)>) throws -> CandleAccumulator.Point {
                var result = try point(group[group.startIndex])
                for tick in group.dropFirst() { result.combine(try point(tick)) }
                return result
            }
            var first = try combined(shuffled[..<split])
            if split < shuffled.count { first.combine(try combined(shuffled[split...])) }
            #expect(added.open == first.open && added.openKey == first.openKey && added.close == first.close && added.closeKey == first.closeKey)
            #expect(added.high == first.high && added.low == first.low && added.openTs == first.openTs && added.closeTs == first.closeTs)
            #expect(added.volume.decimalText == first.volume.decimalText && added.notional.decimalText == first.notional.decimalText && added.tickCount == first.tickCount
                        && added.tickCount == Int64(count) && added.partition == first.partition)
        }
    }
}
