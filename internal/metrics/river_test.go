package metrics_test

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/renderhook/renderhook/internal/metrics"
	"github.com/renderhook/renderhook/internal/queue/queuetest"
)

// riverJobs are the jobs the JobCounts tests insert, as River's columns
// take them in both dialects.
const riverJobs = `INSERT INTO river_job(args, kind, max_attempts, queue, state) VALUES
	('{}', 'render.store', 3, 'default', 'available'), ('{}', 'render.store', 3, 'default', 'available'),
	('{}', 'webhook.deliver', 3, 'webhooks', 'retryable')`

// wantJobCounts reports unless count finds the jobs riverJobs inserted.
func wantJobCounts(t *testing.T, count metrics.JobCounter) {
	t.Helper()
	if count == nil {
		t.Fatal("no job counter for the store")
	}
	got, err := count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b metrics.JobCount) int { return cmp.Compare(a.Kind, b.Kind) })
	want := []metrics.JobCount{{Queue: "default", Kind: "render.store", State: "available", N: 2},
		{Queue: "webhooks", Kind: "webhook.deliver", State: "retryable", N: 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("counted %+v, want %+v", got, want)
	}
}

// TestJobCountsSQLite: the counter of an SQLite store counts River's jobs
// by queue, kind and state.
func TestJobCountsSQLite(t *testing.T) {
	st := queuetest.SQLite(t, t.TempDir())
	if _, err := st.DB().ExecContext(context.Background(), riverJobs); err != nil {
		t.Fatal(err)
	}
	wantJobCounts(t, metrics.JobCounts(st))
}

// TestJobCountsPostgres: the same through PostgreSQL's pool.
func TestJobCountsPostgres(t *testing.T) {
	st := queuetest.Postgres(t, 2)
	if _, err := st.Pool().Exec(context.Background(), riverJobs); err != nil {
		t.Fatal(err)
	}
	wantJobCounts(t, metrics.JobCounts(st))
}
