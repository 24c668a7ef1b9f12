import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXPostgres
import FXTestSupport
import Testing

@Suite("Candle store: set-based exactly-once merge in PostgreSQL", .tags(.integration))
struct CandleStoreTests {
    static let start: Int64 = 1_795_000_000_000_000_000

    func migrated() async throws -> PostgresConnection {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return connection
    }

    @Test("shuffled ticks with 10% duplicates, flushed in random batches and then all again, equal the recomputation")
    func recompute() async throws {
        let connection = try await migrated()
        let source = TestEnvironment.uniqueName("store")
        let store = FencedCandleStore(timeframes: ["1s", "1m", "5m", "1h", "1d"].compactMap(Timeframe.init), bidAskCandles: true,
                                consumerGroup: source, topic: "ticks")
        let ticks = Recomputation.ticks(source: source, symbols: ["EUR/USD", "BTC/USD", "GBP/USD"], count: 3_000,
                                        start: Self.start, seed: 7)
        let log = Recomputation.disorder(ticks, duplicateShare: 0.1, seed: 11)
        let lease = try await store.claim(partition: 0, owner: "test", on: connection)
        #expect(lease.nextOffset == nil)
        var offset: Int64 = 0
        var random = SplitMix64(seed: 3)
        var revisions = 0
        for pass in 0..<2 {   // the whole log, then the whole log again
            var index = 0
            while index < log.count {
                let size = 1 + Int(random.next() % 400)
                let batch = Array(log[index..<min(index + size, log.count)])
                index += batch.count
                offset += Int64(batch.count)
                let changed = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset, ticks: batch)],
                                                    on: connection)
                if pass == 1 { revisions += changed.count }
            }
        }
        #expect(revisions == 0, "the second pass changes nothing: every tick was already counted")
        let expected = Recomputation.candles(ticks, timeframes: store.candles.timeframes, bidAsk: true)
        let stored = try await Recomputation.stored(source: source, on: connection)
        #expect(stored.count == expected.count)
        for (key, candle) in expected {
            #expect(stored[key] == candle, "\(key): stored \(stored[key].map(String.init(describing:)) ?? "nil"), expected \(candle)")
        }
        #expect(try await store.storedOffsets(on: connection)[0] == offset)
        // vwap = notional / volume, exactly as PostgreSQL divides; null without volume.
        let vwaps = try await connection.query("SELECT count(*) AS bad FROM candles WHERE source = $1 AND (vwap IS DISTINCT FROM CASE WHEN volume > 0 THEN notional / volume END)", [source])
        #expect(vwaps.first?["bad"] == "0")
        await connection.close()
    }

    @Test("a consumer whose partition was claimed by a newer generation cannot write")
    func fencing() async throws {
        let connection = try await migrated()
        let source = TestEnvironment.uniqueName("fence")
        let store = FencedCandleStore(timeframes: Timeframe.defaults, bidAskCandles: false, consumerGroup: source, topic: "ticks")
        let ticks = Recomputation.ticks(source: source, symbols: ["EUR/USD"], count: 20, start: Self.start, seed: 1)
        let zombie = try await store.claim(partition: 2, owner: "zombie", on: connection)
        _ = try await store.flush([.init(partition: 2, generation: zombie.generation, nextOffset: 10, ticks: Array(ticks[0..<10]))], on: connection)
        let successor = try await store.claim(partition: 2, owner: "successor", on: connection)
        #expect(successor.nextOffset == 10)
        await #expect(throws: FencedCandleStore.Fenced.self) {
            _ = try await store.flush([.init(partition: 2, generation: zombie.generation, nextOffset: 20, ticks: Array(ticks[10...]))], on: connection)
        }
        let stored = try await Recomputation.stored(source: source, on: connection)
        #expect(stored == Recomputation.candles(Array(ticks[0..<10]), timeframes: store.candles.timeframes), "the refused flush wrote nothing")
        #expect(try await store.storedOffsets(on: connection)[2] == 10)
        await connection.close()
    }

    @Test("a late tick changes a closed candle: the row is updated and its revision increases")
    func lateTick() async throws {
        let connection = try await migrated()
        let source = TestEnvironment.uniqueName("late")
        let store = FencedCandleStore(timeframes: ["1m"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: source, topic: "ticks")
        let lease = try await store.claim(partition: 0, owner: "t", on: connection)
        func trade(_ ts: Int64, _ price: String, _ id: Int) -> TickRecord {
            Recomputation.json(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"EUR/USD","venue_symbol":"x","ts":\#(ts),"recv_ts":\#(ts),"seq":null,"price":"\#(price)","size":"1","side":null,"trade_id":"\#(id)"}"#)
        }
        let first = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 2,
                                                 ticks: [trade(Self.start + 1_000_000_000, "1.10", 2), trade(Self.start + 2_000_000_000, "1.20", 3)])], on: connection)
        #expect(first.map(\.revision) == [1])
        let late = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 3,
                                                ticks: [trade(Self.start + 500_000_000, "1.05", 1)])], on: connection)
        let candle = try #require(late.first)
        #expect(candle.revision == 2)
        #expect(candle.open == DecimalText("1.05"))
        #expect(candle.low == DecimalText("1.05"))
        #expect(candle.close == DecimalText("1.2"))
        #expect(candle.tickCount == 3)
        await connection.close()
    }

    @Test("the table refuses NaN and non-positive prices")
    func constraints() async throws {
        let connection = try await migrated()
        for price in ["'NaN'", "0", "-1"] {
            await #expect(throws: PostgresError.self) {
                _ = try await connection.query("""
                    INSERT INTO candles (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count,
                        notional, open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition)
                    VALUES ('c', 'X/Y', '1m', 'trade', now(), \(price), \(price), \(price), \(price), 0, 1, 0, 0, 0, '', '', 't', 0)
                    """)
            }
        }
        await connection.close()
    }
}

