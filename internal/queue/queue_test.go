package queue_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

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

// run starts a queue on st (migrated) and returns it with the channel its
// worker reports to.
func run(t *testing.T, st store.Store, poll time.Duration) (*queue.Queue, chan int) {
	t.Helper()
	ctx := context.Background()
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
	q, err := queue.New(queue.Config{Store: st, PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	w := &pingWorker{done: make(chan int, 10)}
	river.AddWorker(q.Workers, w)
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
}

func TestSQLite(t *testing.T) {
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testQueue(t, st, 0)
}

// TestPostgres polls only once an hour: the job can start only because
// the insert notified the listening client.
func TestPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testQueue(t, st, time.Hour)
}

type otherTx struct{ store.Tx }

func (otherTx) Driver() any { return "not a transaction" }

func TestInsertTxRefusesForeignTransaction(t *testing.T) {
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, _ := run(t, st, 0)
	if err := q.InsertTx(context.Background(), otherTx{}, pingArgs{}); err == nil {
		t.Fatal("a job was inserted into a foreign transaction")
	}
}
