-- #16: renders stored in the client's own bucket (v1 use_s3). file_url is
-- where such a render's file is (its renderUrl); '' for renders kept in
-- renderhook's own bucket under blob_key.
ALTER TABLE renders ADD COLUMN file_url TEXT NOT NULL DEFAULT '';

-- A space's own S3 bucket, used by v1 renders with use_s3 for what the
-- request does not give. secret_sealed is the secret key sealed with the
-- server's storage credentials key (AES-256-GCM, bound to the space id;
-- internal/sealed): the plain secret is never stored.
CREATE TABLE space_storage (
    space_id         TEXT PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,
    bucket           TEXT NOT NULL DEFAULT '',
    endpoint         TEXT NOT NULL DEFAULT '',
    region           TEXT NOT NULL DEFAULT '',
    force_path_style BOOLEAN NOT NULL DEFAULT FALSE,
    access_key       TEXT NOT NULL DEFAULT '',
    secret_sealed    TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL
);
