-- v1 API: every space gets a public render key and a render secret for
-- signed render links (HMAC-SHA256 of the query), and a GET-render token
-- (?gt=) for page renders whose template requires a token. Existing spaces
-- are backfilled with random values (gen_random_uuid is a CSPRNG, built in
-- since PostgreSQL 13).
ALTER TABLE spaces ADD COLUMN render_key TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN render_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN get_render_token TEXT NOT NULL DEFAULT '';
UPDATE spaces SET
    render_key = 'rk_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 20),
    render_secret = replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
    get_render_token = replace(gen_random_uuid()::text, '-', '')
WHERE render_key = '';
CREATE UNIQUE INDEX spaces_render_key_idx ON spaces(render_key);

-- The render cache: a hash of the space and the canonical options, looked
-- up by identical requests within their ttl; metadata is echoed in webhooks.
ALTER TABLE renders ADD COLUMN cache_key TEXT NOT NULL DEFAULT '';
ALTER TABLE renders ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
CREATE INDEX renders_cache_idx ON renders(space_id, cache_key, created_at) WHERE cache_key <> '';

-- A request answered from the render cache (no render, no credit).
ALTER TABLE request_logs ADD COLUMN cache_hit BOOLEAN NOT NULL DEFAULT FALSE;
