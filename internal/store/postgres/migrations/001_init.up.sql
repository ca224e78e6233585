-- The PostgreSQL twin of sqlite/migrations/001_init.up.sql: same tables and
-- columns, so both drivers read alike. Times are BIGINT unix milliseconds
-- in both dialects; JSON is kept as TEXT (see 002 for why not jsonb).

-- Spaces own every other record.
CREATE TABLE spaces (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    credit_limit BIGINT NOT NULL DEFAULT 0,
    credits_used BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

-- API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    space_id     TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    prefix       TEXT NOT NULL,
    hash         BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_space_idx ON tokens(space_id);

CREATE TABLE templates (
    id                       TEXT PRIMARY KEY,
    space_id                 TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    name                     TEXT NOT NULL,
    html                     TEXT NOT NULL,
    width                    INTEGER NOT NULL,
    height                   INTEGER NOT NULL,
    variables                TEXT NOT NULL DEFAULT '[]',
    require_get_render_token BOOLEAN NOT NULL DEFAULT TRUE,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE INDEX templates_space_idx ON templates(space_id);

-- Pages: draft_* columns are edited, published_* are what renders use.
CREATE TABLE pages (
    id                    TEXT PRIMARY KEY,
    space_id              TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    draft_template_id     TEXT NOT NULL REFERENCES templates(id),
    draft_name            TEXT NOT NULL,
    draft_values          TEXT NOT NULL DEFAULT '{}',
    published_template_id TEXT REFERENCES templates(id),
    published_name        TEXT,
    published_values      TEXT,
    published_at          BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX pages_space_idx ON pages(space_id);
-- Foreign keys are not indexed by PostgreSQL itself; deleting a template
-- checks these.
CREATE INDEX pages_draft_template_idx ON pages(draft_template_id);
CREATE INDEX pages_published_template_idx ON pages(published_template_id);

CREATE TABLE renders (
    id           TEXT PRIMARY KEY,
    space_id     TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    request_id   TEXT NOT NULL,
    page_id      TEXT NOT NULL DEFAULT '',
    template_id  TEXT NOT NULL DEFAULT '',
    format       TEXT NOT NULL,
    status       TEXT NOT NULL,
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    size         BIGINT NOT NULL DEFAULT 0,
    blob_key     TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    queue_ms     BIGINT NOT NULL DEFAULT 0,
    render_ms    BIGINT NOT NULL DEFAULT 0,
    total_ms     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX renders_space_idx ON renders(space_id, created_at);
CREATE INDEX renders_blob_idx ON renders(blob_key);

-- Server-wide settings, such as the key that signs file URLs, shared by every
-- node that uses this database.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
