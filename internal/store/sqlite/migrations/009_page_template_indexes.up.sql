-- The pages of a template, found by index: DeleteTemplate's check that no
-- page uses a template, and the foreign keys' own checks when a template
-- is deleted. PostgreSQL has had both indexes since 001; SQLite gets them
-- here, so the two dialects' schemas match (store's TestSchemasMatch).
CREATE INDEX IF NOT EXISTS pages_draft_template_idx ON pages(draft_template_id);
CREATE INDEX IF NOT EXISTS pages_published_template_idx ON pages(published_template_id);
