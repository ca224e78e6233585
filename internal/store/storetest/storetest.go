// Package storetest is the conformance suite every store.Store driver runs,
// so SQLite and later dialects behave the same.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Store is what the suite exercises: a driver's store.Store, plus two
// methods production does not use, which each driver defines in its
// export_test.go for the suite alone.
type Store interface {
	store.Store
	// TouchToken sets a token's LastUsedAt.
	TouchToken(ctx context.Context, id string, at time.Time) error
	// GetRenderByBlobKey finds a render by the key its bytes are stored under.
	GetRenderByBlobKey(ctx context.Context, key string) (*store.Render, error)
}

// Run runs the suite against stores made by open, each fresh and
// migrated: one t.Run per concern, in the style of River's
// riverdrivertest.
func Run(t *testing.T, open func(t *testing.T) Store) {
	s := &suite{ctx: context.Background(), now: time.Now().UTC().Truncate(time.Millisecond), open: open}
	exerciseRateLimits(t, s)
	exerciseMigrations(t, s)
	exerciseSpaces(t, s)
	exerciseTemplates(t, s)
	exercisePages(t, s)
	exerciseRenders(t, s)
	exerciseCallbacks(t, s)
	exerciseLogs(t, s)
	exerciseCredits(t, s)
	exerciseWebhooks(t, s)
	exerciseRetention(t, s)
	exerciseQueueNodes(t, s)
	exerciseTokens(t, s)
}

// suite is what every exercise shares: a context, a millisecond-exact
// now, and the driver's store factory.
type suite struct {
	ctx  context.Context
	now  time.Time
	open func(t *testing.T) Store
}

// setup opens a store with two spaces: a (credit limit 10) and b.
func (s *suite) setup(t *testing.T) (Store, *store.Space, *store.Space) {
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

// FindDelivery finds a delivery by id alone, for tests (the delivery
// worker reads it with FindDeliveryToSend).
func FindDelivery(ctx context.Context, st store.Store, id string) (*store.Delivery, error) {
	d, _, err := st.FindDeliveryToSend(ctx, id)
	return d, err
}

// exerciseMigrations checks migrations: Migrate is idempotent.
func exerciseMigrations(t *testing.T, s *suite) {
	t.Run("Migrations", func(t *testing.T) {
		ctx := s.ctx
		open := s.open
		t.Run("migrate twice", func(t *testing.T) {
			st := open(t)
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}
