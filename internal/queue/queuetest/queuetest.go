// Package queuetest gives tests a store ready for the job queue.
package queuetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// SQLite opens dir/renderhook.db, applies renderhook's migrations and
// River's, and closes the store when the test ends.
func SQLite(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
	return ready(t, st, err)
}

// Postgres is SQLite on a schema of its own in the test database
// (pgtest.URL: the test is skipped without one), through a pool of at
// most maxConns connections.
func Postgres(t testing.TB, maxConns int32) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t), MaxConns: maxConns})
	return ready(t, st, err)
}

// ready fails the test on err, closes st when the test ends and applies
// renderhook's migrations and River's.
func ready[S store.Store](t testing.TB, st S, err error) S {
	t.Helper()
	ctx := context.Background()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := queue.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	return st
}
