package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseRenders checks renders: lookups, settings and the render cache.
func exerciseRenders(t *testing.T, s *suite) {
	t.Run("Renders", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		t.Run("renders and settings", func(t *testing.T) {
			st, a, b := setup(t)
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: "req_1", Format: "png", Status: store.RenderSucceeded,
				Size: 42, BlobKey: a.ID + "/x.png", CreatedAt: now}
			if err := st.CreateRender(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got, err := st.GetRender(ctx, a.ID, r.ID); err != nil || got.Size != 42 {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.GetRender(ctx, b.ID, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space render: %v", err)
			}
			if got, err := st.GetRenderByBlobKey(ctx, r.BlobKey); err != nil || got.ID != r.ID {
				t.Fatalf("%+v %v", got, err)
			}
			v1, err := st.Setting(ctx, "k", "first")
			if err != nil || v1 != "first" {
				t.Fatal(v1, err)
			}
			if v2, _ := st.Setting(ctx, "k", "second"); v2 != "first" {
				t.Fatalf("setting overwritten: %s", v2)
			}
		})
		t.Run("render cache finds the newest succeeded render within the ttl", func(t *testing.T) {
			st, a, b := setup(t)
			mk := func(space, status, key string, at time.Time) *store.Render {
				r := &store.Render{ID: store.NewRenderID(), SpaceID: space, RequestID: "req", Format: "png", Status: status,
					CacheKey: key, Metadata: `{"m":1}`, CreatedAt: at}
				if err := st.CreateRender(ctx, r); err != nil {
					t.Fatal(err)
				}
				return r
			}
			mk(a.ID, store.RenderSucceeded, "k1", now.Add(-2*time.Hour))
			newest := mk(a.ID, store.RenderSucceeded, "k1", now.Add(-time.Minute))
			mk(a.ID, store.RenderFailed, "k1", now)
			mk(a.ID, store.RenderSucceeded, "k2", now)
			got, err := st.FindCachedRender(ctx, a.ID, "k1", now.Add(-time.Hour))
			if err != nil || got.ID != newest.ID || got.CacheKey != "k1" || got.Metadata != `{"m":1}` {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.FindCachedRender(ctx, a.ID, "k1", now.Add(-time.Second)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("expired entry served: %v", err)
			}
			if _, err := st.FindCachedRender(ctx, b.ID, "k1", now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cache crossed spaces: %v", err)
			}
			if _, err := st.FindCachedRender(ctx, a.ID, "", now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("empty key: %v", err)
			}
			// A cache-hit log entry names the earlier render but is not the
			// one its callbacks track.
			orig := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: now, Status: 200, RenderID: newest.ID,
				CallbackStatus: store.CallbackPending}
			hit := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: now.Add(time.Second), Status: 200, RenderID: newest.ID, CacheHit: true}
			for _, l := range []*store.RequestLog{orig, hit} {
				if err := st.CreateRequestLog(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.SetCallbackState(ctx, newest.ID, store.CallbackCredits, store.CallbackState{State: store.CallbackSucceeded, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			gh, err := st.GetRequestLog(ctx, a.ID, hit.ID)
			if err != nil || !gh.CacheHit || len(gh.Callbacks) != 0 {
				t.Fatalf("cache-hit entry: %+v %v", gh, err)
			}
			go1, err := st.GetRequestLog(ctx, a.ID, orig.ID)
			if err != nil || go1.CacheHit || go1.Callbacks[store.CallbackCredits].State != store.CallbackSucceeded {
				t.Fatalf("original entry: %+v %v", go1, err)
			}
		})
	})
}

// exerciseCallbacks checks the render transaction and what it hands the queue: all or nothing.
func exerciseCallbacks(t *testing.T, s *suite) {
	t.Run("Callbacks", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		t.Run("render transaction commits together or not at all", func(t *testing.T) {
			st, a, _ := setup(t)
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: "req_tx", Format: "png", Status: store.RenderSucceeded,
				Size: 3, BlobKey: a.ID + "/tx.png", CreatedAt: now}
			l := &store.RequestLog{ID: "req_tx", SpaceID: a.ID, CreatedAt: now, Method: "GET", Path: "/api/render/x", Status: 200,
				RenderID: r.ID, CallbackStatus: store.CallbackPending,
				Callbacks: map[string]store.CallbackState{store.CallbackStore: {State: store.CallbackPending, UpdatedAt: now}}}
			boom := errors.New("boom")
			err := st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(ctx, r); err != nil {
					return err
				}
				if err := tx.SpoolRender(ctx, r.ID, []byte{1, 2, 3}, now); err != nil {
					return err
				}
				if q, db := tx.QueueTx(), st.QueueDB(); (q.SQL == nil) == (q.Pgx == nil) || (q.SQL == nil) != (db.SQL == nil) || (db.Pgx == nil) != (db.MigrationLock == nil) {
					t.Errorf("Tx.QueueTx() = %+v for QueueDB() %+v: want the transaction of the store's one database", q, db)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx returned %v, want fn's error", err)
			}
			if _, err := st.FindRender(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("rolled-back render exists: %v", err)
			}
			if err := st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(ctx, r); err != nil {
					return err
				}
				if err := tx.SpoolRender(ctx, r.ID, []byte{0, 1, 2}, now); err != nil {
					return err
				}
				return tx.CreateRequestLog(ctx, l)
			}); err != nil {
				t.Fatal(err)
			}
			if b, err := st.GetSpool(ctx, r.ID); err != nil || !bytes.Equal(b, []byte{0, 1, 2}) {
				t.Fatalf("spool %v %v", b, err)
			}
			if err := st.MarkRenderStored(ctx, r.ID, now); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetSpool(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("spool kept after store: %v", err)
			}
			if got, _ := st.FindRender(ctx, r.ID); got.StoredAt == nil || !got.StoredAt.Equal(now) {
				t.Fatalf("stored_at %v", got.StoredAt)
			}
			if err := st.MarkRenderStored(ctx, "nope", now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("store unknown render: %v", err)
			}
			// A duplicate render id inside a transaction is a conflict.
			if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateRender(ctx, r) }); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate render in tx: %v", err)
			}
		})
	})
}
