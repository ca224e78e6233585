-- When a render's bytes reached the blob store; NULL while they wait in
-- render_spool for the store job.
ALTER TABLE renders ADD COLUMN stored_at BIGINT;

-- Bytes of binary renders, written in the transaction that records the
-- render and read by the store job, which deletes the row once uploaded.
-- Living in the database, the spool is shared by every node that shares it.
CREATE TABLE render_spool (
    render_id  TEXT PRIMARY KEY REFERENCES renders(id) ON DELETE CASCADE,
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per request to the render endpoints.
--
-- JSON columns here and elsewhere are TEXT, not jsonb: jsonb refuses the
-- escape \u0000, which a page value or a webhook receiver's answer can
-- carry, and would reorder keys; TEXT keeps both drivers byte-identical.
CREATE TABLE request_logs (
    -- COLLATE "C": ids compare bytewise, as in SQLite, whatever the
    -- database's locale, so the (created_at, id) cursor pages alike.
    id              TEXT COLLATE "C" PRIMARY KEY, -- the request id
    space_id        TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    query           TEXT NOT NULL DEFAULT '',    -- sanitised
    body            TEXT NOT NULL DEFAULT '',    -- sanitised
    status          INTEGER NOT NULL,
    duration_ms     BIGINT NOT NULL DEFAULT 0,
    token_prefix    TEXT NOT NULL DEFAULT '',
    render_id       TEXT NOT NULL DEFAULT '',
    format          TEXT NOT NULL DEFAULT '',
    size            BIGINT NOT NULL DEFAULT 0,
    file_key        TEXT NOT NULL DEFAULT '',    -- set by the log callback
    queue_ms        BIGINT NOT NULL DEFAULT 0,
    render_ms       BIGINT NOT NULL DEFAULT 0,
    total_ms        BIGINT NOT NULL DEFAULT 0,
    error_code      TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    callback_status TEXT NOT NULL DEFAULT 'none', -- none|pending|succeeded|failed
    callbacks       TEXT NOT NULL DEFAULT '{}'    -- per callback: state, attempts, error
);
CREATE INDEX request_logs_space_idx ON request_logs(space_id, created_at DESC, id DESC);
CREATE INDEX request_logs_created_idx ON request_logs(created_at);
CREATE INDEX request_logs_render_idx ON request_logs(render_id);

-- One row per billed render: the primary key makes counting idempotent.
CREATE TABLE credit_ledger (
    render_id  TEXT PRIMARY KEY,
    space_id   TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    amount     BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- When the credits callback billed the render (its ledger row's time).
ALTER TABLE renders ADD COLUMN billed_at BIGINT;
CREATE INDEX renders_status_idx ON renders(space_id, status);
-- Renders that will cost a credit but are not billed yet (succeeded, or
-- queued/rendering async ones), for the credit-limit check: small, because
-- the credits callback bills within moments.
CREATE INDEX renders_unbilled_idx ON renders(space_id) WHERE status <> 'failed' AND billed_at IS NULL;
