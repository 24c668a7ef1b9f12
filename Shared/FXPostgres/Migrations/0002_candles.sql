-- Candles, the tick identities seen (duplicate suppression) and the aggregator's stored offsets.
-- Works on plain PostgreSQL 15; with TimescaleDB, `candles` becomes a hypertable on `bucket`.

CREATE TABLE candles (
    source       text        NOT NULL,
    symbol       text        NOT NULL,
    timeframe    text        NOT NULL,
    price_type   text        NOT NULL CHECK (price_type IN ('trade', 'mid', 'bid', 'ask')),
    bucket       timestamptz NOT NULL,
    open         numeric     NOT NULL,
    high         numeric     NOT NULL,
    low          numeric     NOT NULL,
    close        numeric     NOT NULL,
    volume       numeric     NOT NULL,
    tick_count   bigint      NOT NULL,
    -- sum(price * size): vwap = notional / volume; kept so merges stay exact.
    notional     numeric     NOT NULL,
    vwap         numeric,
    -- Event times (ns since the epoch) of the opening and closing ticks.
    open_ts      bigint      NOT NULL,
    close_ts     bigint      NOT NULL,
    -- Order keys of the opening/closing ticks (ts, seq, trade_id, identity), byte-comparable.
    open_key     text COLLATE "C" NOT NULL,
    close_key    text COLLATE "C" NOT NULL,
    revision     integer     NOT NULL DEFAULT 1,
    -- Highest revision published on the candles topic with final = true.
    final_revision     integer NOT NULL DEFAULT 0,
    -- The fx.ticks partition the symbol's ticks come from (key -> partition is fixed): the owner of that
    -- partition closes the candle.
    ticks_topic        text    NOT NULL,
    kafka_partition    integer NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, symbol, timeframe, price_type, bucket),
    CONSTRAINT candles_prices_not_nan CHECK (open <> 'NaN' AND high <> 'NaN' AND low <> 'NaN' AND close <> 'NaN'
                                             AND volume <> 'NaN' AND notional <> 'NaN'),
    CONSTRAINT candles_prices_positive CHECK (open > 0 AND high > 0 AND low > 0 AND close > 0),
    CONSTRAINT candles_range CHECK (low <= open AND open <= high AND low <= close AND close <= high),
    CONSTRAINT candles_volume CHECK (volume >= 0 AND tick_count > 0)
);

CREATE INDEX candles_unfinal ON candles (ticks_topic, kafka_partition, bucket) WHERE final_revision < revision;

-- Identities of ticks already counted (trades by trade_id), pruned by event time after the
-- configured duplicate window.
CREATE TABLE tick_dedup (
    source   text NOT NULL,
    symbol   text NOT NULL,
    tick_key text COLLATE "C" NOT NULL,
    ts       bigint NOT NULL,
    PRIMARY KEY (source, symbol, tick_key)
);
CREATE INDEX tick_dedup_ts ON tick_dedup (ts);

-- The aggregator's position per partition, written in the same transaction as the candles.
-- `generation` fences a consumer that lost its partition: every write checks it.
CREATE TABLE aggregator_offsets (
    consumer_group text   NOT NULL,
    topic          text   NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint,
    generation     bigint NOT NULL DEFAULT 0,
    owner          text   NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('candles', 'bucket', chunk_time_interval => INTERVAL '7 days', migrate_data => true);
    END IF;
END
$$;
