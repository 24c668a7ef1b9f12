-- The duplicate check at half the cost: every flush inserts one `ticks` row per distinct tick, and the
-- primary key led by text columns (plus a second index on `ts`) made that insert the aggregator's
-- bottleneck. Led by the event time, the key's inserts land at the right edge of the index, most
-- comparisons end at the first (integer) column, and the same index serves the duplicate window's
-- pruning (`ts < horizon`), so the separate `ts` index goes. Uniqueness is unchanged: the same four
-- columns. Archive queries by symbol use the time range (chunk exclusion) and, once compressed, the
-- `source, symbol` segments.
DO $$
DECLARE
    compressed boolean := false;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        SELECT coalesce(bool_or(is_compressed), false) INTO compressed
        FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks';
        IF compressed THEN
            RAISE NOTICE 'ticks has compressed chunks: its primary key keeps its column order (source, symbol, tick_key, ts)';
            RETURN;
        END IF;
        -- Compression settings refer to the key; the aggregator sets them again at start-up (store_ticks).
        IF EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'ticks' AND compression_enabled) THEN
            PERFORM remove_compression_policy('ticks', if_exists => true);
            ALTER TABLE ticks SET (timescaledb.compress = false);
        END IF;
    END IF;
    ALTER TABLE ticks DROP CONSTRAINT ticks_pkey;
    ALTER TABLE ticks ADD PRIMARY KEY (ts, source, symbol, tick_key);
    DROP INDEX IF EXISTS ticks_ts;
END
$$;
