package storetest

import (
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseRateLimits checks the per-space token bucket: no row is no limit,
// a full bucket to start, one token a take, refill by elapsed time, and
// buckets kept per space.
func exerciseRateLimits(t *testing.T, s *suite) {
	ctx := s.ctx
	t.Run("rate limit bucket", func(t *testing.T) {
		st := s.open(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		a := &store.Space{ID: store.NewID("spc"), Name: "a", CreatedAt: now}
		b := &store.Space{ID: store.NewID("spc"), Name: "b", CreatedAt: now}
		for _, s := range []*store.Space{a, b} {
			if err := st.CreateSpace(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if d, err := st.TakeRateToken(ctx, a.ID, now); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("no limit set: %+v %v", d, err)
		}
		if n, err := st.GetRateLimit(ctx, a.ID); err != nil || n != 0 {
			t.Fatalf("limit before set: %d %v", n, err)
		}
		if err := st.SetRateLimit(ctx, a.ID, 3); err != nil {
			t.Fatal(err)
		}
		if n, err := st.GetRateLimit(ctx, a.ID); err != nil || n != 3 {
			t.Fatalf("limit after set: %d %v", n, err)
		}
		// SetRateLimit stamps the bucket with the wall clock; take from a
		// moment after it so the refill term is not negative.
		at := time.Now().Add(time.Millisecond)
		for i, want := range []int{2, 1, 0} {
			d, err := st.TakeRateToken(ctx, a.ID, at)
			if err != nil || !d.Allowed || d.Limit != 3 || d.Remaining != want {
				t.Fatalf("take %d: %+v %v, want allowed with %d remaining", i, d, err, want)
			}
		}
		d, err := st.TakeRateToken(ctx, a.ID, at)
		if err != nil || d.Allowed || d.Remaining != 0 {
			t.Fatalf("fourth take: %+v %v, want refused", d, err)
		}
		// 3 a minute: one token back after 20 s; Reset says when.
		if wait := d.Reset.Sub(at); wait <= 0 || wait > 20*time.Second {
			t.Fatalf("reset in %v, want within 20 s", wait)
		}
		// A refused take spends nothing: 20 s later exactly one is back.
		if d, err := st.TakeRateToken(ctx, a.ID, at.Add(20*time.Second+time.Millisecond)); err != nil || !d.Allowed || d.Remaining != 0 {
			t.Fatalf("after 20 s: %+v %v, want one allowed", d, err)
		}
		// A clock running behind the last take (another node) refills nothing.
		if d, err := st.TakeRateToken(ctx, a.ID, at); err != nil || d.Allowed {
			t.Fatalf("earlier clock: %+v %v, want refused", d, err)
		}
		// The bucket never holds more than its size.
		if d, err := st.TakeRateToken(ctx, a.ID, at.Add(time.Hour)); err != nil || !d.Allowed || d.Remaining != 2 {
			t.Fatalf("after an hour: %+v %v, want 2 remaining", d, err)
		}
		// Other spaces are not limited by a's bucket.
		if d, err := st.TakeRateToken(ctx, b.ID, at); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("space b: %+v %v", d, err)
		}
		if err := st.SetRateLimit(ctx, a.ID, 0); err != nil {
			t.Fatal(err)
		}
		if d, err := st.TakeRateToken(ctx, a.ID, at); err != nil || !d.Allowed || d.Limit != 0 {
			t.Fatalf("limit removed: %+v %v", d, err)
		}
	})
}
