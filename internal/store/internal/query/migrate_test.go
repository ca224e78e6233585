package query

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// released holds, per released migration, the SHA-256 of the file each
// dialect applied before the schema was written once (the files
// postgres/migrations and sqlite/migrations held up to 011). A database
// records a migration by version and name; these keep what it ran the same.
// A shared migration gets its row here when it is written: the test fails
// on one without a row, so a later edit of it cannot pass unnoticed.
var released = []struct{ name, postgres, sqlite string }{
	{"001_init.up.sql", "ccacc58022d9d4bf7222b0e003f31cc1bd5ea01946182d2c06c667d296879322", "0dfb18e1a607cbadc9e1aba62e9d1144617622bf273ab6c8cbeb005b00f8f915"},
	{"002_callbacks.up.sql", "f7e1ae02a97785ae466749bc66d0ef3ddbf178b8ffac73dd0abb1d54cb3666ad", "77e803391f6d1acb064bcc4830e0a28298c1fb27124f17b9de897fa360aeb267"},
	{"003_webhooks.up.sql", "56faba24cd6bbf03b522c144eb8868152fa18c03284250e5f126de62d3cf41bf", "121c6206992b96ae18a19e4053cee472a17aa1bc89f432f94ee78a6b82821419"},
	{"004_v1.up.sql", "38392a71027f1f26ab51ab1945b3e31e8077a615dac6e345b54ba5e116c04d43", "a544f9abfbd0f36a94916ca6c72b7f7d99787ddef562ffc09dcb411a572607d1"},
	{"005_render_rotation.up.sql", "41ac310eeb167fcdb6ce45178ac0d96474f98aab9202bf2a275f0ab38bb728ed", "41ac310eeb167fcdb6ce45178ac0d96474f98aab9202bf2a275f0ab38bb728ed"},
	{"006_retention.up.sql", "ff2f1cd008a2dc4f0b7a84f7107747d89d6c6257d7426ce44593f8b66e1423e0", "ff2f1cd008a2dc4f0b7a84f7107747d89d6c6257d7426ce44593f8b66e1423e0"},
	{"007_queue_nodes.up.sql", "76038838e244a06948fc55f3eec52bc31840ea2e4e5e4f14b41f658067053fb7", "76038838e244a06948fc55f3eec52bc31840ea2e4e5e4f14b41f658067053fb7"},
	{"008_rate_limits.up.sql", "1222e671063684ff9fe7662380e0e64ae50deabef961ab91bcddbb633495e950", "a20a72a05d15343dc1d55b3574c9e8ad01fafa14c0131b8be4b3a0fc3a6ff061"},
	{"009_page_template_indexes.up.sql", "35d39bf7a9e0087c8fd3651e97a18450410b4a7d353f330302efa86939d4ed37", "35d39bf7a9e0087c8fd3651e97a18450410b4a7d353f330302efa86939d4ed37"},
	{"011_trace_id.up.sql", "a03d6e7f36fdd996accbf2b04ec8be06a52ca6573514f6a4e9ba5703392cd107", "a03d6e7f36fdd996accbf2b04ec8be06a52ca6573514f6a4e9ba5703392cd107"},
	{"012_renderer.up.sql", "ffd59805a889b5727b8beeb1c68bddfa5c029b9cb37c8c472916de48ff4b43c9", "ffd59805a889b5727b8beeb1c68bddfa5c029b9cb37c8c472916de48ff4b43c9"},
	{"013_user_storage.up.sql", "864ccd4004c0bdf861fb4daf6fb36ab7df1ed71535f9e44e3c4dd40871e4ecc2", "864ccd4004c0bdf861fb4daf6fb36ab7df1ed71535f9e44e3c4dd40871e4ecc2"},
	{"015_v1_wire.up.sql", "71f63b4ed9fb1cd5ae9c1a0e48e1e4aeafa8346ad1d015c21f4af5d92374e541", "71f63b4ed9fb1cd5ae9c1a0e48e1e4aeafa8346ad1d015c21f4af5d92374e541"},
}

// TestReleasedMigrationsUnchanged renders the shared migrations for each
// dialect and checks every released one is, byte for byte, the file that
// dialect applied before, under the same version and name.
func TestReleasedMigrationsUnchanged(t *testing.T) {
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
			if !slices.ContainsFunc(released, func(r struct{ name, postgres, sqlite string }) bool { return r.name == m.Name }) {
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