extension CandleStoreTests {
    @Test("with store_ticks every distinct tick is archived once, exactly, with the candles; without it only identities are kept")
    func tickArchive() async throws {
        let connection = try await migrated()
        let source = TestEnvironment.uniqueName("archive")
        let store = FencedCandleStore(timeframes: ["1m"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: source,
                                topic: "ticks", storeTicks: true)
        let ticks = Recomputation.ticks(source: source, symbols: ["EUR/USD", "BTC/USD"], count: 1_000, start: Self.start, seed: 17)
        let log = Recomputation.disorder(ticks, duplicateShare: 0.2, seed: 5)
        let lease = try await store.claim(partition: 0, owner: "test", on: connection)
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: log.count, by: 250) {
            let batch = Array(log[chunk..<min(chunk + 250, log.count)])
            offset += Int64(batch.count)
            _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset, ticks: batch)], on: connection)
        }
        // Replayed whole: nothing more is archived.
        _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset + 1, ticks: ticks)], on: connection)
        let distinct = Set(ticks.map { "\($0.symbol)|\($0.identity)" }).count
        let archived = try await connection.query("SELECT count(*) AS n, count(kind) AS with_fields FROM ticks WHERE source = $1", [source])
        #expect(archived.first?["n"] == String(distinct))
        #expect(archived.first?["with_fields"] == String(distinct))
        // Exact fields, and the candles can be recomputed from the archive.
        let sample = ticks.first { $0.kind == .trade }!
        // A tick is identified per symbol (two symbols may share a trade id).
        let row = try await connection.query("SELECT price::text AS price, size::text AS size, kind FROM ticks WHERE source = $1 AND symbol = $2 AND tick_key = $3",
                                             [source, sample.symbol, sample.identity]).first
        #expect(row?["price"] == sample.price?.text)
        #expect(row?["size"] == sample.size?.text)
        let volumes = try await connection.query("""
            SELECT count(*) AS bad FROM (
                SELECT symbol, to_timestamp((ts / 1000000000) / 60 * 60) AS bucket, sum(size) AS volume
                FROM ticks WHERE source = $1 AND kind = 'trade' GROUP BY 1, 2) a
            FULL JOIN (SELECT symbol, bucket, volume FROM candles WHERE source = $1 AND timeframe = '1m' AND price_type = 'trade') c
                USING (symbol, bucket)
            WHERE a.volume IS DISTINCT FROM c.volume
            """, [source])
        #expect(volumes.first?["bad"] == "0", "1m volumes recomputed from the archive differ from the candles")

        let identitiesOnly = FencedCandleStore(timeframes: ["1m"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: source + "-2",
                                         topic: "ticks")
        let other = Recomputation.ticks(source: source + "-2", symbols: ["GBP/USD"], count: 100, start: Self.start, seed: 18)
        let lease2 = try await identitiesOnly.claim(partition: 0, owner: "test", on: connection)
        _ = try await identitiesOnly.flush([.init(partition: 0, generation: lease2.generation, nextOffset: 100, ticks: other)], on: connection)
        let bare = try await connection.query("SELECT count(*) AS n, count(kind) AS with_fields FROM ticks WHERE source = $1", [source + "-2"])
        #expect(bare.first?["n"] == "100")
        #expect(bare.first?["with_fields"] == "0")
        await connection.close()
    }
}
