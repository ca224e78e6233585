-- Each node that works jobs records its current job-queue (River) client
-- ID under its stable node ID, so that after a restart it can resume at
-- once the jobs its previous process was working (internal/queue/resume.go).
CREATE TABLE queue_nodes (
    node_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
