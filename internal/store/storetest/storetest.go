// Package storetest is the conformance suite every store.Store driver runs,
// so SQLite and later dialects behave the same.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Run runs the suite against stores made by open, each fresh (Run
// migrates it and closes it when the test ends): one t.Run per concern,
// in the style of River's riverdrivertest.
func Run(t *testing.T, open func(t *testing.T) (store.Store, error)) {
	s := &suite{ctx: context.Background(), now: time.Now().UTC().Truncate(time.Millisecond), open: func(t *testing.T) store.Store {
		return migrated(t, open)
	}}
	exerciseRateLimits(t, s)
	exerciseMigrations(t, s)
	exerciseSpaces(t, s)
	exerciseSpaceStorage(t, s)
	exerciseTemplates(t, s)
	exercisePages(t, s)
	exerciseRenders(t, s)
	exerciseCallbacks(t, s)
	exerciseFollowUp(t, s)
	exerciseLogs(t, s)
	exerciseCredits(t, s)
	exerciseWebhookHealth(t, s)
	exerciseWebhooks(t, s)
	exerciseEndpointPatches(t, s)
	exerciseRetention(t, s)
	exerciseQueueNodes(t, s)
	exerciseTokens(t, s)
}

// migrated opens a store with open, migrates it, and closes it when the
// test ends.
func migrated(t *testing.T, open func(t *testing.T) (store.Store, error)) store.Store {
	t.Helper()
	st, err := open(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// suite is what every exercise shares: a context, a millisecond-exact
// now, and the driver's store factory.
type suite struct {
	ctx  context.Context
	now  time.Time
	open func(t *testing.T) store.Store
}

// setup opens a store with two spaces: a (credit limit 10) and b.
func (s *suite) setup(t *testing.T) (store.Store, *store.Space, *store.Space) {
	st := s.open(t)
	a := &store.Space{ID: store.NewID("spc"), Name: "a", CreditLimit: 10, CreatedAt: s.now}
	b := &store.Space{ID: store.NewID("spc"), Name: "b", CreatedAt: s.now}
	for _, sp := range []*store.Space{a, b} {
		if err := st.CreateSpace(s.ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	return st, a, b
}

// tmpl creates a template in space.
func (s *suite) tmpl(t *testing.T, st store.Store, space string) *store.Template {
	tp := &store.Template{ID: store.NewID("tpl"), SpaceID: space, Name: "t", HTML: "<b>{{.x}}</b>", Width: 10, Height: 20,
		Variables: []store.Variable{{Name: "x", Type: "string", Default: "d"}}, RequireGetRenderToken: true, CreatedAt: s.now, UpdatedAt: s.now}
	if err := st.CreateTemplate(s.ctx, tp); err != nil {
		t.Fatal(err)
	}
	return tp
}

// touchToken sets a token's last use, which no production path does any
// more (the column stays, and is read back); the suite writes it on the
// store's own database handle.
func touchToken(ctx context.Context, st store.Store, id string, at time.Time) error {
	if db := st.QueueDB(); db.SQL != nil {
		_, err := db.SQL.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, at.UnixMilli(), id)
		return err
	}
	_, err := st.QueueDB().Pgx.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, at.UnixMilli(), id)
	return err
}

// renderIDByBlobKey finds the render whose bytes are stored under key
// (no production path looks renders up so any more), on the store's own
// database handle.
func renderIDByBlobKey(ctx context.Context, st store.Store, key string) (string, error) {
	var id string
	if db := st.QueueDB(); db.SQL != nil {
		return id, db.SQL.QueryRowContext(ctx, `SELECT id FROM renders WHERE blob_key = ?`, key).Scan(&id)
	}
	return id, st.QueueDB().Pgx.QueryRow(ctx, `SELECT id FROM renders WHERE blob_key = $1`, key).Scan(&id)
}

// FindDelivery finds a delivery by id alone, for tests (the delivery
// worker reads it with FindDeliveryToSend).
func FindDelivery(ctx context.Context, st store.Store, id string) (*store.Delivery, error) {
	d, _, err := st.FindDeliveryToSend(ctx, id)
	return d, err
}

// exerciseMigrations checks migrations: Migrate is idempotent.
func exerciseMigrations(t *testing.T, s *suite) {
	t.Run("Migrations", func(t *testing.T) {
		t.Run("migrate twice", func(t *testing.T) {
			st := s.open(t)
			if err := st.Migrate(s.ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// exerciseQueueNodes checks queue nodes: each node swaps in its River client id.
func exerciseQueueNodes(t *testing.T, s *suite) {
	t.Run("QueueNodes", func(t *testing.T) {
		t.Run("queue nodes swap their client id", func(t *testing.T) {
			st := s.open(t)
			if prev, err := st.SwapQueueNode(s.ctx, "node-a", "client-1"); prev != "" || err != nil {
				t.Fatalf("first swap = %q, %v; want none before", prev, err)
			}
			if prev, err := st.SwapQueueNode(s.ctx, "node-b", "client-x"); prev != "" || err != nil {
				t.Fatalf("another node's first swap = %q, %v", prev, err)
			}
			if prev, err := st.SwapQueueNode(s.ctx, "node-a", "client-2"); prev != "client-1" || err != nil {
				t.Fatalf("restart swap = %q, %v; want client-1", prev, err)
			}
			if prev, err := st.SwapQueueNode(s.ctx, "node-a", "client-3"); prev != "client-2" || err != nil {
				t.Fatalf("second restart swap = %q, %v; want client-2", prev, err)
			}
		})
	})
}

// exerciseRateLimits checks the per-space token bucket: no row is no limit,
// a full bucket to start, one token a take, refill by elapsed time, and
// buckets kept per space.
func exerciseRateLimits(t *testing.T, s *suite) {
	t.Run("rate limit bucket", func(t *testing.T) {
		st := s.open(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		a := &store.Space{ID: store.NewID("spc"), Name: "a", CreatedAt: now}
		b := &store.Space{ID: store.NewID("spc"), Name: "b", CreatedAt: now}
		for _, sp := range []*store.Space{a, b} {
			if err := st.CreateSpace(s.ctx, sp); err != nil {
				t.Fatal(err)
			}
		}
		if d, err := st.TakeRateToken(s.ctx, a.ID, now); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("no limit set: %+v %v", d, err)
		}
		if n, err := st.GetRateLimit(s.ctx, a.ID); err != nil || n != 0 {
			t.Fatalf("limit before set: %d %v", n, err)
		}
		if err := st.SetRateLimit(s.ctx, a.ID, 3); err != nil {
			t.Fatal(err)
		}
		if n, err := st.GetRateLimit(s.ctx, a.ID); err != nil || n != 3 {
			t.Fatalf("limit after set: %d %v", n, err)
		}
		// SetRateLimit stamps the bucket with the wall clock; take from a
		// moment after it so the refill term is not negative.
		at := time.Now().Add(time.Millisecond)
		for i, want := range []int{2, 1, 0} {
			d, err := st.TakeRateToken(s.ctx, a.ID, at)
			if err != nil || !d.Allowed || d.Limit != 3 || d.Remaining != want {
				t.Fatalf("take %d: %+v %v, want allowed with %d remaining", i, d, err, want)
			}
		}
		d, err := st.TakeRateToken(s.ctx, a.ID, at)
		if err != nil || d.Allowed || d.Remaining != 0 {
			t.Fatalf("fourth take: %+v %v, want refused", d, err)
		}
		// 3 a minute: one token back after 20 s; Reset says when.
		if wait := d.Reset.Sub(at); wait <= 0 || wait > 20*time.Second {
			t.Fatalf("reset in %v, want within 20 s", wait)
		}
		// A refused take spends nothing: 20 s later exactly one is back.
		if d, err := st.TakeRateToken(s.ctx, a.ID, at.Add(20*time.Second+time.Millisecond)); err != nil || !d.Allowed || d.Remaining != 0 {
			t.Fatalf("after 20 s: %+v %v, want one allowed", d, err)
		}
		// A clock running behind the last take (another node) refills nothing.
		if d, err := st.TakeRateToken(s.ctx, a.ID, at); err != nil || d.Allowed {
			t.Fatalf("earlier clock: %+v %v, want refused", d, err)
		}
		// The bucket never holds more than its size.
		if d, err := st.TakeRateToken(s.ctx, a.ID, at.Add(time.Hour)); err != nil || !d.Allowed || d.Remaining != 2 {
			t.Fatalf("after an hour: %+v %v, want 2 remaining", d, err)
		}
		// Other spaces are not limited by a's bucket.
		if d, err := st.TakeRateToken(s.ctx, b.ID, at); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("space b: %+v %v", d, err)
		}
		if err := st.SetRateLimit(s.ctx, a.ID, 0); err != nil {
			t.Fatal(err)
		}
		if d, err := st.TakeRateToken(s.ctx, a.ID, at); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("limit removed: %+v %v", d, err)
		}
	})
}

// storeCase is one case of a group: fn runs on a fresh store holding the
// spaces setup makes.
type storeCase struct {
	name string
	fn   func(t *testing.T, st store.Store, a, b *store.Space)
}

// group runs cases as the subtests of name, each on a fresh store with
// spaces a and b (setup).
func (s *suite) group(t *testing.T, name string, cases ...storeCase) {
	t.Run(name, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				st, a, b := s.setup(t)
				c.fn(t, st, a, b)
			})
		}
	})
}
