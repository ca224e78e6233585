-- Which renderer a template's renders use: 'html' (Chromium, the default),
-- 'takumi' (the browserless fast path) or 'auto' (takumi when the
-- template's HTML and CSS are within what it draws correctly).
ALTER TABLE templates ADD COLUMN render_type TEXT NOT NULL DEFAULT 'html';
-- Which renderer made a log entry's file: 'chromium' or 'takumi' ('' when
-- nothing was rendered, e.g. a cache hit or a refused request).
ALTER TABLE request_logs ADD COLUMN renderer TEXT NOT NULL DEFAULT '';
