package query

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ApplyMigrations applies the migrations in fsys (migrations/NNN_name.up.sql)
// not yet recorded in renderhook_migrations, in order, each in a
// transaction with its record; run executes one file's script.
func (db *Queries) ApplyMigrations(ctx context.Context, fsys fs.FS, run func(ctx context.Context, c Conn, script string) error) error {
	if _, err := db.write.Exec(ctx, `CREATE TABLE IF NOT EXISTS renderhook_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(fsys, "migrations/*.up.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad version: %w", base, err)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", base, err)
		}
		if err := db.begin(ctx, func(c Conn) error {
			var n int
			if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM renderhook_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := run(ctx, c, string(body)); err != nil {
				return err
			}
			_, err := c.Exec(ctx, `INSERT INTO renderhook_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				version, base, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
	}
	return nil
}
