package storetest

import (
	"errors"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseFollowUp checks RecordFollowUp: one attempt of a render's
// follow-up job, its effects and states in one transaction.
func exerciseFollowUp(t *testing.T, s *suite) {
	t.Run("FollowUp", func(t *testing.T) {
		t.Run("an attempt bills once, stores, attaches and keeps succeeded states", func(t *testing.T) {
			st, a, _ := s.setup(t)
			r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: store.NewID("req"), Format: "png", Status: store.RenderSucceeded,
				BlobKey: a.ID + "/f.png", CreatedAt: s.now}
			pending := store.CallbackState{State: store.CallbackPending, UpdatedAt: s.now}
			l := &store.RequestLog{ID: r.RequestID, SpaceID: a.ID, CreatedAt: s.now, Method: "GET", Path: "/api/render/x", Status: 200,
				RenderID: r.ID, CallbackStatus: store.CallbackPending,
				Callbacks: map[string]store.CallbackState{store.CallbackStore: pending, store.CallbackLog: pending, store.CallbackCredits: pending}}
			if err := st.InTx(s.ctx, func(tx store.Tx) error {
				if err := tx.CreateRender(s.ctx, r); err != nil {
					return err
				}
				if err := tx.SpoolRender(s.ctx, r.ID, []byte{1}, s.now); err != nil {
					return err
				}
				return tx.CreateRequestLog(s.ctx, l)
			}); err != nil {
				t.Fatal(err)
			}
			state := func(state string, attempts int, msg string) store.CallbackState {
				return store.CallbackState{State: state, Attempts: attempts, Error: msg, UpdatedAt: s.now}
			}
			// Attempt 1: billed, the store failed, the log waits.
			billed, err := st.RecordFollowUp(s.ctx, store.FollowUp{RenderID: r.ID, SpaceID: a.ID, Credit: true, At: s.now,
				Callbacks: map[string]store.CallbackState{store.CallbackCredits: state(store.CallbackSucceeded, 1, ""),
					store.CallbackStore: state(store.CallbackRetrying, 1, "disk \x00 full"), store.CallbackLog: state(store.CallbackPending, 1, "")}})
			if err != nil || !billed {
				t.Fatalf("attempt 1: billed %v, %v", billed, err)
			}
			got, _ := st.GetRequestLog(s.ctx, a.ID, l.ID)
			if got.CallbackStatus != store.CallbackPending || got.FileKey != "" || got.Callbacks[store.CallbackStore].Error != "disk \x00 full" {
				t.Fatalf("after attempt 1: %+v", got)
			}
			if _, err := st.GetSpool(s.ctx, r.ID); err != nil {
				t.Fatalf("spool dropped before the file was stored: %v", err)
			}
			// Attempt 2: every step succeeds; the credit is not billed again and
			// its record of attempt 1 stands.
			billed, err = st.RecordFollowUp(s.ctx, store.FollowUp{RenderID: r.ID, SpaceID: a.ID, Credit: true, Stored: true, AttachFile: true,
				FileKey: r.BlobKey, At: s.now, Callbacks: map[string]store.CallbackState{store.CallbackCredits: state(store.CallbackSucceeded, 2, ""),
					store.CallbackStore: state(store.CallbackSucceeded, 2, ""), store.CallbackLog: state(store.CallbackSucceeded, 2, "")}})
			if err != nil || billed {
				t.Fatalf("attempt 2: billed %v (want false), %v", billed, err)
			}
			got, _ = st.GetRequestLog(s.ctx, a.ID, l.ID)
			if got.CallbackStatus != store.CallbackSucceeded || got.FileKey != r.BlobKey ||
				got.Callbacks[store.CallbackCredits].Attempts != 1 || got.Callbacks[store.CallbackStore].Attempts != 2 {
				t.Fatalf("after attempt 2: %+v", got)
			}
			if u, _ := st.Usage(s.ctx, a.ID); u.CreditsUsed != 1 {
				t.Fatalf("credits used %d, want 1", u.CreditsUsed)
			}
			if _, err := st.GetSpool(s.ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("spool kept after the store step: %v", err)
			}
			if rr, _ := st.FindRender(s.ctx, r.ID); rr.StoredAt == nil {
				t.Fatal("render not marked stored")
			}
			// A render whose log entry is gone still gets its effects; an
			// unknown render's store step is refused, and nothing is billed.
			r2 := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, Format: "png", Status: store.RenderSucceeded, CreatedAt: s.now}
			if err := st.CreateRender(s.ctx, r2); err != nil {
				t.Fatal(err)
			}
			if billed, err := st.RecordFollowUp(s.ctx, store.FollowUp{RenderID: r2.ID, SpaceID: a.ID, Credit: true, Stored: true, AttachFile: true,
				At: s.now, Callbacks: map[string]store.CallbackState{store.CallbackLog: state(store.CallbackSucceeded, 1, "")}}); err != nil || !billed {
				t.Fatalf("render without a log entry: billed %v, %v", billed, err)
			}
			if _, err := st.RecordFollowUp(s.ctx, store.FollowUp{RenderID: "rnd_nope", SpaceID: a.ID, Credit: true, Stored: true, At: s.now}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown render: %v, want ErrNotFound", err)
			}
			if u, _ := st.Usage(s.ctx, a.ID); u.CreditsUsed != 2 {
				t.Fatalf("credits used %d, want 2 (the unknown render's rolled back)", u.CreditsUsed)
			}
		})
	})
}
