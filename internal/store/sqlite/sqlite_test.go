package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite"
	"github.com/renderhook/renderhook/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, error) {
		return sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "db", "test.db")})
	})
}

// TestMigration004Backfill checks that spaces created before migration 004
// get a render key, render secret and GET-render token, all distinct.
func TestMigration004Backfill(t *testing.T) {
	// Roll 004 back by hand (with 006's index on one of its columns).
	storetest.Backfill004(t, func(t *testing.T) (store.Store, error) {
		return sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "test.db")})
	}, `DROP INDEX renders_leftovers_idx`, `DROP INDEX spaces_render_key_idx`, `DROP INDEX renders_cache_idx`,
		`ALTER TABLE spaces DROP COLUMN render_key`, `ALTER TABLE spaces DROP COLUMN render_secret`,
		`ALTER TABLE spaces DROP COLUMN get_render_token`, `ALTER TABLE renders DROP COLUMN cache_key`,
		`ALTER TABLE renders DROP COLUMN metadata`, `ALTER TABLE request_logs DROP COLUMN cache_hit`)
}

// TestOpenPathWithURICharacters: a path with '#', '?' and '%' opens that
// very file (it used to be cut at the first of them, so two such paths
// could share one database).
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a#01", "a?b=1", "100%25x", "a#02"} {
		path := filepath.Join(dir, name, "test.db")
		st, err := sqlite.Open(sqlite.Config{Path: path})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatalf("%s: migrate: %v", name, err)
		}
		st.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: the database is not at its path: %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files in the temp dir: %v, want the 4 directories only", names)
	}
}
