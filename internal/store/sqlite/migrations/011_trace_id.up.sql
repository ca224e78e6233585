-- The OpenTelemetry trace id of the request a log entry records ('' when
-- tracing is off), shown in the console's log detail.
ALTER TABLE request_logs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
