package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
)

// startNode starts a working queue as node nodeID with River client id.
func startNode(t *testing.T, st store.Store, nodeID, id string, done chan int) *queue.Queue {
	t.Helper()
	q, err := queue.New(queue.Config{Store: st, NodeID: nodeID, ID: id, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(q.Workers, &pingWorker{done: done})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx, time.Second)
	})
	return q
}

// runningJob inserts a ping job as River leaves one whose process is
// working it (or died working it): running, last attempted by client.
func runningJob(t *testing.T, st *postgres.Store, n int, client string) int64 {
	t.Helper()
	var id int64
	err := st.Pool().QueryRow(context.Background(), `INSERT INTO river_job(args, kind, max_attempts, queue, state, attempt, attempted_at, attempted_by, priority)
		VALUES (jsonb_build_object('N', $1::int), 'test.ping', 20, 'default', 'running', 1, now(), ARRAY['someone-before', $2], 1) RETURNING id`, n, client).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func jobState(t *testing.T, st *postgres.Store, id int64) string {
	t.Helper()
	var s string
	if err := st.Pool().QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitWorked(t *testing.T, done chan int, want int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case n := <-done:
			if n == want {
				return
			}
		case <-deadline:
			t.Fatalf("job %d not worked within %s", want, within)
		}
	}
}

// TestResumeOnlyOwnJobsPostgres: a restarted node resumes at once the
// running jobs of its own previous client, and nobody else's: not another
// node's, and not those of a process still holding its identity, until
// that process is gone.
func TestResumeOnlyOwnJobsPostgres(t *testing.T) {
	if !pgtest.Enabled() {
		t.Skip(pgtest.EnvURL + " is not set")
	}
	ctx := context.Background()
	st := closing[*postgres.Store](t)(postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t)}))
	migrate(t, st)

	// Node n1's previous process (client-dead) died holding job 1; node n9's
	// live client holds job 2.
	if _, err := st.SwapQueueNode(ctx, "n1", "client-dead"); err != nil {
		t.Fatal(err)
	}
	own := runningJob(t, st, 1, "client-dead")
	other := runningJob(t, st, 2, "client-n9")
	done := make(chan int, 10)
	start := time.Now()
	startNode(t, st, "n1", "client-n1-new", done)
	waitWorked(t, done, 1, 5*time.Second)
	t.Logf("own job resumed and worked %s after the start", time.Since(start).Round(time.Millisecond))
	if !eventually(5*time.Second, func() bool { return jobState(t, st, own) == "completed" }) {
		t.Fatalf("own job %s after it was worked, want completed", jobState(t, st, own))
	}
	if s := jobState(t, st, other); s != "running" {
		t.Fatalf("another node's running job is %s, want left running", s)
	}

	// Node n2 is running (client-n2a, holding a job); a second process
	// started with the same identity must leave that job alone while the
	// first lives, and take it once the first is gone.
	// (Every node's worker reports to done: any of them may work it.)
	first := startNode(t, st, "n2", "client-n2a", done)
	live := runningJob(t, st, 3, "client-n2a")
	second := startNode(t, st, "n2", "client-n2b", done)
	// Once the second process has tried the identity's lock again (at
	// start, then after the 2 s retry), the job table must show the job
	// still running, untouched.
	if !eventually(10*time.Second, func() bool { return second.LockTries() >= 2 }) {
		t.Fatalf("the second process tried the node lock %d times, want a retry", second.LockTries())
	}
	if s := jobState(t, st, live); s != "running" {
		t.Fatalf("a live process's job is %s while it holds the identity, want running", s)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := first.Stop(sctx, time.Second); err != nil {
		t.Fatal(err)
	}
	waitWorked(t, done, 3, 10*time.Second)
}
