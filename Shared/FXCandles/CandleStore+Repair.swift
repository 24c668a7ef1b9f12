import FXCore
import FXPostgres

/// Repairs: the provider's REST candles written into `candles` by the same store as the aggregator's
/// flushes, under the rule documented in docs/backfiller.md ("Repaired candles"):
///
/// - A minute with no streamed ticks takes the REST candle (`origin = backfill`, `tick_count = 0`).
/// - A minute with streamed ticks merges (`origin = merged`): high/low are the extremes of both; open
///   from the earlier side (the stream's when its first tick is at or before the gap's start, else the
///   REST candle's); close from the later side (the stream's when its last tick is at or after the gap's
///   end, else the REST candle's); volume is the larger of the streamed volume and the REST volume (the
///   venue's candle already counts the streamed trades, so adding would count them twice);
///   `tick_count` and `notional` stay the stream's; `vwap` is NULL.
/// - Every higher timeframe (whole minutes) containing a repaired minute is recomputed from the minutes.
/// - A repair that changes nothing writes nothing: same rows, no new revision.
///
/// Each candle is written under its price type: `trade` (trade venues' history) or `mid` (quote venues'
/// history), and `bid`/`ask` when the store keeps bid/ask candles. A repair holds an exclusive advisory
/// lock on the source and symbol; flushes hold it shared, so the two never interleave on one symbol.
extension CandleStore {
    /// Writes REST candles for the gap `[from, to]` (ns) of one source and symbol in one transaction;
    /// returns every candle row that changed, 1-minute and higher timeframes, with their new revisions.
    public func repair(source: String, symbol: String, from: Int64, to: Int64, candles: [HistoryCandle],
                       on connection: PostgresConnection) async throws -> [CandleRow] {
        guard !candles.isEmpty else { return [] }
        guard timeframesByName["1m"] != nil else {
            throw PostgresError(code: .decoding, message: "repairs write 1-minute candles: the timeframes must include 1m")
        }
        let kept = candles.filter { $0.priceType == "trade" || $0.priceType == "mid" || (bidAskCandles && ($0.priceType == "bid" || $0.priceType == "ask")) }
        guard !kept.isEmpty else { return [] }
        return try await connection.transaction { session in
            try await session.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ["\(source)|\(symbol)"])
            try await session.executeScript("""
                CREATE TEMP TABLE IF NOT EXISTS stage_history (bucket_s bigint, open numeric, high numeric, low numeric,
                    close numeric, volume numeric) ON COMMIT DELETE ROWS
                """)
            var changed: [CandleRow] = []
            for (priceType, typed) in Dictionary(grouping: kept, by: \.priceType).sorted(by: { $0.key < $1.key }) {
                try await session.query("DELETE FROM stage_history", [])
                let minutes = Dictionary(typed.map { ($0.start / 60_000_000_000 * 60, $0) }, uniquingKeysWith: { _, last in last })
                _ = try await session.copyIn("COPY stage_history FROM STDIN", rows: minutes.sorted { $0.key < $1.key }.map { minute, candle in
                    [String(minute), candle.open.text, candle.high.text, candle.low.text, candle.close.text, candle.volume.text]
                })
                let first = minutes.keys.min()!, last = minutes.keys.max()!
                changed += try await session.query(Self.repairStatement, [source, symbol, topic, from, to, first, last, priceType])
                    .rows.map { try CandleRow(row: $0, timeframes: timeframesByName) }
                changed += try await recompute(source: source, symbol: symbol, priceType: priceType, minutes: Array(minutes.keys), on: session)
            }
            return changed
        }
    }

    /// Recomputes every higher timeframe (whole minutes, 1m excluded) of the `priceType` candles containing
    /// `minutes` (seconds since the epoch) from the 1-minute rows; returns the rows that changed.
    func recompute(source: String, symbol: String, priceType: String, minutes: [Int64], on session: PostgresSession) async throws -> [CandleRow] {
        let frames = timeframes.filter { $0.seconds > 60 && $0.seconds % 60 == 0 }
        guard !frames.isEmpty, !minutes.isEmpty else { return [] }
        let values = frames.map { "('\($0.name)', \($0.seconds))" }.joined(separator: ", ")
        let minuteStarts = Set(minutes.map { $0 / 60 * 60 }).sorted()
        let list = "{" + minuteStarts.map(String.init).joined(separator: ",") + "}"
        // The 1-minute rows read: the whole buckets of the largest timeframe around the minutes (constant
        // bounds, so the scan is one index range, and TimescaleDB excludes the other chunks).
        let widest = frames.map(\.seconds).max()!
        let low = minuteStarts.first! / widest * widest, high = (minuteStarts.last! / widest + 1) * widest
        return try await session.query("""
            WITH frames(name, seconds) AS (VALUES \(values)), buckets AS (
                SELECT DISTINCT f.name, (m / f.seconds) * f.seconds AS b
                FROM unnest($3::bigint[]) AS m CROSS JOIN frames f
            ), minutes AS (
                SELECT m.*, extract(epoch FROM m.bucket)::bigint AS minute_s FROM candles m
                WHERE m.source = $1 AND m.symbol = $2 AND m.timeframe = '1m' AND m.price_type = $6
                  AND m.bucket >= to_timestamp($4::bigint) AND m.bucket < to_timestamp($5::bigint)
            ), agg AS (
                SELECT f.name AS timeframe, (m.minute_s / f.seconds) * f.seconds AS b,
                       (array_agg(m.open ORDER BY m.open_key))[1] AS open, max(m.high) AS high, min(m.low) AS low,
                       (array_agg(m.close ORDER BY m.close_key DESC))[1] AS close, sum(m.volume) AS volume,
                       sum(m.tick_count) AS tick_count, sum(m.notional) AS notional, min(m.open_ts) AS open_ts,
                       max(m.close_ts) AS close_ts, min(m.open_key) AS open_key, max(m.close_key) AS close_key,
                       max(m.ticks_topic) AS ticks_topic, max(m.kafka_partition) AS kafka_partition,
                       CASE WHEN bool_and(m.origin = 'stream') THEN 'stream'
                            WHEN bool_and(m.origin = 'backfill') THEN 'backfill' ELSE 'merged' END AS origin,
                       sum(coalesce(m.stream_volume, m.volume)) AS stream_volume
                FROM minutes m CROSS JOIN frames f
                GROUP BY 1, 2
            )
            INSERT INTO candles AS c (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count,
                                      notional, vwap, open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition,
                                      origin, stream_volume)
            SELECT $1, $2, timeframe, $6, to_timestamp(b), open, high, low, close, volume, tick_count, notional,
                   CASE WHEN origin = 'stream' AND volume > 0 THEN notional / volume END, open_ts, close_ts, open_key, close_key,
                   ticks_topic, kafka_partition, origin, CASE WHEN origin = 'stream' THEN NULL ELSE stream_volume END
            FROM agg WHERE (timeframe, b) IN (SELECT name, b FROM buckets)
            ON CONFLICT (source, symbol, timeframe, price_type, bucket) DO UPDATE SET
                \(Self.replaceAll), vwap = EXCLUDED.vwap, tick_count = EXCLUDED.tick_count, notional = EXCLUDED.notional,
                revision = c.revision + 1, updated_at = now()
            WHERE (c.open, c.high, c.low, c.close, c.volume, c.tick_count, c.origin, c.stream_volume, c.open_key, c.close_key)
                IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.tick_count,
                                  EXCLUDED.origin, EXCLUDED.stream_volume, EXCLUDED.open_key, EXCLUDED.close_key)
            RETURNING \(CandleRow.columns("c"))
            """, [source, symbol, list, low, high, priceType]).rows.map { try CandleRow(row: $0, timeframes: timeframesByName) }
    }

    /// After a flush: ticks that landed in repaired rows (rare: ticks that reached the aggregator after the
    /// repair) leave the higher timeframes to be recomputed from the minutes, in the same transaction.
    func recomputedAfterLateTicks(_ changed: [CandleRow], on session: PostgresSession) async throws -> [CandleRow] {
        let touched = changed.filter { $0.origin != "stream" }
        guard !touched.isEmpty else { return changed }
        var result = changed
        var index = Dictionary(changed.enumerated().map { ($1.identity, $0) }, uniquingKeysWith: { first, _ in first })
        for rows in Dictionary(grouping: touched, by: { "\($0.source)\u{1F}\($0.symbol)\u{1F}\($0.priceType)" }).values {
            let first = rows[0]
            let minutes = rows.map { $0.start / 1_000_000_000 }
            for row in try await recompute(source: first.source, symbol: first.symbol, priceType: first.priceType, minutes: minutes, on: session) {
                if let position = index[row.identity] { result[position] = row } else { index[row.identity] = result.count; result.append(row) }
            }
        }
        return result
    }

    /// The columns a repair or a recomputation replaces wholesale.
    static let replaceAll = """
        open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume,
        open_ts = EXCLUDED.open_ts, close_ts = EXCLUDED.close_ts, open_key = EXCLUDED.open_key, close_key = EXCLUDED.close_key,
        ticks_topic = EXCLUDED.ticks_topic, kafka_partition = EXCLUDED.kafka_partition, origin = EXCLUDED.origin,
        stream_volume = EXCLUDED.stream_volume
        """

    /// $1 source, $2 symbol, $3 ticks topic, $4 gap start (ns), $5 gap end (ns), $6/$7 first and last
    /// minute staged (s, bounds for chunk exclusion), $8 price type; rows in `stage_history`.
    static let repairStatement = """
        WITH part AS (
            SELECT coalesce((SELECT kafka_partition FROM candles WHERE source = $1 AND symbol = $2 AND timeframe = '1m'
                               AND price_type = $8 AND ticks_topic = $3 AND kafka_partition >= 0
                             ORDER BY bucket DESC LIMIT 1), -1) AS p
        ), merged AS (
            SELECT h.bucket_s, h.open AS r_open, h.high AS r_high, h.low AS r_low, h.close AS r_close, h.volume AS r_volume,
                   s.origin IN ('stream', 'merged') AS streamed,
                   s.origin IN ('stream', 'merged') AND s.open_ts <= $4::bigint AS stream_open,
                   s.origin IN ('stream', 'merged') AND s.close_ts >= $5::bigint AS stream_close,
                   s.open, s.high, s.low, s.close, s.volume, s.stream_volume, s.tick_count, s.notional, s.open_ts, s.close_ts,
                   s.open_key, s.close_key, coalesce(s.ticks_topic, $3) AS ticks_topic,
                   coalesce(s.kafka_partition, (SELECT p FROM part)) AS kafka_partition
            FROM stage_history h
            LEFT JOIN candles s ON s.source = $1 AND s.symbol = $2 AND s.timeframe = '1m' AND s.price_type = $8
                                AND s.bucket = to_timestamp(h.bucket_s)
                                AND s.bucket >= to_timestamp($6::bigint) AND s.bucket <= to_timestamp($7::bigint)
        )
        INSERT INTO candles AS c (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count,
                                  notional, vwap, open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition,
                                  origin, stream_volume)
        SELECT $1, $2, '1m', $8, to_timestamp(bucket_s),
               CASE WHEN stream_open THEN open ELSE r_open END,
               CASE WHEN streamed THEN GREATEST(high, r_high) ELSE r_high END,
               CASE WHEN streamed THEN LEAST(low, r_low) ELSE r_low END,
               CASE WHEN stream_close THEN close ELSE r_close END,
               CASE WHEN streamed THEN GREATEST(coalesce(stream_volume, volume), r_volume) ELSE r_volume END,
               CASE WHEN streamed THEN tick_count ELSE 0 END,
               CASE WHEN streamed THEN notional ELSE 0 END,
               NULL,
               CASE WHEN stream_open THEN open_ts ELSE bucket_s * 1000000000 END,
               CASE WHEN stream_close THEN close_ts ELSE bucket_s * 1000000000 + 59999999999 END,
               CASE WHEN stream_open THEN open_key ELSE lpad((bucket_s * 1000000000)::text, 20, '0') END,
               CASE WHEN stream_close THEN close_key ELSE lpad((bucket_s * 1000000000 + 59999999999)::text, 20, '0') || '|~' END,
               ticks_topic, kafka_partition,
               CASE WHEN streamed THEN 'merged' ELSE 'backfill' END,
               CASE WHEN streamed THEN coalesce(stream_volume, volume) ELSE 0 END
        FROM merged
        ON CONFLICT (source, symbol, timeframe, price_type, bucket) DO UPDATE SET
            \(replaceAll), vwap = NULL, revision = c.revision + 1, updated_at = now()
        WHERE (c.open, c.high, c.low, c.close, c.volume, c.origin, c.stream_volume, c.open_key, c.close_key)
            IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.origin,
                              EXCLUDED.stream_volume, EXCLUDED.open_key, EXCLUDED.close_key)
        RETURNING \(CandleRow.columns("c"))
        """
}
