-- Repaired candles: where each candle's numbers come from, and what the ledger needs to fetch history.
--
-- candles.origin: `stream` (aggregated from streamed ticks only), `backfill` (the provider's REST candle
-- only), `merged` (a minute with streamed ticks and a REST candle, merged by the documented rule; or a
-- higher timeframe made of both kinds of minutes).
-- candles.stream_volume: on rows that are not `stream`, the volume of the streamed ticks alone (a REST
-- candle's volume already counts them: the row's volume is the larger of the two). NULL on stream rows.
-- tick_count and notional always count streamed ticks only (REST history has neither), so a `backfill`
-- row has tick_count 0, and vwap is NULL wherever REST supplied the volume.
ALTER TABLE candles ADD COLUMN origin text NOT NULL DEFAULT 'stream';
ALTER TABLE candles ADD COLUMN stream_volume numeric;
ALTER TABLE candles ADD CONSTRAINT candles_origin CHECK (origin IN ('stream', 'backfill', 'merged'));
ALTER TABLE candles DROP CONSTRAINT candles_volume;
ALTER TABLE candles ADD CONSTRAINT candles_volume CHECK (volume >= 0 AND (tick_count > 0 OR origin <> 'stream'));

-- The provider's own symbol (`BTC-USD`, `OANDA:EUR_USD`) from the gap events: REST history is asked by it.
ALTER TABLE gaps ADD COLUMN venue_symbol text;

-- For any source, symbol and range, each minute is:
--   `complete`        a 1-minute candle exists and no unrepaired gap covers the minute (detail: its origin),
--   `confirmed_empty` the provider's history has no candle for it (no trades),
--   `missing`         otherwise; detail names the gap covering it, its status, reasons and last error
--                     (NULL detail: no gap was ever reported there, e.g. a quiet minute before any repair).
CREATE OR REPLACE FUNCTION gap_coverage(p_source text, p_symbol text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (minute timestamptz, state text, detail text)
LANGUAGE sql STABLE AS $$
    SELECT m.minute,
           CASE WHEN g.detail IS NULL AND c.origin IS NOT NULL THEN 'complete'
                WHEN e.minute IS NOT NULL THEN 'confirmed_empty'
                ELSE 'missing' END,
           CASE WHEN g.detail IS NULL AND c.origin IS NOT NULL THEN c.origin
                WHEN e.minute IS NOT NULL THEN NULL
                ELSE g.detail END
    FROM generate_series(date_trunc('minute', p_from), p_to - interval '1 second', interval '1 minute') AS m(minute)
    LEFT JOIN LATERAL (SELECT c.origin FROM candles c WHERE c.source = p_source AND c.symbol = p_symbol
                         AND c.timeframe = '1m' AND c.bucket = m.minute ORDER BY c.price_type DESC LIMIT 1) c ON true
    LEFT JOIN confirmed_empty e ON e.source = p_source AND e.symbol = p_symbol AND e.minute = m.minute
    LEFT JOIN LATERAL (
        SELECT g.status || ': ' || array_to_string(g.reasons, ',') || coalesce(' (' || g.last_error || ')', '') AS detail
        FROM gaps g WHERE g.source = p_source AND g.symbol = p_symbol AND g.status <> 'filled'
          AND g.from_ts < (extract(epoch FROM m.minute)::bigint + 60) * 1000000000
          AND g.to_ts >= extract(epoch FROM m.minute)::bigint * 1000000000
        ORDER BY g.id DESC LIMIT 1) g ON true
$$;
