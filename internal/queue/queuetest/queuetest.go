// Package queuetest gives tests a store ready for the job queue.
package queuetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// SQLite opens dir/renderhook.db, applies renderhook's migrations and
// River's, and closes the store when the test ends.
func SQLite(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
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
