-- A per-space render rate limit: a token bucket of per_minute tokens,
-- refilled continuously, taken from by one UPDATE per render request, so
-- the limit holds across every node sharing the database. No row: no limit.
CREATE TABLE rate_limits (
    space_id   TEXT PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,
    per_minute INTEGER NOT NULL CHECK (per_minute > 0),
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    last_ok    BOOLEAN NOT NULL DEFAULT TRUE
);
