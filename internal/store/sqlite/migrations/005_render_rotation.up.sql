-- Rotation with overlap for the render secret (signed links) and the
-- GET-render token (?gt=): the value before the last rotation keeps working
-- until its *_prev_until (unix ms), as webhook secrets do.
ALTER TABLE spaces ADD COLUMN render_secret_prev TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN render_secret_prev_until BIGINT;
ALTER TABLE spaces ADD COLUMN get_render_token_prev TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN get_render_token_prev_until BIGINT;
