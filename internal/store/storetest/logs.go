package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseLogs checks request logs: paging, filters, callback states and text a database may refuse.
func exerciseLogs(t *testing.T, s *suite) {
	t.Run("Logs", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		tmpl := s.tmpl
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
	})
}

// exerciseCredits checks credits: billing once and counting pending renders.
func exerciseCredits(t *testing.T, s *suite) {
	t.Run("Credits", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
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
	})
}
