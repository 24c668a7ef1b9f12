import FXCore
import FXPostgres

/// The candles in PostgreSQL, written by the aggregator's flushes and the backfiller's repairs alike.
///
/// A flush's candle part (``write(_:on:)``, inside the caller's transaction): record the flush's
/// distinct ticks in `ticks` (which also archives them with `storeTicks`) and learn which an earlier flush
/// already counted; meanwhile combine them in memory into one row per candle key (``CandleAccumulator``),
/// then merge those rows into `candles` order-independently (open/close by order key, extremes, sums),
/// bumping `revision` of every row it touches. The aggregator wraps it in a transaction that also moves
/// its consumed offsets (fenced by the partition's generation), so the database always equals a
/// recomputation over the distinct ticks consumed up to the stored offsets.
public struct CandleStore: Sendable {
    public let timeframes: [Timeframe]
    public let bidAskCandles: Bool
    /// The ticks topic the candles come from (`candles.ticks_topic`: whose partitions publish their finals).
    public let topic: String
    /// Archive every distinct tick's fields in `ticks` (else only its identity, for the duplicate window).
    public let storeTicks: Bool
    let timeframesByName: [String: Timeframe]

    public init(timeframes: [Timeframe], bidAskCandles: Bool, topic: String, storeTicks: Bool = false) {
        self.timeframes = timeframes
        self.bidAskCandles = bidAskCandles
        self.storeTicks = storeTicks
        self.topic = topic
        self.timeframesByName = Dictionary(timeframes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// One partition's ticks in a flush.
    public struct PartitionTicks: Sendable {
        public var partition: Int32
        public var ticks: [TickRecord]

        public init(partition: Int32, ticks: [TickRecord]) {
            self.partition = partition
            self.ticks = ticks
        }
    }

    // MARK: Flush

    /// A flush's distinct ticks and their COPY rows: CPU work a caller may run while PostgreSQL does other
    /// work of the same transaction.
    public func prepare(_ parts: [PartitionTicks]) -> PreparedTicks {
        PreparedTicks(parts, storeTicks: storeTicks)
    }

    /// Writes one flush's ticks and candle changes inside the caller's transaction; returns every candle row
    /// it changed (with its new revision).
    public func write(_ prepared: PreparedTicks, on session: PostgresSession) async throws -> [CandleRow] {
        let ticks = prepared.ticks
        guard !ticks.distinct.isEmpty else { return [] }
        // The durable duplicate check: ticks counted by an earlier flush are not inserted again, and come
        // back. While PostgreSQL records the ticks, the candle changes are combined here as if none were
        // counted (the usual case); only when some were are they combined again without them.
        async let countedTicks = record(prepared, on: session)
        var candles = Self.combine(ticks.distinct, timeframes: timeframes, bidAsk: bidAskCandles)
        let counted = try await countedTicks
        if !counted.isEmpty {
            candles = Self.combine(ticks.distinct.filter { !counted.contains($0.identity) }, timeframes: timeframes, bidAsk: bidAskCandles)
        }
        guard !candles.isEmpty else { return [] }
        _ = try await session.copyIn("COPY stage_candles FROM STDIN", rows: candles)
        // Shared per source and symbol, before any candle is written: a repair (exclusive) never
        // interleaves with a flush of the same symbol.
        try await session.query("""
            SELECT count(pg_advisory_xact_lock_shared(hashtextextended(source || '|' || symbol, 0)))
            FROM (SELECT DISTINCT source, symbol FROM stage_candles ORDER BY 1, 2) s
            """)
        let changed = try await session.query(Self.mergeStatement, [topic]).rows.map { try CandleRow(row: $0, timeframes: timeframesByName) }
        return try await recomputedAfterLateTicks(changed, on: session)
    }

    /// The `stage_candles` rows of these ticks.
    static func combine(_ ticks: [FlushTicks.Staged], timeframes: [Timeframe], bidAsk: Bool) -> [[String?]] {
        var accumulator = CandleAccumulator(timeframes: timeframes, bidAsk: bidAsk)
        for index in ticks.indices { accumulator.add(ticks[index].record, orderKey: ticks[index].record.order, partition: ticks[index].partition) }
        return accumulator.stageRows()
    }

    /// The distinct ticks of one flush: of several with the same identity (source, symbol, tick key), the
    /// one earliest by order key, as the recomputation counts it.
    struct FlushTicks: Sendable {
        struct Identity: Hashable, Sendable {
            var source: String
            var symbol: String
            var tickKey: String
        }

        struct Staged: Sendable {
            var record: TickRecord
            var partition: Int32
            var tickKey: String { record.identity }
            var order: TickOrder { record.order }
            var identity: Identity { Identity(source: record.source, symbol: record.symbol, tickKey: record.identity) }
        }

        var distinct: [Staged] = []

        init(_ batches: [PartitionTicks]) {
            var index: [Identity: Int] = [:]
            index.reserveCapacity(batches.reduce(0) { $0 + $1.ticks.count })
            distinct.reserveCapacity(index.capacity)
            for batch in batches {
                for record in batch.ticks {
                    let staged = Staged(record: record, partition: batch.partition)
                    let identity = staged.identity
                    if let position = index[identity] {
                        if staged.order < distinct[position].order { distinct[position] = staged }
                    } else {
                        index[identity] = distinct.count
                        distinct.append(staged)
                    }
                }
            }
        }
    }

    /// `stage_ticks`: a flush's distinct ticks (identity; every field with `storeTicks`);
    /// `stage_candles`: its candle changes, one row per candle key.
    static let stageTables = """
        CREATE TEMP TABLE IF NOT EXISTS stage_ticks (
            source text, symbol text, tick_key text, ts bigint, kind text, price numeric, size numeric, bid numeric,
            ask numeric, bid_size numeric, ask_size numeric, seq bigint, trade_id text, kafka_partition integer
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS stage_candles (
            source text, symbol text, timeframe text, price_type text, bucket_s bigint, kafka_partition integer,
            open numeric, high numeric, low numeric, close numeric, volume numeric, tick_count bigint, notional numeric,
            open_ts bigint, close_ts bigint, open_key text, close_key text
        ) ON COMMIT DELETE ROWS
        """

    /// A flush's distinct ticks and their rows for `ticks` in COPY text format (identity columns only
    /// without the archive; every column of ``tickColumns`` with it).
    public struct PreparedTicks: Sendable {
        var ticks: FlushTicks
        var rows: CopyTextBuffer
        var columns: String

        init(_ batches: [PartitionTicks], storeTicks: Bool) {
            ticks = FlushTicks(batches)
            columns = storeTicks ? CandleStore.tickColumns : "source, symbol, tick_key, ts"
            rows = CopyTextBuffer(reservingCapacity: ticks.distinct.count * (storeTicks ? 160 : 64))
            // Fields read in place (no copy of each record, no array of its six optional decimals per tick).
            for index in ticks.distinct.indices {
                rows.append(ticks.distinct[index].record.source)
                rows.append(ticks.distinct[index].record.symbol)
                rows.append(ticks.distinct[index].record.identity)
                rows.append(ticks.distinct[index].record.ts)
                if storeTicks {
                    rows.append(ticks.distinct[index].record.kind.rawValue)
                    rows.append(ticks.distinct[index].record.price?.text)
                    rows.append(ticks.distinct[index].record.size?.text)
                    rows.append(ticks.distinct[index].record.bid?.text)
                    rows.append(ticks.distinct[index].record.ask?.text)
                    rows.append(ticks.distinct[index].record.bidSize?.text)
                    rows.append(ticks.distinct[index].record.askSize?.text)
                    rows.append(ticks.distinct[index].record.seq)
                    rows.append(ticks.distinct[index].record.tradeID)
                    rows.append(Int64(ticks.distinct[index].partition))
                }
                rows.endRow()
            }
        }
    }

    /// Records the flush's distinct ticks in `ticks` (the duplicate window and, with `storeTicks`, the
    /// archive); answers the ones already there: counted by an earlier flush.
    ///
    /// The usual case, none counted, is one COPY straight into `ticks` behind a savepoint (measured for
    /// 5,000 ticks: 11.5 ms, against 16-23 ms for COPY to staging + INSERT ... SELECT, and ~2x that with
    /// `ON CONFLICT`, whose speculative insertion costs per row, and the anti-join's two sorts). A unique
    /// violation rolls back to the savepoint; the ticks then go to `stage_ticks` and ``recordStatement``
    /// inserts the new ones and answers the others (PostgreSQL logs the violation as an error line). The
    /// savepoint is not released: COMMIT ends it with the transaction, one round trip fewer.
    func record(_ prepared: PreparedTicks, on session: PostgresSession) async throws -> Set<FlushTicks.Identity> {
        try await session.executeScript(Self.stageTables + ";\nSAVEPOINT record_ticks")
        do {
            _ = try await session.copyIn("COPY ticks (\(prepared.columns)) FROM STDIN", data: [prepared.rows.bytes])
            return []
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            try await session.executeScript("ROLLBACK TO SAVEPOINT record_ticks")
            _ = try await session.copyIn("COPY stage_ticks (\(prepared.columns)) FROM STDIN", data: [prepared.rows.bytes])
            return Set(try await session.query(Self.recordStatement).rows.map {
                FlushTicks.Identity(source: $0["source"] ?? "", symbol: $0["symbol"] ?? "", tickKey: $0["tick_key"] ?? "")
            })
        }
    }

    /// The columns of `ticks` and `stage_ticks`, in ``PreparedTicks``' order.
    static let tickColumns = "source, symbol, tick_key, ts, kind, price, size, bid, ask, bid_size, ask_size, seq, trade_id, kafka_partition"

    /// Records the staged ticks not yet in `ticks` and answers the others (after a unique violation).
    static let recordStatement = """
        WITH fresh AS (
            INSERT INTO ticks (\(tickColumns))
            SELECT * FROM stage_ticks
            ON CONFLICT DO NOTHING
            RETURNING source, symbol, tick_key
        )
        SELECT s.source, s.symbol, s.tick_key FROM stage_ticks s
        WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.source = s.source AND f.symbol = s.symbol AND f.tick_key = s.tick_key)
        """

    /// Merges the staged candle changes into `candles` order-independently, bumping `revision` of every row
    /// it touches.
    static let mergeStatement = """
        INSERT INTO candles AS c (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count,
                                  notional, vwap, open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition)
        SELECT source, symbol, timeframe, price_type, to_timestamp(bucket_s), open, high, low, close, volume, tick_count, notional,
               CASE WHEN volume > 0 THEN notional / volume END, open_ts, close_ts, open_key, close_key, $1, kafka_partition
        FROM stage_candles
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
