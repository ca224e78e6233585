// Package sqlitetest opens throwaway SQLite stores for tests, as pgtest
// does PostgreSQL schemas.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// Open returns a new, unmigrated SQLite store in the test's temporary
// directory, closed when the test ends.
func Open(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "renderhook.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Migrated is Open with the schema migrated.
func Migrated(t testing.TB) *sqlite.Store {
	t.Helper()
	st := Open(t)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
