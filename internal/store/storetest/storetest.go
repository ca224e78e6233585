// Package storetest is the conformance suite every store.Store driver runs,
// so SQLite and later dialects behave the same.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Run runs the suite against stores made by open, each fresh and migrated.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	setup := func(t *testing.T) (store.Store, *store.Space, *store.Space) {
		st := open(t)
		a := &store.Space{ID: store.NewID("spc"), Name: "a", CreditLimit: 10, CreatedAt: now}
		b := &store.Space{ID: store.NewID("spc"), Name: "b", CreatedAt: now}
		for _, s := range []*store.Space{a, b} {
			if err := st.CreateSpace(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		return st, a, b
	}
	tmpl := func(t *testing.T, st store.Store, space string) *store.Template {
		tp := &store.Template{ID: store.NewID("tpl"), SpaceID: space, Name: "t", HTML: "<b>{{.x}}</b>", Width: 10, Height: 20,
			Variables: []store.Variable{{Name: "x", Type: "string", Default: "d"}}, RequireGetRenderToken: true, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		return tp
	}

	exerciseRateLimit(t, open)

	t.Run("migrate twice", func(t *testing.T) {
		st := open(t)
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("spaces and tokens", func(t *testing.T) {
		st, a, _ := setup(t)
		got, err := st.GetSpace(ctx, a.ID)
		if err != nil || got.Name != "a" || got.CreditLimit != 10 || !got.CreatedAt.Equal(now) {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := st.GetSpace(ctx, "spc_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err %v", err)
		}
		tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_x", Hash: []byte("h1"), CreatedAt: now}
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		dup := *tok
		dup.ID = store.NewID("tok")
		if err := st.CreateToken(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate hash: %v", err)
		}
		if got, err := st.GetTokenByHash(ctx, []byte("h1")); err != nil || got.SpaceID != a.ID {
			t.Fatalf("%+v %v", got, err)
		}
		if err := st.RevokeToken(ctx, "spc_other", tok.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke across spaces: %v", err)
		}
		if err := st.RevokeToken(ctx, a.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetTokenByHash(ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token still resolves: %v", err)
		}
	})

	t.Run("templates are space scoped", func(t *testing.T) {
		st, a, b := setup(t)
		tp := tmpl(t, st, a.ID)
		if _, err := st.GetTemplate(ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space read: %v", err)
		}
		other := *tp
		other.SpaceID, other.Name = b.ID, "stolen"
		if err := st.UpdateTemplate(ctx, &other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space update: %v", err)
		}
		if err := st.DeleteTemplate(ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space delete: %v", err)
		}
		got, err := st.GetTemplate(ctx, a.ID, tp.ID)
		if err != nil || got.Name != "t" || len(got.Variables) != 1 || got.Variables[0].Default != "d" {
			t.Fatalf("%+v %v", got, err)
		}
		list, err := st.ListTemplates(ctx, b.ID)
		if err != nil || len(list) != 0 {
			t.Fatalf("b sees %d templates (%v)", len(list), err)
		}
	})

	t.Run("pages draft and publish", func(t *testing.T) {
		st, a, b := setup(t)
		tp := tmpl(t, st, a.ID)
		foreign := tmpl(t, st, b.ID)
		p := &store.Page{ID: store.NewID("pg"), SpaceID: a.ID, CreatedAt: now, UpdatedAt: now,
			Draft: store.PageVersion{TemplateID: foreign.ID, Name: "p", Values: map[string]any{"x": "1"}}}
		if err := st.CreatePage(ctx, p); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("page on another space's template: %v", err)
		}
		p.Draft.TemplateID = tp.ID
		if err := st.CreatePage(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetPage(ctx, a.ID, p.ID)
		if got.Published != nil {
			t.Fatal("new page is published")
		}
		pub, err := st.PublishPage(ctx, a.ID, p.ID, now)
		if err != nil || pub.Published == nil || pub.Published.Values["x"] != "1" {
			t.Fatalf("%+v %v", pub, err)
		}
		p.Draft.Values = map[string]any{"x": "2"}
		if err := st.UpdatePageDraft(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ = st.GetPage(ctx, a.ID, p.ID)
		if got.Draft.Values["x"] != "2" || got.Published.Values["x"] != "1" {
			t.Fatalf("draft %v published %v", got.Draft.Values, got.Published.Values)
		}
		if _, err := st.GetPage(ctx, b.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space page: %v", err)
		}
		if f, err := st.FindPage(ctx, p.ID); err != nil || f.SpaceID != a.ID {
			t.Fatalf("find: %+v %v", f, err)
		}
		if err := st.DeleteTemplate(ctx, a.ID, tp.ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("delete used template: %v", err)
		}
		if _, err := st.GetTemplate(ctx, a.ID, tp.ID); err != nil {
			t.Fatalf("refused delete removed the template: %v", err)
		}
		if err := st.DeletePage(ctx, a.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteTemplate(ctx, a.ID, tp.ID); err != nil {
			t.Fatal(err)
		}
	})

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

	t.Run("render keys: generated, unique, found by key", func(t *testing.T) {
		st, a, b := setup(t)
		if a.RenderKey == "" || a.RenderSecret == "" || a.GetRenderToken == "" || a.RenderKey == b.RenderKey || a.RenderSecret == b.RenderSecret {
			t.Fatalf("keys not generated or shared: %+v %+v", a, b)
		}
		got, err := st.GetSpaceByRenderKey(ctx, a.RenderKey)
		if err != nil || got.ID != a.ID || got.RenderSecret != a.RenderSecret || got.GetRenderToken != a.GetRenderToken {
			t.Fatalf("%+v %v", got, err)
		}
		for _, k := range []string{"", "rk_nope"} {
			if _, err := st.GetSpaceByRenderKey(ctx, k); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("key %q: %v", k, err)
			}
		}
		dup := &store.Space{ID: store.NewID("spc"), Name: "dup", CreatedAt: now, RenderKey: a.RenderKey}
		if err := st.CreateSpace(ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate render key: %v", err)
		}
	})

	t.Run("render secret and GET-render token rotate, keeping the previous value", func(t *testing.T) {
		st, a, b := setup(t)
		until := now.Add(time.Hour)
		if err := st.RotateRenderSecret(ctx, a.ID, "secret2", until); err != nil {
			t.Fatal(err)
		}
		if err := st.RotateGetRenderToken(ctx, a.ID, "gt2", until.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetSpace(ctx, a.ID)
		if err != nil || got.RenderSecret != "secret2" || got.RenderSecretPrev != a.RenderSecret || got.RenderSecretPrevUntil == nil ||
			!got.RenderSecretPrevUntil.Equal(until) || got.GetRenderToken != "gt2" || got.GetRenderTokenPrev != a.GetRenderToken ||
			got.GetRenderTokenPrevUntil == nil || !got.GetRenderTokenPrevUntil.Equal(until.Add(time.Minute)) {
			t.Fatalf("after rotation: %+v %v", got, err)
		}
		// A second rotation moves the current value back, not the first previous one.
		if err := st.RotateRenderSecret(ctx, a.ID, "secret3", until); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetSpaceByRenderKey(ctx, a.RenderKey); got.RenderSecret != "secret3" || got.RenderSecretPrev != "secret2" {
			t.Fatalf("second rotation: %+v", got)
		}
		// The other space is untouched; an unknown space is not found.
		if got, _ := st.GetSpace(ctx, b.ID); got.RenderSecret != b.RenderSecret || got.RenderSecretPrev != "" || got.RenderSecretPrevUntil != nil ||
			got.GetRenderTokenPrev != "" || got.GetRenderTokenPrevUntil != nil {
			t.Fatalf("other space: %+v", got)
		}
		if err := st.RotateRenderSecret(ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown space: %v", err)
		}
		if err := st.RotateGetRenderToken(ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown space: %v", err)
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
			CallbackStatus: store.CallbackPending, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
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
		if err != nil || go1.CacheHit || go1.Callbacks[store.CallbackCredits].State != store.CallbackSucceeded || go1.TraceID != orig.TraceID || gh.TraceID != "" {
			t.Fatalf("original entry: %+v %v", go1, err)
		}
	})

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
			if tx.Driver() == nil {
				t.Error("Tx.Driver() is nil")
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

	t.Run("request logs page, filter and track callbacks", func(t *testing.T) {
		st, a, b := setup(t)
		var ids []string
		for i := range 5 {
			id := store.NewID("req")
			ids = append(ids, id)
			status := 200
			if i%2 == 1 {
				status = 404
			}
			// Two entries share each millisecond: the id breaks the tie.
			l := &store.RequestLog{ID: id, SpaceID: a.ID, CreatedAt: now.Add(time.Duration(i/2) * time.Millisecond), Method: "GET",
				Path: "/api/render/p", Status: status, RenderID: "r" + id}
			if err := st.CreateRequestLog(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.GetRequestLog(ctx, b.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space log: %v", err)
		}
		var seen []string
		var after *store.LogCursor
		for range 10 {
			page, err := st.ListRequestLogs(ctx, store.ListLogsParams{SpaceID: a.ID, Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, l := range page {
				seen = append(seen, l.ID)
			}
			last := page[len(page)-1]
			after = &store.LogCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if len(seen) != 5 {
			t.Fatalf("paging saw %d entries: %v", len(seen), seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] == seen[i-1] {
				t.Fatalf("entry %s listed twice", seen[i])
			}
		}
		missing, err := st.ListRequestLogs(ctx, store.ListLogsParams{SpaceID: a.ID, Limit: 10, StatusMin: 400, StatusMax: 499})
		if err != nil || len(missing) != 2 {
			t.Fatalf("4xx filter: %d entries, %v", len(missing), err)
		}
		if other, _ := st.ListRequestLogs(ctx, store.ListLogsParams{SpaceID: b.ID, Limit: 10}); len(other) != 0 {
			t.Fatalf("space b sees %d entries", len(other))
		}

		renderID := "r" + ids[0]
		if err := st.AttachLogFile(ctx, renderID, a.ID+"/f.png"); err != nil {
			t.Fatal(err)
		}
		// The three callbacks of a render report at the same time; none of
		// their states may be lost.
		var wg sync.WaitGroup
		for _, cb := range []string{store.CallbackStore, store.CallbackLog, store.CallbackCredits} {
			wg.Go(func() {
				if err := st.SetCallbackState(ctx, renderID, cb, store.CallbackState{State: store.CallbackSucceeded, Attempts: 1, UpdatedAt: now}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := st.GetRequestLog(ctx, a.ID, ids[0])
		if err != nil || got.FileKey != a.ID+"/f.png" || len(got.Callbacks) != 3 || got.CallbackStatus != store.CallbackSucceeded {
			t.Fatalf("log %+v %v", got, err)
		}
		if err := st.SetCallbackState(ctx, renderID, store.CallbackStore, store.CallbackState{State: store.CallbackFailed, Error: "disk \x00 full", UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetRequestLog(ctx, a.ID, ids[0]); got.CallbackStatus != store.CallbackFailed || got.Callbacks["store"].Error != "disk \x00 full" {
			t.Fatalf("after failure %+v", got)
		}
		if err := st.SetCallbackState(ctx, "unknown", store.CallbackStore, store.CallbackState{State: store.CallbackFailed}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("callback state of unknown render: %v", err)
		}
		n, err := st.DeleteRequestLogsBefore(ctx, now.Add(time.Millisecond))
		if err != nil || n != 2 {
			t.Fatalf("retention deleted %d (%v), want 2", n, err)
		}
	})

	t.Run("text a database may refuse is still recorded", func(t *testing.T) {
		st, a, _ := setup(t)
		// Request paths and bodies can carry NUL and invalid UTF-8; the
		// entry must still be written (a render's transaction holds it).
		l := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: now, Method: "GET",
			Path: "/api/render/\x00\xff\xfe", Body: "{\"a\":\"\xc3\"}", Error: "bad \x00", Status: 400}
		if err := st.CreateRequestLog(ctx, l); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetRequestLog(ctx, a.ID, l.ID); err != nil {
			t.Fatal(err)
		}
		tp := tmpl(t, st, a.ID)
		tp.HTML = "<b>\x00</b>"
		if err := st.UpdateTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		p := &store.Page{ID: store.NewID("pg"), SpaceID: a.ID, CreatedAt: now, UpdatedAt: now,
			Draft: store.PageVersion{TemplateID: tp.ID, Name: "n", Values: map[string]any{"x": "nul \x00 inside"}}}
		if err := st.CreatePage(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetPage(ctx, a.ID, p.ID); err != nil || got.Draft.Values["x"] != "nul \x00 inside" {
			t.Fatalf("values %v %v", got, err)
		}
	})

	t.Run("credits bill once and count pending renders", func(t *testing.T) {
		st, a, b := setup(t)
		mk := func(status string) *store.Render {
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: store.NewID("req"), Format: "png", Status: status, CreatedAt: now}
			if err := st.CreateRender(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		ok1, ok2 := mk(store.RenderSucceeded), mk(store.RenderSucceeded)
		mk(store.RenderFailed)
		queued := mk(store.RenderQueued)
		if c, err := st.CreditStatus(ctx, a.ID); err != nil || c.Limit != 10 || c.Used != 0 || c.Pending != 3 {
			t.Fatalf("before billing %+v %v", c, err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				added, err := st.AddCredit(ctx, a.ID, ok1.ID, 1, now)
				if err != nil {
					t.Error(err)
				}
				if added {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("render billed %d times", wins.Load())
		}
		if _, err := st.AddCredit(ctx, a.ID, ok2.ID, 1, now); err != nil {
			t.Fatal(err)
		}
		if c, _ := st.CreditStatus(ctx, a.ID); c.Used != 2 || c.Pending != 1 {
			t.Fatalf("after billing %+v", c)
		}
		u, err := st.Usage(ctx, a.ID)
		if err != nil || u.CreditsUsed != 2 || u.Succeeded != 2 || u.Failed != 1 || u.CreditLimit != 10 {
			t.Fatalf("usage %+v %v", u, err)
		}
		if u, _ := st.Usage(ctx, b.ID); u.CreditsUsed != 0 || u.Succeeded != 0 {
			t.Fatalf("space b usage %+v", u)
		}
		if _, err := st.CreditStatus(ctx, "spc_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("credit status of unknown space: %v", err)
		}

		// The async render runs: started, then finished in a transaction.
		if err := st.MarkRenderStarted(ctx, queued.ID, now); err != nil {
			t.Fatal(err)
		}
		queued.Status, queued.Size, queued.StartedAt, queued.EndedAt = store.RenderSucceeded, 9, &now, &now
		if err := st.InTx(ctx, func(tx store.Tx) error { return tx.UpdateRender(ctx, queued) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.FindRender(ctx, queued.ID); got.Status != store.RenderSucceeded || got.Size != 9 || got.EndedAt == nil {
			t.Fatalf("finished async render %+v", got)
		}
		if err := st.MarkRenderStarted(ctx, queued.ID, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("restarting a finished render: %v", err)
		}
	})

	t.Run("webhook endpoint health", func(t *testing.T) {
		st, a, _ := setup(t)
		e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Events: []string{"render.succeeded"},
			Enabled: true, Secret: "whsec_1", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateWebhookEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
		// The owner edits and rotates while a delivery is in flight.
		edited := *e
		edited.URL, edited.Description = "https://example.com/new", "edited"
		if _, err := st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{URL: &edited.URL, Description: &edited.Description, At: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RotateWebhookEndpointSecret(ctx, a.ID, e.ID, "whsec_1", "whsec_2", now); err != nil {
			t.Fatal(err)
		}
		health := func(h store.EndpointHealth, wantChanged bool) *store.WebhookEndpoint {
			t.Helper()
			changed, err := st.SetWebhookEndpointHealth(ctx, e.ID, h)
			if err != nil || changed != wantChanged {
				t.Fatalf("SetWebhookEndpointHealth(%+v) = %v, %v; want changed %v", h, changed, err, wantChanged)
			}
			got, err := st.FindWebhookEndpoint(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != edited.URL || got.Description != "edited" || got.Secret != "whsec_2" || got.SecretPrev != "whsec_1" {
				t.Fatalf("a health change touched the owner's fields: %+v", got)
			}
			return got
		}
		t1, t2, t3 := now.Add(time.Minute), now.Add(2*time.Minute), now.Add(3*time.Minute)
		if got := health(store.EndpointHealth{At: t1}, true); got.FailingSince == nil || !got.FailingSince.Equal(t1) || !got.Enabled {
			t.Fatalf("first failure: %+v", got)
		}
		// A second failure keeps the run's start.
		if got := health(store.EndpointHealth{At: t2}, false); !got.FailingSince.Equal(t1) {
			t.Fatalf("second failure moved FailingSince: %+v", got)
		}
		// Failing since t1 is not failing since before now: stays enabled.
		if got := health(store.EndpointHealth{At: t2, DisableReason: "too long", FailingBefore: &now}, false); !got.Enabled {
			t.Fatalf("disabled though failing only since %v: %+v", t1, got)
		}
		if got := health(store.EndpointHealth{At: t2, OK: true}, true); got.FailingSince != nil || !got.Enabled {
			t.Fatalf("success: %+v", got)
		}
		if got := health(store.EndpointHealth{At: t2, OK: true}, false); got.FailingSince != nil {
			t.Fatalf("second success: %+v", got)
		}
		// A success cleared the run: a disable for failing too long is late.
		if got := health(store.EndpointHealth{At: t3, DisableReason: "too long", FailingBefore: &t3}, false); !got.Enabled {
			t.Fatalf("disabled after a success: %+v", got)
		}
		health(store.EndpointHealth{At: t1}, true)
		if got := health(store.EndpointHealth{At: t3, DisableReason: "too long", FailingBefore: &t2}, true); got.Enabled || got.DisabledReason != "too long" {
			t.Fatalf("failing too long: %+v", got)
		}
		// Disabled: nothing more changes it but its owner.
		if got := health(store.EndpointHealth{At: t3, DisableReason: "410"}, false); got.DisabledReason != "too long" {
			t.Fatalf("disabled twice: %+v", got)
		}
		if changed, err := st.SetWebhookEndpointHealth(ctx, "we_nope", store.EndpointHealth{At: t3, OK: true}); changed || err != nil {
			t.Fatalf("unknown endpoint: %v %v", changed, err)
		}
	})

	t.Run("webhook endpoints and deliveries", func(t *testing.T) {
		st, a, b := setup(t)
		rot := now.Add(-time.Hour)
		if err := st.SetWebhookSecret(ctx, a.ID, "whsec_new", "whsec_old", &rot); err != nil {
			t.Fatal(err)
		}
		if sp, _ := st.GetSpace(ctx, a.ID); sp.WebhookSecret != "whsec_new" || sp.WebhookSecretPrev != "whsec_old" || !sp.WebhookSecretRotatedAt.Equal(rot) {
			t.Fatalf("space secrets %+v", sp)
		}
		e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Events: []string{"render.succeeded"},
			Enabled: true, Secret: "whsec_e", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateWebhookEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetWebhookEndpoint(ctx, b.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space endpoint: %v", err)
		}
		if _, err := st.SetWebhookEndpointHealth(ctx, e.ID, store.EndpointHealth{At: now}); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "gone", At: now}); err != nil {
			t.Fatal(err)
		}
		got, err := st.FindWebhookEndpoint(ctx, e.ID)
		if err != nil || got.Enabled || got.DisabledReason != "gone" || got.FailingSince == nil || !got.Wants("render.succeeded") || got.Wants("render.failed") {
			t.Fatalf("endpoint %+v %v", got, err)
		}
		if list, _ := st.ListWebhookEndpoints(ctx, a.ID); len(list) != 1 {
			t.Fatalf("%d endpoints", len(list))
		}

		payload := []byte(`{"event":"render.succeeded","x":"\u00e9"}`)
		var ids []string
		for i := range 3 {
			d := &store.Delivery{ID: store.NewID("msg"), SpaceID: a.ID, EndpointID: e.ID, URL: e.URL, Event: "render.succeeded",
				RenderID: "r1", Payload: payload, Status: store.DeliveryPending, CreatedAt: now.Add(time.Duration(i) * time.Millisecond), UpdatedAt: now}
			if i == 0 {
				err = st.InTx(ctx, func(tx store.Tx) error { return tx.CreateDelivery(ctx, d) })
			} else {
				err = st.CreateDelivery(ctx, d)
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		// One attempt, as the delivery worker's recorder writes it alone.
		record := func(id string, at store.DeliveryAttempt, status string) error {
			found, err := st.RecordDeliveryAttempts(ctx, []store.AttemptRecord{{DeliveryID: id, Attempt: at, Status: status}})
			if err == nil && !found[0] {
				err = store.ErrNotFound
			}
			return err
		}
		a1 := store.DeliveryAttempt{At: now, StatusCode: 500, DurationMs: 3, Error: "HTTP 500", ResponseBody: "oops \x00"}
		a2 := store.DeliveryAttempt{At: now.Add(time.Second), StatusCode: 200, DurationMs: 4}
		if err := record(ids[0], a1, store.DeliveryFailed); err != nil {
			t.Fatal(err)
		}
		if err := record(ids[0], a2, store.DeliverySucceeded); err != nil {
			t.Fatal(err)
		}
		d, err := st.GetDelivery(ctx, a.ID, ids[0])
		if err != nil || d.Status != store.DeliverySucceeded || len(d.Attempts) != 2 || d.Attempts[0].StatusCode != 500 ||
			d.Attempts[0].ResponseBody != "oops \x00" || d.Attempts[1].StatusCode != 200 || !bytes.Equal(d.Payload, payload) {
			t.Fatalf("delivery %+v %v", d, err)
		}
		if _, err := st.GetDelivery(ctx, b.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space delivery: %v", err)
		}
		if err := record("msg_nope", a1, store.DeliveryFailed); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("attempt on unknown delivery: %v", err)
		}
		// Many attempts at once: in order, two of one delivery both
		// appended, an unknown delivery reported and skipped.
		a3 := store.DeliveryAttempt{At: now.Add(2 * time.Second), StatusCode: 503, DurationMs: 5, Error: "HTTP 503"}
		found, err := st.RecordDeliveryAttempts(ctx, []store.AttemptRecord{
			{DeliveryID: ids[2], Attempt: a1, Status: store.DeliveryFailed},
			{DeliveryID: "msg_nope", Attempt: a1, Status: store.DeliveryFailed},
			{DeliveryID: ids[2], Attempt: a3, Status: store.DeliveryFailed},
			{DeliveryID: ids[2], Attempt: a1, Status: store.DeliveryExhausted},
		})
		if err != nil || len(found) != 4 || !found[0] || found[1] || !found[2] || !found[3] {
			t.Fatalf("record attempts: %v %v", found, err)
		}
		d2, err := st.FindDelivery(ctx, ids[2])
		if err != nil || d2.Status != store.DeliveryExhausted || len(d2.Attempts) != 3 || d2.Attempts[0].StatusCode != 500 ||
			d2.Attempts[0].ResponseBody != "oops \x00" || d2.Attempts[1].StatusCode != 503 || d2.Attempts[2].StatusCode != 500 ||
			!d2.UpdatedAt.Equal(a1.At) {
			t.Fatalf("after record attempts: %+v %v", d2, err)
		}
		if found, err := st.RecordDeliveryAttempts(ctx, nil); err != nil || len(found) != 0 {
			t.Fatalf("record no attempts: %v %v", found, err)
		}
		if err := st.SetDeliveryStatus(ctx, ids[1], store.DeliveryExhausted); err != nil {
			t.Fatal(err)
		}
		if f, _ := st.FindDelivery(ctx, ids[1]); f.Status != store.DeliveryExhausted || len(f.Attempts) != 0 {
			t.Fatalf("status %+v", f)
		}
		// FindDeliveryToSend says where the render's file is and whether
		// it is stored yet.
		if f, file, err := st.FindDeliveryToSend(ctx, ids[0]); err != nil || file != (store.RenderFile{}) || f.ID != ids[0] || len(f.Attempts) != 2 {
			t.Fatalf("to send, unknown render: %+v %+v %v", f, file, err)
		}
		// (in space b, so a's listings below stay as they are)
		rr := &store.Render{ID: store.NewRenderID(), SpaceID: b.ID, RequestID: "req_d", Format: "png", Status: store.RenderSucceeded,
			BlobKey: b.ID + "/d.png", CreatedAt: now}
		if err := st.CreateRender(ctx, rr); err != nil {
			t.Fatal(err)
		}
		dr := &store.Delivery{ID: store.NewID("msg"), SpaceID: b.ID, URL: "https://example.com/h", Event: "render.succeeded",
			RenderID: rr.ID, Payload: payload, Status: store.DeliveryPending, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateDelivery(ctx, dr); err != nil {
			t.Fatal(err)
		}
		if _, file, err := st.FindDeliveryToSend(ctx, dr.ID); err != nil || file != (store.RenderFile{Key: rr.BlobKey}) {
			t.Fatalf("to send, render not stored yet: %+v %v", file, err)
		}
		if err := st.MarkRenderStored(ctx, rr.ID, now); err != nil {
			t.Fatal(err)
		}
		if f, file, err := st.FindDeliveryToSend(ctx, dr.ID); err != nil || file != (store.RenderFile{Key: rr.BlobKey, Stored: true}) ||
			f.RenderID != rr.ID || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("to send, render stored: %+v %+v %v", f, file, err)
		}
		if _, _, err := st.FindDeliveryToSend(ctx, "msg_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("to send, unknown delivery: %v", err)
		}
		page1, err := st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: a.ID, RenderID: "r1", EndpointID: e.ID, Limit: 2})
		if err != nil || len(page1) != 2 || page1[0].ID != ids[2] || page1[1].ID != ids[1] {
			t.Fatalf("first page %v %v", page1, err)
		}
		last := page1[1]
		page2, _ := st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: a.ID, Limit: 2, After: &store.LogCursor{CreatedAt: last.CreatedAt, ID: last.ID}})
		if len(page2) != 1 || page2[0].ID != ids[0] {
			t.Fatalf("second page %v", page2)
		}
		if s, _ := st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: a.ID, Status: store.DeliverySucceeded, Limit: 10}); len(s) != 1 {
			t.Fatalf("status filter: %d", len(s))
		}
		if err := st.DeleteWebhookEndpoint(ctx, b.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space delete: %v", err)
		}
		if err := st.DeleteWebhookEndpoint(ctx, a.ID, e.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("webhook endpoint patch changes only the given fields", func(t *testing.T) {
		st, a, b := setup(t)
		e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Description: "d",
			Events: []string{"render.succeeded"}, Enabled: true, Secret: "whsec_1", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateWebhookEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
		// A 410 disables it and the owner rotates, after an editor read it.
		if changed, err := st.SetWebhookEndpointHealth(ctx, e.ID, store.EndpointHealth{At: now, DisableReason: "410 Gone"}); err != nil || !changed {
			t.Fatalf("disable: %v %v", changed, err)
		}
		t1 := now.Add(time.Minute)
		rot, err := st.RotateWebhookEndpointSecret(ctx, a.ID, e.ID, "whsec_1", "whsec_2", t1)
		if err != nil || rot.Secret != "whsec_2" || rot.SecretPrev != "whsec_1" || !rot.SecretRotatedAt.Equal(t1) || rot.URL != e.URL || rot.Enabled {
			t.Fatalf("rotate: %+v %v", rot, err)
		}
		// Rotating from a secret that is no longer stored is a conflict
		// and changes nothing; another space's endpoint is not found.
		if _, err := st.RotateWebhookEndpointSecret(ctx, a.ID, e.ID, "whsec_1", "whsec_3", t1); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale rotate: %v", err)
		}
		if _, err := st.RotateWebhookEndpointSecret(ctx, b.ID, e.ID, "whsec_2", "whsec_3", t1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space rotate: %v", err)
		}
		// The editor's change of the URL keeps the rotation and the 410.
		t2 := now.Add(2 * time.Minute)
		u := "https://example.com/moved"
		got, err := st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{URL: &u, At: t2})
		if err != nil || got.URL != u || got.Description != "d" || got.Secret != "whsec_2" || got.SecretPrev != "whsec_1" ||
			got.Enabled || got.DisabledReason != "410 Gone" || len(got.Events) != 1 || !got.UpdatedAt.Equal(t2) {
			t.Fatalf("patch url: %+v %v", got, err)
		}
		// Disabling a disabled endpoint keeps its reason; enabling clears
		// the reason and the failing mark.
		off, on := false, true
		if got, err := st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "by hand", At: t2}); err != nil ||
			got.Enabled || got.DisabledReason != "410 Gone" {
			t.Fatalf("disable twice: %+v %v", got, err)
		}
		events, desc := []string{}, "new"
		got, err = st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &on, Events: &events, Description: &desc, At: t2})
		if err != nil || !got.Enabled || got.DisabledReason != "" || got.FailingSince != nil || len(got.Events) != 0 || got.Description != "new" || got.URL != u {
			t.Fatalf("enable: %+v %v", got, err)
		}
		if got, err := st.PatchWebhookEndpoint(ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "by hand", At: t2}); err != nil ||
			got.Enabled || got.DisabledReason != "by hand" {
			t.Fatalf("disable: %+v %v", got, err)
		}
		if _, err := st.PatchWebhookEndpoint(ctx, b.ID, e.ID, store.EndpointPatch{URL: &u, At: t2}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space patch: %v", err)
		}
		if _, err := st.PatchWebhookEndpoint(ctx, a.ID, "we_nope", store.EndpointPatch{At: t2}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown endpoint: %v", err)
		}
	})

	t.Run("retention removes what old requests left", func(t *testing.T) {
		st, a, _ := setup(t)
		old, cutoff := now.Add(-2*time.Hour), now.Add(-time.Hour)
		mk := func(at time.Time) *store.Render {
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: store.NewID("req"), Format: "png", Status: store.RenderSucceeded,
				BlobKey: a.ID + "/r.png", Size: 7, Options: `{"cookie":"sid=s3cr3t"}`, WebhookURL: "https://example.com/h?k=s3cr3t",
				Metadata: `{"m":"s3cr3t"}`, CreatedAt: at}
			err := st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(ctx, r); err != nil {
					return err
				}
				return tx.SpoolRender(ctx, r.ID, []byte("bytes"), at)
			})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		gone, kept := mk(old), mk(now)
		delivery := func(created, updated time.Time) string {
			d := &store.Delivery{ID: store.NewID("msg"), SpaceID: a.ID, URL: "https://example.com/h", Event: "render.succeeded",
				RenderID: gone.ID, Payload: []byte(`{"m":"s3cr3t"}`), Status: store.DeliverySucceeded, CreatedAt: created, UpdatedAt: updated}
			if err := st.CreateDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		oldDelivery, retried, recent := delivery(old, old), delivery(old, now), delivery(now, now)

		if n, err := st.ScrubRendersBefore(ctx, cutoff); err != nil || n != 1 {
			t.Fatalf("scrub renders: %d %v", n, err)
		}
		got, err := st.GetRender(ctx, a.ID, gone.ID)
		if err != nil || got.Options != "" || got.WebhookURL != "" || got.Metadata != "" || got.Size != 7 || got.BlobKey != gone.BlobKey || got.Status != store.RenderSucceeded {
			t.Fatalf("scrubbed render: %+v %v", got, err)
		}
		if got, _ := st.GetRender(ctx, a.ID, kept.ID); got.Options != kept.Options || got.WebhookURL != kept.WebhookURL || got.Metadata != kept.Metadata {
			t.Fatalf("a recent render was scrubbed: %+v", got)
		}
		if n, err := st.ScrubRendersBefore(ctx, cutoff); err != nil || n != 0 {
			t.Fatalf("scrub twice: %d %v", n, err)
		}
		if n, err := st.DeleteSpoolBefore(ctx, cutoff); err != nil || n != 1 {
			t.Fatalf("delete spool: %d %v", n, err)
		}
		if _, err := st.GetSpool(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old spool: %v", err)
		}
		if data, err := st.GetSpool(ctx, kept.ID); err != nil || string(data) != "bytes" {
			t.Fatalf("recent spool: %q %v", data, err)
		}
		if n, err := st.DeleteDeliveriesBefore(ctx, cutoff); err != nil || n != 1 {
			t.Fatalf("delete deliveries: %d %v", n, err)
		}
		if _, err := st.FindDelivery(ctx, oldDelivery); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old delivery: %v", err)
		}
		for _, id := range []string{retried, recent} {
			if _, err := st.FindDelivery(ctx, id); err != nil {
				t.Fatalf("delivery %s changed since the cutoff: %v", id, err)
			}
		}
	})

	t.Run("queue nodes swap their client id", func(t *testing.T) {
		st := open(t)
		if prev, err := st.SwapQueueNode(ctx, "node-a", "client-1"); prev != "" || err != nil {
			t.Fatalf("first swap = %q, %v; want none before", prev, err)
		}
		if prev, err := st.SwapQueueNode(ctx, "node-b", "client-x"); prev != "" || err != nil {
			t.Fatalf("another node's first swap = %q, %v", prev, err)
		}
		if prev, err := st.SwapQueueNode(ctx, "node-a", "client-2"); prev != "client-1" || err != nil {
			t.Fatalf("restart swap = %q, %v; want client-1", prev, err)
		}
		if prev, err := st.SwapQueueNode(ctx, "node-a", "client-3"); prev != "client-2" || err != nil {
			t.Fatalf("second restart swap = %q, %v; want client-2", prev, err)
		}
	})

	t.Run("tokens list and touch", func(t *testing.T) {
		st, a, _ := setup(t)
		tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_y", Hash: []byte{0, 0xff, 1}, CreatedAt: now}
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchToken(ctx, tok.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListTokens(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("tokens %+v %v", list, err)
		}
		if got, err := st.GetTokenByHash(ctx, []byte{0, 0xff, 1}); err != nil || got.ID != tok.ID {
			t.Fatalf("binary hash lookup %+v %v", got, err)
		}
		if spaces, _ := st.ListSpaces(ctx); len(spaces) < 2 {
			t.Fatalf("%d spaces", len(spaces))
		}
		if err := st.CreateSpace(ctx, a); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate space: %v", err)
		}
	})
}
