import FXCandles
import FXAggregate
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// Repairs from REST history go through the aggregator's store, under the documented merge rule.
@Suite("Candle store: repairs from REST history", .tags(.integration))
struct CandleRepairTests {
    static let minute: Int64 = 60_000_000_000
    static let second: Int64 = 1_000_000_000
    /// A 5-minute boundary: minutes A, B, C are the first three of one 5m bucket.
    static let a: Int64 = 1_795_000_200 * second / (5 * minute) * (5 * minute)
    static let b = a + minute
    static let c = a + 2 * minute

    func trade(_ source: String, _ ts: Int64, _ price: String, _ size: String, id: Int) -> TickRecord {
        Recomputation.json(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"BTC/USD","venue_symbol":"BTC-USD","ts":\#(ts),"recv_ts":\#(ts),"price":"\#(price)","size":"\#(size)","side":"buy","trade_id":"\#(id)"}"#)
    }

    func rest(_ start: Int64, _ o: String, _ h: String, _ l: String, _ c: String, _ v: String) -> HistoryCandle {
        HistoryCandle(start: start, open: DecimalText(o)!, high: DecimalText(h)!, low: DecimalText(l)!, close: DecimalText(c)!, volume: DecimalText(v)!)
    }

    func row(_ connection: PostgresConnection, _ source: String, _ timeframe: String, _ bucket: Int64) async throws -> PostgresRow? {
        try await connection.query("""
            SELECT open::text, high::text, low::text, close::text, volume::text, tick_count, vwap::text, origin, revision
            FROM candles WHERE source = $1 AND symbol = 'BTC/USD' AND timeframe = $2 AND price_type = 'trade'
              AND bucket = to_timestamp($3::bigint)
            """, [source, timeframe, bucket / Self.second]).first
    }

    func expect(_ row: PostgresRow?, _ values: [String: String], _ what: String) {
        guard let row else {
            Issue.record("\(what): no row")
            return
        }
        for (column, value) in values {
            let stored = row[column]
            let equal = DecimalText(value).map { stored.flatMap(DecimalText.init) == $0 } ?? (stored == value)
            #expect(equal, "\(what) \(column): \(stored ?? "nil"), expected \(value)")
        }
    }

    @Test("a minute inside the gap takes the REST candle; boundary minutes merge; the 5m candle is recomputed; a second fill changes nothing")
    func repairRule() async throws {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        let source = TestEnvironment.uniqueName("repair")
        let store = FencedCandleStore(timeframes: ["1m", "5m", "1h"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: source, topic: "ticks")
        let lease = try await store.claim(partition: 0, owner: "test", on: connection)
        // Streamed: two trades before the gap (minute A), two after it (minute C).
        let streamed = [trade(source, Self.a + 5 * Self.second, "100.00", "1", id: 1), trade(source, Self.a + 20 * Self.second, "101.00", "1", id: 2),
                        trade(source, Self.c + 30 * Self.second, "99.50", "2", id: 3), trade(source, Self.c + 50 * Self.second, "99.80", "1", id: 4)]
        _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 4, ticks: streamed)], on: connection)
        let history = [rest(Self.a, "100.00", "102.50", "99.90", "102.00", "5"), rest(Self.b, "102.00", "103", "101", "101.50", "4"),
                       rest(Self.c, "101.40", "101.40", "99.00", "99.80", "6")]
        let from = Self.a + 20 * Self.second, to = Self.c + 30 * Self.second
        let changed = try await store.candles.repair(source: source, symbol: "BTC/USD", from: from, to: to, candles: history, on: connection)
        #expect(Set(changed.map(\.timeframe)) == ["1m", "5m", "1h"])
        #expect(changed.filter { $0.timeframe == "1m" }.count == 3)

        // A: open from the stream (earlier side), close from REST (later side), extremes, the larger volume.
        expect(try await row(connection, source, "1m", Self.a),
               ["open": "100", "close": "102", "high": "102.5", "low": "99.9", "volume": "5", "tick_count": "2", "origin": "merged"], "A")
        #expect(try await row(connection, source, "1m", Self.a)?["vwap"] == nil, "vwap is unknown where REST supplied the volume")
        // B: wholly inside the gap: the REST candle.
        expect(try await row(connection, source, "1m", Self.b),
               ["open": "102", "close": "101.5", "high": "103", "low": "101", "volume": "4", "tick_count": "0", "origin": "backfill"], "B")
        // C: open from REST (earlier side), close from the stream (later side).
        expect(try await row(connection, source, "1m", Self.c),
               ["open": "101.4", "close": "99.8", "high": "101.4", "low": "99", "volume": "6", "tick_count": "2", "origin": "merged"], "C")
        // 5m and 1h: recomputed from the minutes.
        for timeframe in ["5m", "1h"] {
            let bucket = timeframe == "5m" ? Self.a : Self.a / (60 * Self.minute) * (60 * Self.minute)
            expect(try await row(connection, source, timeframe, bucket),
                   ["open": "100", "close": "99.8", "high": "103", "low": "99", "volume": "15", "tick_count": "4", "origin": "merged"], timeframe)
        }
        let revisions = try await connection.query("SELECT sum(revision) AS r FROM candles WHERE source = $1", [source]).first?["r"]

        // The same fill again: no row changes, no new revision.
        let again = try await store.candles.repair(source: source, symbol: "BTC/USD", from: from, to: to, candles: history, on: connection)
        #expect(again.isEmpty, "a second fill changes nothing: \(again.map { "\($0.timeframe)@\($0.start)" })")
        #expect(try await connection.query("SELECT sum(revision) AS r FROM candles WHERE source = $1", [source]).first?["r"] == revisions)

        // A streamed tick that reaches the store after the repair: the venue's candle already counts it.
        let late = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 5,
                                                ticks: [trade(source, Self.b + 10 * Self.second, "102.20", "0.5", id: 5)])], on: connection)
        expect(try await row(connection, source, "1m", Self.b), ["volume": "4", "tick_count": "1", "origin": "merged", "high": "103"], "B after a late tick")
        expect(try await row(connection, source, "5m", Self.a), ["volume": "15", "tick_count": "5", "high": "103"], "5m after a late tick")
        #expect(late.contains { $0.timeframe == "5m" && $0.volume == DecimalText("15") }, "the published 5m candle is the recomputed one")
        await connection.close()
    }
}
