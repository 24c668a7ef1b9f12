import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXPostgres
import FXTestSupport

/// An independent batch recomputation of candles from distinct ticks (the specification the aggregator's
/// database must equal), and generators of tick logs.
enum Recomputation {
    struct Key: Hashable, CustomStringConvertible {
        var source, symbol, timeframe, priceType: String
        var bucket: Int64
        var description: String { "\(symbol) \(timeframe) \(priceType) @\(bucket)" }
    }

    struct Candle: Equatable, CustomStringConvertible {
        var open, high, low, close, volume, notional: Decimal
        var tickCount: Int64
        var description: String { "o=\(open) h=\(high) l=\(low) c=\(close) v=\(volume) n=\(tickCount)" }
    }

    /// Distinct ticks (trades by trade id, quotes by content), each expanded into price types and
    /// timeframes; open/close by (ts, seq, numeric trade id, identity).
    static func candles(_ ticks: [TickRecord], timeframes: [Timeframe], bidAsk: Bool = false) -> [Key: Candle] {
        var seen = Set<String>()
        var distinct: [TickRecord] = []
        for tick in ticks where seen.insert("\(tick.source)|\(tick.symbol)|\(tick.identity)").inserted { distinct.append(tick) }
        distinct.sort { a, b in
            if a.ts != b.ts { return a.ts < b.ts }
            if (a.seq ?? -1) != (b.seq ?? -1) { return (a.seq ?? -1) < (b.seq ?? -1) }
            let ai = a.tradeID ?? "", bi = b.tradeID ?? ""
            if ai.count != bi.count { return ai.count < bi.count }
            if ai != bi { return ai < bi }
            return Array(a.identity.utf8).lexicographicallyPrecedes(Array(b.identity.utf8))
        }
        var result: [Key: Candle] = [:]
        for tick in distinct {
            var points: [(String, Decimal, Decimal)] = []
            switch tick.kind {
            case .trade: points.append(("trade", Decimal(string: tick.price!.text)!, Decimal(string: tick.size!.text)!))
            case .quote:
                if let bid = tick.bid, let ask = tick.ask {
                    points.append(("mid", (Decimal(string: bid.text)! + Decimal(string: ask.text)!) / 2, 0))
                }
                if bidAsk, let bid = tick.bid { points.append(("bid", Decimal(string: bid.text)!, 0)) }
                if bidAsk, let ask = tick.ask { points.append(("ask", Decimal(string: ask.text)!, 0)) }
            }
            for (type, price, size) in points {
                for frame in timeframes {
                    let key = Key(source: tick.source, symbol: tick.symbol, timeframe: frame.name, priceType: type,
                                  bucket: frame.bucketStart(tick.ts))
                    if var candle = result[key] {
                        candle.high = max(candle.high, price)
                        candle.low = min(candle.low, price)
                        candle.close = price
                        candle.volume += size
                        candle.notional += price * size
                        candle.tickCount += 1
                        result[key] = candle
                    } else {
                        result[key] = Candle(open: price, high: price, low: price, close: price, volume: size,
                                             notional: price * size, tickCount: 1)
                    }
                }
            }
        }
        return result
    }

    /// What the database holds for `source`.
    static func stored(source: String, on connection: PostgresConnection) async throws -> [Key: Candle] {
        let rows = try await connection.query("""
            SELECT symbol, timeframe, price_type, (extract(epoch from bucket))::bigint * 1000000000 AS bucket_ns,
                   open::text, high::text, low::text, close::text, volume::text, notional::text, tick_count
            FROM candles WHERE source = $1
            """, [source])
        var result: [Key: Candle] = [:]
        for row in rows {
            let key = Key(source: source, symbol: row["symbol"]!, timeframe: row["timeframe"]!, priceType: row["price_type"]!,
                          bucket: Int64(row["bucket_ns"]!)!)
            result[key] = Candle(open: Decimal(string: row["open"]!)!, high: Decimal(string: row["high"]!)!,
                                 low: Decimal(string: row["low"]!)!, close: Decimal(string: row["close"]!)!,
                                 volume: Decimal(string: row["volume"]!)!, notional: Decimal(string: row["notional"]!)!,
                                 tickCount: Int64(row["tick_count"]!)!)
        }
        return result
    }

    /// A tick log: `count` ticks over `symbols`, trades (with ids) and quotes, ms-spaced event times with
    /// deliberate ties, exact decimals.
    static func ticks(source: String, symbols: [String], count: Int, start: Int64, seed: UInt64) -> [TickRecord] {
        messages(source: source, symbols: symbols, count: count, start: start, seed: seed).map { try! TickRecord(json: $0) }
    }

    /// The same log as `fx.ticks` JSON messages.
    static func messages(source: String, symbols: [String], count: Int, start: Int64, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        var tradeID = [String: Int](uniqueKeysWithValues: symbols.map { ($0, 1_000) })
        var seq = [String: Int64](uniqueKeysWithValues: symbols.map { ($0, 50) })
        var ts = start
        return (0..<count).map { _ in
            let symbol = symbols[Int(random.next() % UInt64(symbols.count))]
            ts += Int64(random.next() % 3) * 7_000_000   // 0, 7 or 14 ms: ties happen
            seq[symbol]! += 1
            let cents = 10_000 + Int(random.next() % 500)
            let price = "\(cents / 100).\(String(format: "%02d", cents % 100))"
            if random.next() % 3 == 0 {
                let spread = 1 + Int(random.next() % 4)
                let bid = "\(cents / 100).\(String(format: "%02d", cents % 100))"
                let askCents = cents + spread
                let ask = "\(askCents / 100).\(String(format: "%02d", askCents % 100))"
                return Array(#"{"v":1,"kind":"quote","source":"\#(source)","symbol":"\#(symbol)","venue_symbol":"x","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(seq[symbol]!),"bid":"\#(bid)","ask":"\#(ask)","bid_size":"1.5","ask_size":null}"#.utf8)
            }
            tradeID[symbol]! += 1
            let size = "0.\(String(format: "%06d", 1 + Int(random.next() % 999_999)))"
            return Array(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"\#(symbol)","venue_symbol":"x","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(seq[symbol]!),"price":"\#(price)","size":"\#(size)","side":"buy","trade_id":"\#(tradeID[symbol]!)"}"#.utf8)
        }
    }

    static func json(_ text: String) -> TickRecord { try! TickRecord(json: Array(text.utf8)) }

    /// Shuffled with `duplicateShare` of the ticks repeated at random places.
    static func disorder<T>(_ ticks: [T], duplicateShare: Double, seed: UInt64) -> [T] {
        var random = SplitMix64(seed: seed)
        var log = ticks
        for _ in 0..<Int(Double(ticks.count) * duplicateShare) { log.append(ticks[Int(random.next() % UInt64(ticks.count))]) }
        log.shuffle(using: &random)
        return log
    }
}
