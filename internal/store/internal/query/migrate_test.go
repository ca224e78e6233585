package query

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// releasedMigration is a line of testdata/released.txt: the SHA-256 of the
// file each dialect applied for a released migration (up to 011 these were
// the files postgres/migrations and sqlite/migrations held). A database
// records a migration by version and name; these keep what it ran the same.
// A shared migration gets its line when it is written: the test fails on
// one without a line, so a later edit of it cannot pass unnoticed.
type releasedMigration struct{ name, postgres, sqlite string }

// readReleased reads testdata/released.txt.
func readReleased(t *testing.T) []releasedMigration {
	t.Helper()
	b, err := os.ReadFile("testdata/released.txt")
	if err != nil {
		t.Fatal(err)
	}
	var list []releasedMigration
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 {
			t.Fatalf("released.txt: %q is not name, postgres hash, sqlite hash", line)
		}
		list = append(list, releasedMigration{f[0], f[1], f[2]})
	}
	return list
}

// TestReleasedMigrationsUnchanged renders the shared migrations for each
// dialect and checks every released one is, byte for byte, the file that
// dialect applied before, under the same version and name.
func TestReleasedMigrationsUnchanged(t *testing.T) {
	released := readReleased(t)
	for _, d := range []struct {
		name   string
		schema Schema
		hash   func(r int) string
	}{
		{"postgres", PostgresSchema, func(r int) string { return released[r].postgres }},
		{"sqlite", SQLiteSchema, func(r int) string { return released[r].sqlite }},
	} {
		list, err := Migrations(d.schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Migration{}
		for _, m := range list {
			byName[m.Name] = m
			if !slices.ContainsFunc(released, func(r releasedMigration) bool { return r.name == m.Name }) {
				sum := sha256.Sum256([]byte(m.Script))
				t.Errorf("%s: migration %s has no row in released; add it with sha256 %s", d.name, m.Name, hex.EncodeToString(sum[:]))
			}
		}
		for r, rel := range released {
			m, ok := byName[rel.name]
			if !ok {
				t.Errorf("%s: released migration %s is gone", d.name, rel.name)
				continue
			}
			sum := sha256.Sum256([]byte(m.Script))
			if got := hex.EncodeToString(sum[:]); got != d.hash(r) {
				t.Errorf("%s: %s renders to sha256 %s, released as %s:\n%s", d.name, rel.name, got, d.hash(r), m.Script)
			}
		}
	}
}

// TestMigrationsMergeOwnFiles: a dialect's own plain file joins the shared
// ones in version order, and a version written both ways is refused.
func TestMigrationsMergeOwnFiles(t *testing.T) {
	own := fstest.MapFS{"migrations/010_only_here.up.sql": {Data: []byte("SELECT 1;")}}
	list, err := Migrations(SQLiteSchema, own)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "009_page_template_indexes.up.sql 010_only_here.up.sql 011_trace_id.up.sql") {
		t.Errorf("order: %s", got)
	}
	clash := fstest.MapFS{"migrations/002_again.up.sql": {Data: []byte("SELECT 1;")}}
	if _, err := Migrations(PostgresSchema, clash); err == nil || !strings.Contains(err.Error(), "migration 2 is both") {
		t.Errorf("a version in both places: err = %v", err)
	}
}
