package queue_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

type pingArgs struct{ N int }

func (pingArgs) Kind() string { return "test.ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done chan int
}

func (w *pingWorker) Work(_ context.Context, j *river.Job[pingArgs]) error {
	w.done <- j.Args.N
	return nil
}

// onceArgs is a kind River keeps unique by its args.
type onceArgs struct{ N int }

func (onceArgs) Kind() string { return "test.once" }

func (onceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type onceWorker struct{ river.WorkerDefaults[onceArgs] }

func (onceWorker) Work(context.Context, *river.Job[onceArgs]) error { return nil }

// run starts a queue on st (migrated) and returns it with the channel its
// worker reports to.
func run(t *testing.T, st store.Store, poll time.Duration) (*queue.Queue, chan int) {
	t.Helper()
	return runConfig(t, queue.Config{Store: st, PollInterval: poll})
}

// runConfig is run with a whole queue configuration (cfg.Store set).
func runConfig(t *testing.T, cfg queue.Config) (*queue.Queue, chan int) {
	t.Helper()
	ctx := context.Background()
	st := cfg.Store
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := queue.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	// Migrating again is a no-op.
	if err := queue.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &pingWorker{done: make(chan int, 10)}
	river.AddWorker(q.Workers, w)
	river.AddWorker(q.Workers, onceWorker{})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx, time.Second)
	})
	return q, w.done
}

