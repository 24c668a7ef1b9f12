-- Token buckets shared by every backfiller replica, one row per provider credential (or source).
-- GCRA form: `tat` is the bucket's theoretical arrival time; taking a token is one statement that
-- moves it by the emission interval, so N replicas together never exceed the rate and burst.
CREATE TABLE rate_buckets (
    bucket     text PRIMARY KEY,
    tat        timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
