package storetest

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseRenders checks renders: lookups, settings and the render cache.
func exerciseRenders(t *testing.T, s *suite) {
	s.group(t, "Renders",
		storeCase{"renders and settings", func(t *testing.T, st store.Store, a, b *store.Space) {
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: "req_1", Format: "png", Status: store.RenderSucceeded,
				Size: 42, BlobKey: a.ID + "/x.png", CreatedAt: s.now}
			if err := st.CreateRender(s.ctx, r); err != nil {
				t.Fatal(err)
			}
			if got, err := st.GetRender(s.ctx, a.ID, r.ID); err != nil || got.Size != 42 {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.GetRender(s.ctx, b.ID, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space render: %v", err)
			}
			if got, err := renderIDByBlobKey(s.ctx, st, r.BlobKey); err != nil || got != r.ID {
				t.Fatalf("%s %v", got, err)
			}
			v1, err := st.Setting(s.ctx, "k", "first")
			if err != nil || v1 != "first" {
				t.Fatal(v1, err)
			}
			if v2, _ := st.Setting(s.ctx, "k", "second"); v2 != "first" {
				t.Fatalf("setting overwritten: %s", v2)
			}
		}},
		storeCase{"render cache finds the newest succeeded render within the ttl", func(t *testing.T, st store.Store, a, b *store.Space) {
			mk := func(space, status, key string, at time.Time) *store.Render {
				r := &store.Render{ID: store.NewRenderID(), SpaceID: space, RequestID: "req", Format: "png", Status: status,
					CacheKey: key, Metadata: `{"m":1}`, CustomID: "order-7", SkipWebhooks: true, CreatedAt: at}
				if err := st.CreateRender(s.ctx, r); err != nil {
					t.Fatal(err)
				}
				return r
			}
			mk(a.ID, store.RenderSucceeded, "k1", s.now.Add(-2*time.Hour))
			newest := mk(a.ID, store.RenderSucceeded, "k1", s.now.Add(-time.Minute))
			mk(a.ID, store.RenderFailed, "k1", s.now)
			mk(a.ID, store.RenderSucceeded, "k2", s.now)
			got, err := st.FindCachedRender(s.ctx, a.ID, "k1", s.now.Add(-time.Hour))
			if err != nil || got.ID != newest.ID || got.CacheKey != "k1" || got.Metadata != `{"m":1}` ||
				got.CustomID != "order-7" || !got.SkipWebhooks {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.FindCachedRender(s.ctx, a.ID, "k1", s.now.Add(-time.Second)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("expired entry served: %v", err)
			}
			if _, err := st.FindCachedRender(s.ctx, b.ID, "k1", s.now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cache crossed spaces: %v", err)
			}
			if _, err := st.FindCachedRender(s.ctx, a.ID, "", s.now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("empty key: %v", err)
			}
			// A cache-hit log entry names the earlier render but is not the
			// one its callbacks track.
			orig := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: s.now, Status: 200, RenderID: newest.ID,
				CallbackStatus: store.CallbackPending, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
			hit := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: s.now.Add(time.Second), Status: 200, RenderID: newest.ID, CacheHit: true}
			for _, l := range []*store.RequestLog{orig, hit} {
				if err := st.CreateRequestLog(s.ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.SetCallbackState(s.ctx, newest.ID, store.CallbackCredits, store.CallbackState{State: store.CallbackSucceeded, UpdatedAt: s.now}); err != nil {
				t.Fatal(err)
			}
			gh, err := st.GetRequestLog(s.ctx, a.ID, hit.ID)
			if err != nil || !gh.CacheHit || len(gh.Callbacks) != 0 {
				t.Fatalf("cache-hit entry: %+v %v", gh, err)
			}
			go1, err := st.GetRequestLog(s.ctx, a.ID, orig.ID)
			if err != nil || go1.CacheHit || go1.Callbacks[store.CallbackCredits].State != store.CallbackSucceeded || go1.TraceID != orig.TraceID || gh.TraceID != "" {
				t.Fatalf("original entry: %+v %v", go1, err)
			}
		}},
	)
}

// exerciseCallbacks checks the render transaction and what it hands the queue: all or nothing.
func exerciseCallbacks(t *testing.T, s *suite) {
	s.group(t, "Callbacks",
		storeCase{"render transaction commits together or not at all", func(t *testing.T, st store.Store, a, _ *store.Space) {
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: "req_tx", Format: "png", Status: store.RenderSucceeded,
				Size: 3, BlobKey: a.ID + "/tx.png", CreatedAt: s.now}
			l := &store.RequestLog{ID: "req_tx", SpaceID: a.ID, CreatedAt: s.now, Method: "GET", Path: "/api/render/x", Status: 200,
				RenderID: r.ID, CallbackStatus: store.CallbackPending,
				Callbacks: map[string]store.CallbackState{store.CallbackStore: {State: store.CallbackPending, UpdatedAt: s.now}}}
			boom := errors.New("boom")
			err := st.InTx(s.ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(s.ctx, r); err != nil {
					return err
				}
				if err := tx.SpoolRender(s.ctx, r.ID, []byte{1, 2, 3}, s.now); err != nil {
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
			if _, err := st.FindRender(s.ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("rolled-back render exists: %v", err)
			}
			if err := st.InTx(s.ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(s.ctx, r); err != nil {
					return err
				}
				if err := tx.SpoolRender(s.ctx, r.ID, []byte{0, 1, 2}, s.now); err != nil {
					return err
				}
				return tx.CreateRequestLog(s.ctx, l)
			}); err != nil {
				t.Fatal(err)
			}
			if b, err := st.GetSpool(s.ctx, r.ID); err != nil || !bytes.Equal(b, []byte{0, 1, 2}) {
				t.Fatalf("spool %v %v", b, err)
			}
			if err := st.MarkRenderStored(s.ctx, r.ID, s.now); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetSpool(s.ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("spool kept after store: %v", err)
			}
			if got, _ := st.FindRender(s.ctx, r.ID); got.StoredAt == nil || !got.StoredAt.Equal(s.now) {
				t.Fatalf("stored_at %v", got.StoredAt)
			}
			if err := st.MarkRenderStored(s.ctx, "nope", s.now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("store unknown render: %v", err)
			}
			// A duplicate render id inside a transaction is a conflict.
			if err := st.InTx(s.ctx, func(tx store.Tx) error { return tx.CreateRender(s.ctx, r) }); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate render in tx: %v", err)
			}
		}},
		storeCase{"a log entry records its renderer, set at creation or with its callbacks", func(t *testing.T, st store.Store, a, _ *store.Space) {
			sync := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: s.now, Status: 200, RenderID: store.NewRenderID(),
				Renderer: store.RendererTakumi}
			async := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: s.now, Status: 202, RenderID: store.NewRenderID()}
			for _, l := range []*store.RequestLog{sync, async} {
				if err := st.CreateRequestLog(s.ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.InTx(s.ctx, func(tx store.Tx) error {
				return tx.SetLogCallbacks(s.ctx, async.RenderID, store.RendererChromium, nil)
			}); err != nil {
				t.Fatal(err)
			}
			for l, want := range map[*store.RequestLog]string{sync: store.RendererTakumi, async: store.RendererChromium} {
				if got, err := st.GetRequestLog(s.ctx, a.ID, l.ID); err != nil || got.Renderer != want {
					t.Fatalf("renderer of %s = %q (%v), want %q", l.ID, got.Renderer, err, want)
				}
			}
		}},
	)
}

// exerciseLogs checks request logs: paging, filters, callback states and text a database may refuse.
func exerciseLogs(t *testing.T, s *suite) {
	s.group(t, "Logs",
		storeCase{"request logs page, filter and track callbacks", func(t *testing.T, st store.Store, a, b *store.Space) {
			var ids []string
			for i := range 5 {
				id := store.NewID("req")
				ids = append(ids, id)
				status := 200
				if i%2 == 1 {
					status = 404
				}
				// Two entries share each millisecond: the id breaks the tie.
				l := &store.RequestLog{ID: id, SpaceID: a.ID, CreatedAt: s.now.Add(time.Duration(i/2) * time.Millisecond), Method: "GET",
					Path: "/api/render/p", Status: status, RenderID: "r" + id}
				if err := st.CreateRequestLog(s.ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.GetRequestLog(s.ctx, b.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space log: %v", err)
			}
			var seen []string
			var after *store.LogCursor
			for range 10 {
				page, err := st.ListRequestLogs(s.ctx, store.ListLogsParams{SpaceID: a.ID, Limit: 2, After: after})
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
			missing, err := st.ListRequestLogs(s.ctx, store.ListLogsParams{SpaceID: a.ID, Limit: 10, StatusMin: 400, StatusMax: 499})
			if err != nil || len(missing) != 2 {
				t.Fatalf("4xx filter: %d entries, %v", len(missing), err)
			}
			if other, _ := st.ListRequestLogs(s.ctx, store.ListLogsParams{SpaceID: b.ID, Limit: 10}); len(other) != 0 {
				t.Fatalf("space b sees %d entries", len(other))
			}

			renderID := "r" + ids[0]
			if err := st.AttachLogFile(s.ctx, renderID, a.ID+"/f.png"); err != nil {
				t.Fatal(err)
			}
			// The three callbacks of a render report at the same time; none of
			// their states may be lost.
			var wg sync.WaitGroup
			for _, cb := range []string{store.CallbackStore, store.CallbackLog, store.CallbackCredits} {
				wg.Go(func() {
					if err := st.SetCallbackState(s.ctx, renderID, cb, store.CallbackState{State: store.CallbackSucceeded, Attempts: 1, UpdatedAt: s.now}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			got, err := st.GetRequestLog(s.ctx, a.ID, ids[0])
			if err != nil || got.FileKey != a.ID+"/f.png" || len(got.Callbacks) != 3 || got.CallbackStatus != store.CallbackSucceeded {
				t.Fatalf("log %+v %v", got, err)
			}
			if err := st.SetCallbackState(s.ctx, renderID, store.CallbackStore, store.CallbackState{State: store.CallbackFailed, Error: "disk \x00 full", UpdatedAt: s.now}); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetRequestLog(s.ctx, a.ID, ids[0]); got.CallbackStatus != store.CallbackFailed || got.Callbacks["store"].Error != "disk \x00 full" {
				t.Fatalf("after failure %+v", got)
			}
			if err := st.SetCallbackState(s.ctx, "unknown", store.CallbackStore, store.CallbackState{State: store.CallbackFailed}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("callback state of unknown render: %v", err)
			}
			n, err := st.DeleteRequestLogsBefore(s.ctx, s.now.Add(time.Millisecond))
			if err != nil || n != 2 {
				t.Fatalf("retention deleted %d (%v), want 2", n, err)
			}
		}},
		storeCase{"text a database may refuse is still recorded", func(t *testing.T, st store.Store, a, _ *store.Space) {
			// Request paths and bodies can carry NUL and invalid UTF-8; the
			// entry must still be written (a render's transaction holds it).
			l := &store.RequestLog{ID: store.NewID("req"), SpaceID: a.ID, CreatedAt: s.now, Method: "GET",
				Path: "/api/render/\x00\xff\xfe", Body: "{\"a\":\"\xc3\"}", Error: "bad \x00", Status: 400}
			if err := st.CreateRequestLog(s.ctx, l); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetRequestLog(s.ctx, a.ID, l.ID); err != nil {
				t.Fatal(err)
			}
			tp := s.tmpl(t, st, a.ID)
			tp.HTML = "<b>\x00</b>"
			if err := st.UpdateTemplate(s.ctx, tp); err != nil {
				t.Fatal(err)
			}
			p := &store.Page{ID: store.NewID("pg"), SpaceID: a.ID, CreatedAt: s.now, UpdatedAt: s.now,
				Draft: store.PageVersion{TemplateID: tp.ID, Name: "n", Values: map[string]any{"x": "nul \x00 inside"}}}
			if err := st.CreatePage(s.ctx, p); err != nil {
				t.Fatal(err)
			}
			if got, err := st.GetPage(s.ctx, a.ID, p.ID); err != nil || got.Draft.Values["x"] != "nul \x00 inside" {
				t.Fatalf("values %v %v", got, err)
			}
		}},
	)
}

// exerciseCredits checks credits: billing once and counting pending renders.
func exerciseCredits(t *testing.T, s *suite) {
	s.group(t, "Credits",
		storeCase{"credits bill once and count pending renders", func(t *testing.T, st store.Store, a, b *store.Space) {
			mk := func(status string) *store.Render {
				r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: store.NewID("req"), Format: "png", Status: status, CreatedAt: s.now}
				if err := st.CreateRender(s.ctx, r); err != nil {
					t.Fatal(err)
				}
				return r
			}
			ok1, ok2 := mk(store.RenderSucceeded), mk(store.RenderSucceeded)
			mk(store.RenderFailed)
			queued := mk(store.RenderQueued)
			if c, err := st.CreditStatus(s.ctx, a.ID); err != nil || c.Limit != 10 || c.Used != 0 || c.Pending != 3 {
				t.Fatalf("before billing %+v %v", c, err)
			}
			// An unlimited space's pending renders are not counted.
			free := &store.Space{ID: store.NewID("spc"), Name: "free", CreatedAt: s.now}
			if err := st.CreateSpace(s.ctx, free); err != nil {
				t.Fatal(err)
			}
			unbilled := &store.Render{ID: store.NewRenderID(), SpaceID: free.ID, RequestID: store.NewID("req"), Format: "png", Status: store.RenderSucceeded, CreatedAt: s.now}
			if err := st.CreateRender(s.ctx, unbilled); err != nil {
				t.Fatal(err)
			}
			if c, err := st.CreditStatus(s.ctx, free.ID); err != nil || c.Limit != 0 || c.Pending != 0 {
				t.Fatalf("unlimited space %+v %v", c, err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					added, err := st.AddCredit(s.ctx, a.ID, ok1.ID, 1, s.now)
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
			if _, err := st.AddCredit(s.ctx, a.ID, ok2.ID, 1, s.now); err != nil {
				t.Fatal(err)
			}
			if c, _ := st.CreditStatus(s.ctx, a.ID); c.Used != 2 || c.Pending != 1 {
				t.Fatalf("after billing %+v", c)
			}
			u, err := st.Usage(s.ctx, a.ID)
			if err != nil || u.CreditsUsed != 2 || u.Succeeded != 2 || u.Failed != 1 || u.CreditLimit != 10 {
				t.Fatalf("usage %+v %v", u, err)
			}
			if u, _ := st.Usage(s.ctx, b.ID); u.CreditsUsed != 0 || u.Succeeded != 0 {
				t.Fatalf("space b usage %+v", u)
			}
			if _, err := st.CreditStatus(s.ctx, "spc_nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("credit status of unknown space: %v", err)
			}

			// The async render runs: started, delayed (snoozed) and started
			// again, then finished in a transaction.
			if err := st.MarkRenderStarted(s.ctx, queued.ID, s.now); err != nil {
				t.Fatal(err)
			}
			if err := st.MarkRenderDelayed(s.ctx, queued.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.FindRender(s.ctx, queued.ID); got.Status != store.RenderQueued || got.StartedAt == nil {
				t.Fatalf("delayed render %+v: want queued with its start kept", got)
			}
			if err := st.MarkRenderDelayed(s.ctx, queued.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delaying a render that is not rendering: %v", err)
			}
			if err := st.MarkRenderStarted(s.ctx, queued.ID, s.now); err != nil {
				t.Fatal(err)
			}
			queued.Status, queued.Size, queued.StartedAt, queued.EndedAt = store.RenderSucceeded, 9, &s.now, &s.now
			if err := st.InTx(s.ctx, func(tx store.Tx) error { return tx.UpdateRender(s.ctx, queued) }); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.FindRender(s.ctx, queued.ID); got.Status != store.RenderSucceeded || got.Size != 9 || got.EndedAt == nil {
				t.Fatalf("finished async render %+v", got)
			}
			if err := st.MarkRenderStarted(s.ctx, queued.ID, s.now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("restarting a finished render: %v", err)
			}
		}},
	)
}

// exerciseRetention checks retention: what old requests left is removed, and nothing else.
func exerciseRetention(t *testing.T, s *suite) {
	s.group(t, "Retention",
		storeCase{"retention removes what old requests left", func(t *testing.T, st store.Store, a, _ *store.Space) {
			old, cutoff := s.now.Add(-2*time.Hour), s.now.Add(-time.Hour)
			mk := func(at time.Time) *store.Render {
				r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: store.NewID("req"), Format: "png", Status: store.RenderSucceeded,
					BlobKey: a.ID + "/r.png", Size: 7, Options: `{"cookie":"sid=s3cr3t"}`, WebhookURL: "https://example.com/h?k=s3cr3t",
					Metadata: `{"m":"s3cr3t"}`, CreatedAt: at}
				err := st.InTx(s.ctx, func(tx store.Tx) error {
					if err := tx.CreateRender(s.ctx, r); err != nil {
						return err
					}
					return tx.SpoolRender(s.ctx, r.ID, []byte("bytes"), at)
				})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			gone, kept := mk(old), mk(s.now)
			delivery := func(created, updated time.Time) string {
				d := &store.Delivery{ID: store.NewID("msg"), SpaceID: a.ID, URL: "https://example.com/h", Event: "render.succeeded",
					RenderID: gone.ID, Payload: []byte(`{"m":"s3cr3t"}`), Status: store.DeliverySucceeded, CreatedAt: created, UpdatedAt: updated}
				if err := st.CreateDelivery(s.ctx, d); err != nil {
					t.Fatal(err)
				}
				return d.ID
			}
			oldDelivery, retried, recent := delivery(old, old), delivery(old, s.now), delivery(s.now, s.now)

			if n, err := st.ScrubRendersBefore(s.ctx, cutoff); err != nil || n != 1 {
				t.Fatalf("scrub renders: %d %v", n, err)
			}
			got, err := st.GetRender(s.ctx, a.ID, gone.ID)
			if err != nil || got.Options != "" || got.WebhookURL != "" || got.Metadata != "" || got.Size != 7 || got.BlobKey != gone.BlobKey || got.Status != store.RenderSucceeded {
				t.Fatalf("scrubbed render: %+v %v", got, err)
			}
			if got, _ := st.GetRender(s.ctx, a.ID, kept.ID); got.Options != kept.Options || got.WebhookURL != kept.WebhookURL || got.Metadata != kept.Metadata {
				t.Fatalf("a recent render was scrubbed: %+v", got)
			}
			if n, err := st.ScrubRendersBefore(s.ctx, cutoff); err != nil || n != 0 {
				t.Fatalf("scrub twice: %d %v", n, err)
			}
			if n, err := st.DeleteSpoolBefore(s.ctx, cutoff); err != nil || n != 1 {
				t.Fatalf("delete spool: %d %v", n, err)
			}
			if _, err := st.GetSpool(s.ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("old spool: %v", err)
			}
			if data, err := st.GetSpool(s.ctx, kept.ID); err != nil || string(data) != "bytes" {
				t.Fatalf("recent spool: %q %v", data, err)
			}
			if n, err := st.DeleteDeliveriesBefore(s.ctx, cutoff); err != nil || n != 1 {
				t.Fatalf("delete deliveries: %d %v", n, err)
			}
			if _, err := FindDelivery(s.ctx, st, oldDelivery); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("old delivery: %v", err)
			}
			for _, id := range []string{retried, recent} {
				if _, err := FindDelivery(s.ctx, st, id); err != nil {
					t.Fatalf("delivery %s changed since the cutoff: %v", id, err)
				}
			}
		}},
	)
}
