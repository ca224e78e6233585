-- A v1 render's custom_id, echoed in its status answer and webhooks, and
-- its skip_webhooks: no webhook is sent for it (its callbacks still run).
ALTER TABLE renders ADD COLUMN custom_id TEXT NOT NULL DEFAULT '';
ALTER TABLE renders ADD COLUMN skip_webhooks BOOLEAN NOT NULL DEFAULT FALSE;
