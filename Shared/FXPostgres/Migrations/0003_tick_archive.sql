-- The duplicate window's table becomes the tick archive (one table, not two): `ticks` holds every
-- distinct tick's identity and event time, and, when the aggregator runs with `store_ticks`, its contract
-- fields too — written in the same transaction as the candles and offsets, exactly once. Rows without
-- `kind` exist only for duplicate suppression and are pruned after the duplicate window; archived rows
-- are kept (and, with TimescaleDB, compressed after `compress_after_days`).
ALTER TABLE tick_dedup RENAME TO ticks;
ALTER INDEX tick_dedup_ts RENAME TO ticks_ts;
ALTER TABLE ticks
    ADD COLUMN kind text,
    ADD COLUMN price numeric,
    ADD COLUMN size numeric,
    ADD COLUMN bid numeric,
    ADD COLUMN ask numeric,
    ADD COLUMN bid_size numeric,
    ADD COLUMN ask_size numeric,
    ADD COLUMN seq bigint,
    ADD COLUMN trade_id text,
    ADD COLUMN kafka_partition integer;
-- A hypertable's unique indexes include its time column; a duplicate has the same event time anyway.
ALTER TABLE ticks DROP CONSTRAINT tick_dedup_pkey;
ALTER TABLE ticks ADD PRIMARY KEY (source, symbol, tick_key, ts);

-- `ts` is nanoseconds since the epoch: TimescaleDB policies on it need "now" in the same unit.
CREATE FUNCTION fxstream_now_ns() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000000000)::bigint $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- One-day chunks (in ns).
        PERFORM create_hypertable('ticks', 'ts', chunk_time_interval => 86400000000000, migrate_data => true);
        PERFORM set_integer_now_func('ticks', 'fxstream_now_ns');
    END IF;
END
$$;