func testQueue(t *testing.T, st store.Store, poll time.Duration) {
	ctx := context.Background()
	q, done := run(t, st, poll)

	// A committed job runs.
	if err := st.InTx(ctx, func(tx store.Tx) error { return q.InsertTx(ctx, tx, pingArgs{N: 2}) }); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-done:
		if n != 2 {
			t.Fatalf("worked job %d, want 2", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("committed job did not run")
	}
	// A job whose transaction rolls back never exists.
	boom := errors.New("boom")
	if err := st.InTx(ctx, func(tx store.Tx) error {
		if err := q.InsertTx(ctx, tx, pingArgs{N: 1}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds("test.ping"))
	if err != nil || len(res.Jobs) != 1 {
		t.Fatalf("%d jobs listed (%v), want 1", len(res.Jobs), err)
	}
	// Plain jobs take River's fast insert; a unique kind's second insert
	// is skipped rather than failing its transaction.
	for range 2 {
		if err := st.InTx(ctx, func(tx store.Tx) error { return q.InsertTx(ctx, tx, onceArgs{N: 7}, pingArgs{N: 3}) }); err != nil {
			t.Fatalf("insert a unique job again: %v", err)
		}
	}
	for kind, want := range map[string]int{"test.once": 1, "test.ping": 3} {
		res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds(kind).States(rivertype.JobStates()...))
		if err != nil || len(res.Jobs) != want {
			t.Fatalf("%d %s jobs listed (%v), want %d", len(res.Jobs), kind, err, want)
		}
	}
}

// closing returns a function that takes an opened store and its error: it
// fails the test on the error and closes the store when the test ends.
func closing[S interface{ Close() error }](t *testing.T) func(S, error) S {
	return func(st S, err error) S {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

// migrate applies the store's and River's migrations to st.
func migrate(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := queue.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
}

func newSQLite(t *testing.T) *sqlite.Store {
	return closing[*sqlite.Store](t)(sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db")}))
}

func TestSQLite(t *testing.T) {
	testQueue(t, newSQLite(t), 0)
}

// TestPostgres polls only once an hour: the job can start only because
// the insert notified the listening client.
func TestPostgres(t *testing.T) {
	testQueue(t, closing[*postgres.Store](t)(postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t)})), time.Hour)
}

type otherTx struct{ store.Tx }

// QueueTx is no transaction of the queue's database.
func (otherTx) QueueTx() store.QueueTx { return store.QueueTx{} }

func TestInsertTxRefusesForeignTransaction(t *testing.T) {
	q, _ := run(t, newSQLite(t), 0)
	if err := q.InsertTx(context.Background(), otherTx{}, pingArgs{}); err == nil {
		t.Fatal("a job was inserted into a foreign transaction")
	}
}

type blockArgs struct{}

func (blockArgs) Kind() string { return "test.block" }

// blockWorker's jobs run until their context ends.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	w.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// sqliteStore is a migrated SQLite store.
func sqliteStore(t *testing.T) store.Store {
	t.Helper()
	st := newSQLite(t)
	migrate(t, st)
	return st
}

// TestStopHandsBackRunningJobsAtDeadline checks a shutdown's two steps: a
// signal (the cancelled start context) does not stop the queue, and Stop
// waits for running jobs until its context ends, then cancels them within
// the hard-stop budget, leaving them retryable for any worker.
func TestStopHandsBackRunningJobsAtDeadline(t *testing.T) {
	st := sqliteStore(t)
	q, err := queue.New(queue.Config{Store: st, JobTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	w := &blockWorker{started: make(chan struct{}, 1)}
	river.AddWorker(q.Workers, w)
	ping := &pingWorker{done: make(chan int, 1)}
	river.AddWorker(q.Workers, ping)
	startCtx, cancelStart := context.WithCancel(context.Background())
	if err := q.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	cancelStart() // as when SIGTERM ends the serve command's context

	ctx := context.Background()
	if err := st.InTx(ctx, func(tx store.Tx) error { return q.InsertTx(ctx, tx, pingArgs{N: 7}, blockArgs{}) }); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-ping.done:
		case <-w.started:
		case <-time.After(30 * time.Second):
			t.Fatal("jobs inserted after the start context ended did not run")
		}
	}

	soft, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := q.Stop(soft, 5*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 3*time.Second {
		t.Fatalf("stop took %s: want the soft 300ms, then a prompt cancel", took)
	}
	res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds("test.block"))
	if err != nil || len(res.Jobs) != 1 {
		t.Fatalf("%d jobs (%v)", len(res.Jobs), err)
	}
	if j := res.Jobs[0]; string(j.State) != "retryable" && string(j.State) != "available" {
		t.Fatalf("cancelled job is %s, want retryable", j.State)
	}
}

// TestInsertOnlyLeavesJobsToWorkers runs an insert-only queue (an API
// node) and a working one (a worker node) on one database: jobs inserted
// by the first are worked by the second only.
func TestInsertOnlyLeavesJobsToWorkers(t *testing.T) {
	st := sqliteStore(t)
	ctx := context.Background()
	api, err := queue.New(queue.Config{Store: st, InsertOnly: true, ID: "api-node"})
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(api.Workers, &pingWorker{done: make(chan int, 1)})
	if err := api.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if api.Working() {
		t.Fatal("an insert-only queue says it works jobs")
	}
	worker, done := runConfig(t, queue.Config{Store: st, ID: "worker-node"})

	for i := range 5 {
		if err := st.InTx(ctx, func(tx store.Tx) error { return api.InsertTx(ctx, tx, pingArgs{N: i}) }); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the worker did not work the API's jobs")
		}
	}
	res, err := worker.Client().JobList(ctx, river.NewJobListParams().Kinds("test.ping"))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		if len(j.AttemptedBy) == 0 || j.AttemptedBy[0] != "worker-node" {
			t.Fatalf("job %d attempted by %v, want the worker only", j.ID, j.AttemptedBy)
		}
	}
}

// TestFinishedJobRetention checks that a finished job (whose args may carry
// a request's data) is deleted once FinishedJobRetention has passed, not
// after River's default day.
func TestFinishedJobRetention(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	q, done := runConfig(t, queue.Config{Store: st, PollInterval: 20 * time.Millisecond, FinishedJobRetention: time.Second})
	var id int64
	if err := st.InTx(ctx, func(tx store.Tx) error { return q.InsertTx(ctx, tx, pingArgs{N: 1}) }); err != nil {
		t.Fatal(err)
	}
	<-done
	var state rivertype.JobState
	gone := eventually(90*time.Second, func() bool {
		res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds("test.ping").States(rivertype.JobStateCompleted, rivertype.JobStateRunning, rivertype.JobStateAvailable))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) == 0 {
			return true
		}
		id, state = res.Jobs[0].ID, res.Jobs[0].State
		return false
	})
	if !gone {
		t.Fatalf("job %d (%s) still kept", id, state)
	}
}

// eventually polls cond until it holds or within has passed, and reports
// whether it held.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}
