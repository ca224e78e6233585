package postgres_test

import (
	"context"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/internal/store/storetest"
)

// TestConformance runs the store conformance suite on PostgreSQL, each
// test in a schema of its own; it is skipped unless
// RENDERHOOK_TEST_DATABASE_URL is set (make test sets it).
func TestConformance(t *testing.T) {
	if !pgtest.Enabled() {
		t.Skip(pgtest.EnvURL + " is not set")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	})
}
