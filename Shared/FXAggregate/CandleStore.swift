import FXCore
import FXPostgres

/// The candles in PostgreSQL: one transaction per flush writes the candle changes *and* the consumed
/// offsets, fenced by the partition's generation, so the database always equals a recomputation over the
/// distinct ticks consumed up to the stored offsets.
///
/// A flush: check and advance every partition's offset (a generation mismatch = this consumer lost the
/// partition: the whole transaction is refused), COPY the ticks into a staging table, then one statement
/// suppresses ticks already counted (`ticks`, which also archives them with `storeTicks`), expands them into price types and timeframes,
/// aggregates one row per candle key and merges those into `candles` order-independently (open/close
/// by order key, extremes, sums), bumping `revision` of every row it touches.
public struct CandleStore: Sendable {
    public let timeframes: [Timeframe]
    public let bidAskCandles: Bool
    public let consumerGroup: String
    public let topic: String
    /// Archive every distinct tick's fields in `ticks` (else only its identity, for the duplicate window).
    public let storeTicks: Bool
    let timeframesByName: [String: Timeframe]

    public init(timeframes: [Timeframe], bidAskCandles: Bool, consumerGroup: String, topic: String, storeTicks: Bool = false) {
        self.timeframes = timeframes
        self.bidAskCandles = bidAskCandles
        self.storeTicks = storeTicks
        self.consumerGroup = consumerGroup
        self.topic = topic
        self.timeframesByName = Dictionary(timeframes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A partition whose generation moved on: another consumer owns it now.
    public struct Fenced: Error, CustomStringConvertible, Sendable {
        public var partition: Int32
        public var description: String { "partition \(partition) is owned by a newer consumer generation" }
    }

    /// One partition's part of a flush.
    public struct PartitionBatch: Sendable {
        public var partition: Int32
        public var generation: Int64
        public var nextOffset: Int64
        public var ticks: [TickRecord]

        public init(partition: Int32, generation: Int64, nextOffset: Int64, ticks: [TickRecord]) {
            self.partition = partition
            self.generation = generation
            self.nextOffset = nextOffset
            self.ticks = ticks
        }
    }

    // MARK: Leases

    /// Takes over a partition: bumps its generation (fencing the previous owner) and returns the new
    /// generation and the stored next offset (nil: nothing stored yet, start from the beginning).
    public func claim(partition: Int32, owner: String, on connection: PostgresConnection) async throws -> (generation: Int64, nextOffset: Int64?) {
        let rows = try await connection.query("""
            INSERT INTO aggregator_offsets (consumer_group, topic, partition, generation, owner) VALUES ($1, $2, $3, 1, $4)
            ON CONFLICT (consumer_group, topic, partition) DO UPDATE
                SET generation = aggregator_offsets.generation + 1, owner = EXCLUDED.owner, updated_at = now()
            RETURNING generation, next_offset
            """, [consumerGroup, topic, Int(partition), owner])
        guard let row = rows.first else { throw PostgresError(code: .decoding, message: "claim returned no row") }
        return (try row.decode(Int64.self, "generation"), try row.decodeIfPresent(Int64.self, "next_offset"))
    }

    /// The stored next offset of each partition (for tests and tools).
    public func storedOffsets(on connection: PostgresConnection) async throws -> [Int32: Int64] {
        let rows = try await connection.query(
            "SELECT partition, next_offset FROM aggregator_offsets WHERE consumer_group = $1 AND topic = $2 AND next_offset IS NOT NULL",
            [consumerGroup, topic])
        var result: [Int32: Int64] = [:]
        for row in rows { result[try row.decode(Int32.self, "partition")] = try row.decode(Int64.self, "next_offset") }
        return result
    }

    // MARK: Flush

    /// Writes one flush; returns every candle row it changed (with its new revision).
    public func flush(_ batches: [PartitionBatch], on connection: PostgresConnection) async throws -> [CandleRow] {
        guard !batches.isEmpty else { return [] }
        return try await connection.transaction { session in
            for batch in batches {
                let updated = try await session.query("""
                    UPDATE aggregator_offsets SET next_offset = $4, updated_at = now()
                    WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND generation = $5
                    """, [consumerGroup, topic, Int(batch.partition), batch.nextOffset, batch.generation])
                if updated.affectedRows != 1 { throw Fenced(partition: batch.partition) }
            }
            let rows = batches.flatMap { batch in batch.ticks.map { Self.stageRow($0, partition: batch.partition) } }
            guard !rows.isEmpty else { return [] }
            try await session.executeScript(Self.stageTable)
            _ = try await session.copyIn("COPY stage_ticks FROM STDIN", rows: rows)
            // Shared per source and symbol: a repair (exclusive) never interleaves with a flush of the same symbol.
            try await session.query("""
                SELECT count(pg_advisory_xact_lock_shared(hashtextextended(source || '|' || symbol, 0)))
                FROM (SELECT DISTINCT source, symbol FROM stage_ticks ORDER BY 1, 2) s
                """)
            let changed = try await session.query(mergeStatement, [topic]).rows.map { try CandleRow(row: $0, timeframes: timeframesByName) }
            return try await recomputedAfterLateTicks(changed, on: session)
        }
    }

    static let stageTable = """
        CREATE TEMP TABLE IF NOT EXISTS stage_ticks (
            source text, symbol text, kind text, tick_key text COLLATE "C", order_key text COLLATE "C", ts bigint,
            price numeric, size numeric, bid numeric, ask numeric, kafka_partition integer,
            bid_size numeric, ask_size numeric, seq bigint, trade_id text
        ) ON COMMIT DELETE ROWS
        """

    static func stageRow(_ tick: TickRecord, partition: Int32) -> [String?] {
        [tick.source, tick.symbol, tick.kind.rawValue, tick.identity, tick.orderKey, String(tick.ts),
         tick.price?.text, tick.size?.text, tick.bid?.text, tick.ask?.text, String(partition),
         tick.bidSize?.text, tick.askSize?.text, tick.seq.map(String.init), tick.tradeID]
    }

    /// The set-based merge (timeframes are validated names and integers, inlined as a VALUES list).
    var mergeStatement: String {
        let frames = timeframes.map { "('\($0.name)', \($0.seconds))" }.joined(separator: ", ")
        let bidAsk = bidAskCandles ? "true" : "false"
        let archived = storeTicks
            ? "kind, price, size, bid, ask, bid_size, ask_size, seq, trade_id, kafka_partition"
            : "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
        return """
            WITH incoming AS (
                SELECT DISTINCT ON (source, symbol, tick_key) * FROM stage_ticks ORDER BY source, symbol, tick_key, order_key
            ), fresh AS (
                INSERT INTO ticks (source, symbol, tick_key, ts, kind, price, size, bid, ask, bid_size, ask_size, seq, trade_id,
                                   kafka_partition)
                SELECT source, symbol, tick_key, ts, \(archived) FROM incoming
                ON CONFLICT DO NOTHING
                RETURNING source, symbol, tick_key
            ), ticks AS (
                SELECT i.* FROM incoming i JOIN fresh f ON f.source = i.source AND f.symbol = i.symbol AND f.tick_key = i.tick_key
            ), points AS (
                SELECT t.source, t.symbol, t.kafka_partition, t.ts, t.order_key, p.price_type, p.price, p.size
                FROM ticks t
                CROSS JOIN LATERAL (VALUES
                    ('trade', t.price, t.size, t.kind = 'trade'),
                    ('mid', (t.bid + t.ask) / 2, 0::numeric, t.kind = 'quote' AND t.bid IS NOT NULL AND t.ask IS NOT NULL),
                    ('bid', t.bid, 0::numeric, \(bidAsk) AND t.kind = 'quote' AND t.bid IS NOT NULL),
                    ('ask', t.ask, 0::numeric, \(bidAsk) AND t.kind = 'quote' AND t.ask IS NOT NULL)
                ) AS p(price_type, price, size, wanted)
                WHERE p.wanted
            ), agg AS (
                SELECT p.source, p.symbol, tf.name AS timeframe, p.price_type,
                       to_timestamp((p.ts / 1000000000) / tf.seconds * tf.seconds) AS bucket,
                       max(p.kafka_partition) AS kafka_partition,
                       (array_agg(p.price ORDER BY p.order_key))[1] AS open,
                       max(p.price) AS high, min(p.price) AS low,
                       (array_agg(p.price ORDER BY p.order_key DESC))[1] AS close,
                       sum(p.size) AS volume, count(*) AS tick_count, sum(p.price * p.size) AS notional,
                       min(p.ts) AS open_ts, max(p.ts) AS close_ts,
                       min(p.order_key) AS open_key, max(p.order_key) AS close_key
                FROM points p CROSS JOIN (VALUES \(frames)) AS tf(name, seconds)
                GROUP BY 1, 2, 3, 4, 5
            )
            INSERT INTO candles AS c (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count,
                                      notional, vwap, open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition)
            SELECT source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count, notional,
                   CASE WHEN volume > 0 THEN notional / volume END, open_ts, close_ts, open_key, close_key, $1, kafka_partition
            FROM agg
            ON CONFLICT (source, symbol, timeframe, price_type, bucket) DO UPDATE SET
                open = CASE WHEN EXCLUDED.open_key < c.open_key THEN EXCLUDED.open ELSE c.open END,
                open_ts = CASE WHEN EXCLUDED.open_key < c.open_key THEN EXCLUDED.open_ts ELSE c.open_ts END,
                open_key = LEAST(c.open_key, EXCLUDED.open_key),
                close = CASE WHEN EXCLUDED.close_key > c.close_key THEN EXCLUDED.close ELSE c.close END,
                close_ts = CASE WHEN EXCLUDED.close_key > c.close_key THEN EXCLUDED.close_ts ELSE c.close_ts END,
                close_key = GREATEST(c.close_key, EXCLUDED.close_key),
                high = GREATEST(c.high, EXCLUDED.high),
                low = LEAST(c.low, EXCLUDED.low),
                volume = CASE WHEN c.origin = 'stream' THEN c.volume + EXCLUDED.volume
                              ELSE GREATEST(c.volume, c.stream_volume + EXCLUDED.volume) END,
                tick_count = c.tick_count + EXCLUDED.tick_count,
                notional = c.notional + EXCLUDED.notional,
                vwap = CASE WHEN c.origin = 'stream' AND c.volume + EXCLUDED.volume > 0
                            THEN (c.notional + EXCLUDED.notional) / (c.volume + EXCLUDED.volume) END,
                -- A repaired row's volume already counts the venue's whole minute (see CandleStore+Repair).
                stream_volume = CASE WHEN c.origin = 'stream' THEN NULL ELSE c.stream_volume + EXCLUDED.volume END,
                origin = CASE WHEN c.origin = 'stream' THEN 'stream' ELSE 'merged' END,
                ticks_topic = EXCLUDED.ticks_topic,
                kafka_partition = EXCLUDED.kafka_partition,
                revision = c.revision + 1,
                updated_at = now()
            RETURNING \(CandleRow.columns("c"))
            """
    }

    // MARK: Retention

    /// Deletes one batch of `timeframe` candles older than `days`: the hour of candles from the oldest
    /// expired one. A plain predicate, not row addresses: TimescaleDB cannot address rows of compressed
    /// chunks by `ctid` ("transparent decompression only supports tableoid"), but deletes them by
    /// predicate. Returns the rows deleted (0: nothing expired is left).
    public func deleteExpired(timeframe: String, days: Int, on connection: PostgresConnection) async throws -> Int {
        try await connection.query("""
            WITH oldest AS (SELECT bucket FROM candles WHERE timeframe = $1 AND bucket < now() - make_interval(days => $2)
                            ORDER BY bucket LIMIT 1)
            DELETE FROM candles WHERE timeframe = $1 AND bucket >= (SELECT bucket FROM oldest)
              AND bucket < LEAST((SELECT bucket FROM oldest) + interval '1 hour', now() - make_interval(days => $2))
            """, [timeframe, days]).affectedRows
    }

    // MARK: Finals

    /// Candles of `partition` whose bucket ended at or before `watermark` (ns) and whose latest revision has
    /// not been published as final.
    public func unfinalized(partition: Int32, watermark: Int64, limit: Int = 5_000, on connection: PostgresConnection) async throws -> [CandleRow] {
        let frames = timeframes.map { "('\($0.name)', \($0.seconds))" }.joined(separator: ", ")
        let rows = try await connection.query("""
            SELECT \(CandleRow.columns("c")) FROM candles c JOIN (VALUES \(frames)) AS tf(name, seconds) ON tf.name = c.timeframe
            WHERE c.ticks_topic = $4 AND c.kafka_partition = $1 AND c.final_revision < c.revision
              AND c.bucket + tf.seconds * interval '1 second' <= to_timestamp($2::bigint / 1000000000.0)
            ORDER BY c.bucket LIMIT $3
            """, [Int(partition), watermark, limit, topic])
        return try rows.rows.map { try CandleRow(row: $0, timeframes: timeframesByName) }
    }

    /// Records that these candles' revisions went out as final.
    public func markFinal(_ candles: [CandleRow], on connection: PostgresConnection) async throws {
        guard !candles.isEmpty else { return }
        try await connection.transaction { session in
            try await session.executeScript("""
                CREATE TEMP TABLE IF NOT EXISTS stage_final (source text, symbol text, timeframe text, price_type text,
                    bucket_s bigint, revision integer) ON COMMIT DELETE ROWS
                """)
            _ = try await session.copyIn("COPY stage_final FROM STDIN", rows: candles.map {
                [$0.source, $0.symbol, $0.timeframe, $0.priceType, String($0.start / 1_000_000_000), String($0.revision)]
            })
            _ = try await session.query("""
                UPDATE candles c SET final_revision = GREATEST(c.final_revision, s.revision)
                FROM stage_final s
                WHERE c.source = s.source AND c.symbol = s.symbol AND c.timeframe = s.timeframe AND c.price_type = s.price_type
                  AND c.bucket = to_timestamp(s.bucket_s)
                """)
        }
    }
}
