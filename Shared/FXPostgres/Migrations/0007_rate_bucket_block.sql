-- A provider's 429 blocks its bucket until `blocked_until` (the answer's Retry-After). Reservations
-- made before the 429 are checked against it just before their request is sent, so no replica sends
-- inside a Retry-After, even one that had already taken its token.
ALTER TABLE rate_buckets ADD COLUMN blocked_until timestamptz NOT NULL DEFAULT '-infinity';
