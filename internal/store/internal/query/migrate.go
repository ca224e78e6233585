package query

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// sharedMigrations is the schema written once for both dialects:
// NNN_name.up.sql.tmpl, a text/template executed with the driver's Schema.
//
//go:embed migrations/*.up.sql.tmpl
var sharedMigrations embed.FS

// Schema is what a shared migration template may ask of its dialect. A
// rendered migration must stay byte-for-byte what it was when released
// (TestReleasedMigrationsUnchanged), so a released template is never edited.
type Schema struct {
	// Postgres selects the PostgreSQL-only text of a template
	// ({{if .Postgres}}…{{else}}…{{end}}): comments, COLLATE "C", indexes
	// PostgreSQL does not make by itself, functions of one dialect.
	Postgres bool
	// Bytes is the binary column type: BYTEA or BLOB.
	Bytes string
	// Real is the floating-point column type: DOUBLE PRECISION or REAL.
	Real string
	// BigInt is a 64-bit integer as 008 spelled it: BIGINT on PostgreSQL,
	// INTEGER on SQLite (the same 64-bit values; store.schemaAllowed names
	// it). Other migrations write BIGINT in both dialects.
	BigInt string
}

// The two dialects' schemas.
var (
	PostgresSchema = Schema{Postgres: true, Bytes: "BYTEA", Real: "DOUBLE PRECISION", BigInt: "BIGINT"}
	SQLiteSchema   = Schema{Bytes: "BLOB", Real: "REAL", BigInt: "INTEGER"}
)

// Migration is one numbered migration as the driver applies it.
type Migration struct {
	Version int
	Name    string // NNN_name.up.sql, recorded in renderhook_migrations
	Script  string
}

// Migrations lists, in order, the shared migrations rendered for s and the
// driver's own in own (migrations/NNN_name.up.sql, for a change only one
// dialect needs or written per dialect). A version in both is an error.
func Migrations(s Schema, own fs.FS) ([]Migration, error) {
	var list []Migration
	add := func(fsys fs.FS, pattern string, script func(name string, body []byte) (string, error)) error {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return fmt.Errorf("list migrations: %w", err)
		}
		for _, name := range names {
			base := strings.TrimSuffix(path.Base(name), ".tmpl")
			version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: bad version: %w", base, err)
			}
			body, err := fs.ReadFile(fsys, name)
			if err != nil {
				return fmt.Errorf("read migration %s: %w", base, err)
			}
			text, err := script(base, body)
			if err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			list = append(list, Migration{Version: version, Name: base, Script: text})
		}
		return nil
	}
	if err := add(sharedMigrations, "migrations/*.up.sql.tmpl", func(name string, body []byte) (string, error) {
		t, err := template.New(name).Option("missingkey=error").Parse(string(body))
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, s); err != nil {
			return "", err
		}
		return b.String(), nil
	}); err != nil {
		return nil, err
	}
	if own != nil {
		if err := add(own, "migrations/*.up.sql", func(_ string, body []byte) (string, error) { return string(body), nil }); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(list, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(list); i++ {
		if list[i].Version == list[i-1].Version {
			return nil, fmt.Errorf("migration %d is both %s and %s", list[i].Version, list[i-1].Name, list[i].Name)
		}
	}
	return list, nil
}

// ApplyMigrations applies the shared migrations and the driver's own in
// own (see Migrations) not yet recorded in renderhook_migrations, in order,
// each in a transaction with its record; run executes one script.
func (db *Queries) ApplyMigrations(ctx context.Context, own fs.FS, run func(ctx context.Context, c Conn, script string) error) error {
	list, err := Migrations(db.d.Schema, own)
	if err != nil {
		return err
	}
	if _, err := db.write.Exec(ctx, `CREATE TABLE IF NOT EXISTS renderhook_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	for _, m := range list {
		if err := db.begin(ctx, func(c Conn) error {
			var n int
			if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM renderhook_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := run(ctx, c, m.Script); err != nil {
				return err
			}
			_, err := c.Exec(ctx, `INSERT INTO renderhook_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
	}
	return nil
}
