// Package pgtest gives each test its own empty PostgreSQL schema in the
// database named by RENDERHOOK_TEST_DATABASE_URL (scripts/pg-test.sh starts
// a throwaway cluster and sets it), so tests sharing one database never see
// each other's rows or jobs.
package pgtest

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/testenv"
)

// EnvURL names the variable holding the test database's URL.
const EnvURL = "RENDERHOOK_TEST_DATABASE_URL"

var backend = testenv.Backend{
	Env: EnvURL, Script: "scripts/pg-test.sh", Prefix: "t_",
	Place: WithSearchPath,
	Drop: func(t testing.TB, base, schema, _ string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	},
}

// Enabled reports whether a test database is configured.
func Enabled() bool { return backend.Enabled() }

// URL returns a connection URL whose search_path is a new schema of its
// own (created by the store's Migrate), dropped when the test ends. It
// skips the test when no test database is configured.
func URL(t testing.TB) string {
	t.Helper()
	return backend.URL(t)
}

// WithSearchPath returns the URL base with its search_path set to schema.
func WithSearchPath(base, schema string) (string, error) {
	if !strings.Contains(base, "://") {
		// libpq key=value form
		return base + " search_path=" + schema, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
