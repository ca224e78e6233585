package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Resuming a node's own interrupted jobs at start.
//
// River recovers the jobs of a process that died only after RescueAfter
// (its rescuer cannot tell a dead process's job from a slow live one), so
// a node killed and restarted would leave its callbacks and deliveries
// for that long. A restarted node knows better for the jobs it held
// itself, and hands them back at once, as River's rescuer would (an
// error recorded, the attempt kept, discarded past max attempts), but
// available now rather than after the rescue delay:
//
//   - On SQLite one process works the database, so every job still
//     "running" when it starts was held by a process that is gone.
//   - On PostgreSQL other nodes may be working jobs right now. A node
//     has a stable identity (Config.NodeID) and holds, for as long as it
//     runs, a session advisory lock on it on a connection of its own;
//     PostgreSQL releases the lock when that session ends, which it
//     does when the process dies. A starting node takes the lock (and
//     keeps trying in the background while another process still holds
//     it), then swaps its River client ID for the previous one on record
//     (Store.SwapQueueNode) and resumes only the running jobs last
//     attempted by that previous client. Jobs of every other client are
//     left to River's rescuer and its unchanged delay.

// resumeBatch is how many jobs one pass reads and hands back.
const resumeBatch = 1000

// resumeRetry is how often a node whose identity is still locked by
// another process tries again.
const resumeRetry = 2 * time.Second

// resumeError is recorded in each resumed job's errors.
const resumeError = "resumed at start: the process that was working it is gone"

// resume hands back the running jobs that held tells it to (the jobs of a
// process that is gone), available at once; it returns how many.
func resume[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], held func(*rivertype.JobRow) bool) (int, error) {
	exec := driver.GetExecutor()
	horizon := time.Now().Add(time.Second)
	var after int64
	n := 0
	for {
		jobs, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: resumeBatch, StuckHorizon: horizon})
		if err != nil {
			return n, fmt.Errorf("list running jobs: %w", err)
		}
		now := time.Now().UTC()
		p := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		for _, j := range jobs {
			after = j.ID
			if !held(j) {
				continue
			}
			e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(j.Attempt, 0), Error: resumeError})
			if err != nil {
				return n, fmt.Errorf("encode error: %w", err)
			}
			state, finalized, at := rivertype.JobStateAvailable, (*time.Time)(nil), now
			if j.Attempt >= j.MaxAttempts {
				state, finalized, at = rivertype.JobStateDiscarded, &now, j.ScheduledAt
			}
			p.ID, p.Error = append(p.ID, j.ID), append(p.Error, e)
			p.FinalizedAt, p.ScheduledAt, p.State = append(p.FinalizedAt, finalized), append(p.ScheduledAt, at), append(p.State, string(state))
		}
		if len(p.ID) > 0 {
			if _, err := exec.JobRescueMany(ctx, p); err != nil {
				return n, fmt.Errorf("resume jobs: %w", err)
			}
			n += len(p.ID)
		}
		if len(jobs) < resumeBatch {
			return n, nil
		}
	}
}

// lastAttemptBy reports whether client was the last to fetch j.
func lastAttemptBy(client string) func(*rivertype.JobRow) bool {
	return func(j *rivertype.JobRow) bool {
		return len(j.AttemptedBy) > 0 && j.AttemptedBy[len(j.AttemptedBy)-1] == client
	}
}

// nodeLockKey is the advisory lock key of a node identity.
func nodeLockKey(nodeID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("renderhook node " + nodeID))
	return int64(h.Sum64()) //nolint:gosec // G115: the hash's 64 bits as PostgreSQL's bigint key; wrapping is intended
}

// nodeLock is a node identity's advisory lock, held on a connection of its
// own for the life of the process.
type nodeLock struct {
	conn *pgx.Conn
}

// tryNodeLock takes the node identity's lock on a new connection made
// like the pool's; it returns nil, nil when another session holds it.
func (q *Queue) tryNodeLock(ctx context.Context) (*nodeLock, error) {
	q.lockTries.Add(1)
	nodeID := q.cfg.NodeID
	conn, err := pgx.ConnectConfig(ctx, q.db.Pgx.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect for the node lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, nodeLockKey(nodeID)).Scan(&ok); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("take the node lock: %w", err)
	}
	if !ok {
		_ = conn.Close(ctx)
		return nil, nil
	}
	return &nodeLock{conn: conn}, nil
}

func (l *nodeLock) release(ctx context.Context) {
	if l != nil {
		_ = l.conn.Close(ctx) // ends the session, and so the lock
	}
}
