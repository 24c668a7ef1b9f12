-- The backfiller's completeness ledger.
-- `gaps`: windows of event time (ns, inclusive) that may miss data for one source and symbol. Gap events
-- are recorded once (`gap_events` holds their identities); overlapping or adjacent open windows merge.
-- Work is claimed with a lease (`FOR UPDATE SKIP LOCKED`), so a killed worker's gap is claimed again
-- once its lease ends.
CREATE TABLE gaps (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL,
    symbol          text NOT NULL,
    from_ts         bigint NOT NULL,
    to_ts           bigint NOT NULL,
    reasons         text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'filling', 'filled', 'unfillable', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (from_ts <= to_ts)
);
CREATE INDEX gaps_window ON gaps (source, symbol, from_ts);
CREATE INDEX gaps_due ON gaps (next_attempt_at) WHERE status IN ('open', 'failed', 'filling');

-- Identities of the gap events already recorded (a replayed event changes nothing).
CREATE TABLE gap_events (
    event_key   text PRIMARY KEY,
    gap_id      bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Minutes the provider confirmed to have no candle (no trades), so the ledger can answer for them.
CREATE TABLE confirmed_empty (
    source    text NOT NULL,
    symbol    text NOT NULL,
    minute    timestamptz NOT NULL,
    origin    text NOT NULL DEFAULT 'backfill',
    PRIMARY KEY (source, symbol, minute)
);

-- For any source, symbol and range: each minute is `complete` (a 1-minute candle exists),
-- `confirmed_empty` (the provider has no candle for it) or `missing` (with the gap's status and why).
CREATE FUNCTION gap_coverage(p_source text, p_symbol text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (minute timestamptz, state text, detail text)
LANGUAGE sql STABLE AS $$
    SELECT m.minute,
           CASE WHEN EXISTS (SELECT 1 FROM candles c WHERE c.source = p_source AND c.symbol = p_symbol
                                 AND c.timeframe = '1m' AND c.bucket = m.minute) THEN 'complete'
                WHEN EXISTS (SELECT 1 FROM confirmed_empty e WHERE e.source = p_source AND e.symbol = p_symbol
                                 AND e.minute = m.minute) THEN 'confirmed_empty'
                ELSE 'missing' END,
           (SELECT g.status || ': ' || array_to_string(g.reasons, ',') || coalesce(' (' || g.last_error || ')', '')
            FROM gaps g WHERE g.source = p_source AND g.symbol = p_symbol AND g.status <> 'filled'
              AND g.from_ts < (extract(epoch FROM m.minute)::bigint + 60) * 1000000000
              AND g.to_ts >= extract(epoch FROM m.minute)::bigint * 1000000000
            ORDER BY g.id DESC LIMIT 1)
    FROM generate_series(date_trunc('minute', p_from), p_to - interval '1 second', interval '1 minute') AS m(minute)
$$;
