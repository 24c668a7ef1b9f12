import FXCandles
import Foundation
import FXAggregate
import FXPostgres
import FXTestSupport
import Testing

/// Candle retention deletes expired rows of one timeframe, compressed TimescaleDB chunks included.
@Suite("Candle store: retention", .tags(.integration))
struct CandleRetentionTests {
    @Test("expired 1m candles are deleted in batches, also from compressed chunks; newer ones and other timeframes stay")
    func expired() async throws {
        let url = try await PostgresTestKit.freshDatabase("ret")
        let db = try await PostgresTestKit.connect(url: url)
        try await db.query("""
            INSERT INTO candles (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count, notional,
                                 open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition)
            SELECT 'ret', 'X/Y', tf, 'trade', t, 1, 1, 1, 1, 1, 1, 1, 0, 0, 'a', 'b', 't', 0
            FROM generate_series(date_trunc('hour', now()) - interval '30 days', now(), interval '1 hour') t, (VALUES ('1m'), ('1h')) v(tf)
            """)
        let timescale = try await db.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").count == 1
        if timescale {
            try await db.query("ALTER TABLE candles SET (timescaledb.compress, timescaledb.compress_segmentby = 'source, symbol, timeframe')")
            let compressed = try await db.query("SELECT count(compress_chunk(c)) AS n FROM show_chunks('candles', older_than => interval '7 days') c")
            #expect(Int(compressed.first?["n"] ?? "0") ?? 0 > 0, "old chunks compressed")
        }
        func count(_ timeframe: String, older: Bool) async throws -> Int {
            Int(try await db.query("SELECT count(*) AS n FROM candles WHERE timeframe = $1 AND (bucket < now() - interval '20 days') = $2",
                                   [timeframe, older]).first?["n"] ?? "-1") ?? -1
        }
        let recent = try await count("1m", older: false)
        let expired = try await count("1m", older: true)
        #expect(expired >= 240)
        let store = FencedCandleStore(timeframes: ["1m", "1h"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: "ret", topic: "t")
        var total = 0, batches = 0
        while true {
            let deleted = try await store.candles.deleteExpired(timeframe: "1m", days: 20, on: db)
            if deleted == 0 { break }
            total += deleted
            batches += 1
        }
        #expect(try await count("1m", older: true) == 0, "every expired 1m candle deleted (TimescaleDB: \(timescale))")
        #expect(total == expired && batches == expired, "one hour of candles a batch: \(total) rows in \(batches) batches")
        #expect(try await count("1m", older: false) == recent)
        #expect(try await count("1h", older: true) == expired, "another timeframe untouched")
        await db.close()
        await PostgresTestKit.dropDatabase(url)
    }
}
