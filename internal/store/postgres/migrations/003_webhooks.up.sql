-- The space's webhook signing secret (for per-request webhook_url
-- deliveries); the previous one keeps signing alongside for 24 h after a
-- rotation.
ALTER TABLE spaces ADD COLUMN webhook_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN webhook_secret_prev TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN webhook_secret_rotated_at BIGINT;

-- Async renders: what to render, where to notify, and when it ran.
ALTER TABLE renders ADD COLUMN options TEXT NOT NULL DEFAULT '';
ALTER TABLE renders ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE renders ADD COLUMN started_at BIGINT;
ALTER TABLE renders ADD COLUMN ended_at BIGINT;

-- Webhook endpoints configured per space.
CREATE TABLE webhook_endpoints (
    id                TEXT PRIMARY KEY,
    space_id          TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    events            TEXT NOT NULL DEFAULT '[]',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason   TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL,
    secret_prev       TEXT NOT NULL DEFAULT '',
    secret_rotated_at BIGINT,
    failing_since     BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_space_idx ON webhook_endpoints(space_id);

-- One row per message to one target; its attempts are kept with it (a JSON
-- array in TEXT, appended to in place by RecordDeliveryAttempt).
CREATE TABLE webhook_deliveries (
    id            TEXT COLLATE "C" PRIMARY KEY,  -- also the webhook-id header; bytewise like request_logs.id
    space_id      TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    endpoint_id   TEXT NOT NULL DEFAULT '',      -- '' for a request's own webhook_url
    url           TEXT NOT NULL,
    event         TEXT NOT NULL,
    render_id     TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL,                 -- pending|succeeded|failed|exhausted
    attempts      TEXT NOT NULL DEFAULT '[]',
    attempt_count INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_space_idx ON webhook_deliveries(space_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_render_idx ON webhook_deliveries(render_id);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries(endpoint_id);
