package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	storetest.Run(t, func(t *testing.T) (store.Store, error) {
		return postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
	})
}

// TestMigration004Backfill checks that spaces created before migration 004
// get a render key, render secret and GET-render token, all distinct.
func TestMigration004Backfill(t *testing.T) {
	if !pgtest.Enabled() {
		t.Skip(pgtest.EnvURL + " is not set")
	}
	// Roll 004 back by hand.
	storetest.Backfill004(t, func(t *testing.T) (store.Store, error) {
		return postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t), MaxConns: 2})
	}, `DROP INDEX spaces_render_key_idx`, `DROP INDEX renders_cache_idx`,
		`ALTER TABLE spaces DROP COLUMN render_key, DROP COLUMN render_secret, DROP COLUMN get_render_token`,
		`ALTER TABLE renders DROP COLUMN cache_key, DROP COLUMN metadata`, `ALTER TABLE request_logs DROP COLUMN cache_hit`)
}

// TestRateLimitAcrossNodes takes from one space's bucket through two
// stores on one database, as two nodes would, concurrently: exactly the
// bucket's size is allowed in all, whichever node asks.
func TestRateLimitAcrossNodes(t *testing.T) {
	if !pgtest.Enabled() {
		t.Skip(pgtest.EnvURL + " is not set")
	}
	ctx := context.Background()
	url := pgtest.URL(t)
	var nodes []*postgres.Store
	for range 2 {
		st, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, st)
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: "flood", CreatedAt: time.Now().UTC()}
	if err := nodes[0].CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	const limit = 20
	if err := nodes[1].SetRateLimit(ctx, sp.ID, limit); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Millisecond)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Go(func() {
			d, err := nodes[i%2].TakeRateToken(ctx, sp.ID, at)
			if err != nil {
				errs <- err
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := allowed.Load(); got != limit {
		t.Fatalf("%d of 60 takes allowed across two nodes, want exactly %d", got, limit)
	}
}
