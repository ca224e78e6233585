package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseWebhooks checks webhook endpoints and deliveries: health, patches and delivery records.
func exerciseWebhooks(t *testing.T, s *suite) {
	t.Run("Webhooks", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
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
			d2, err := FindDelivery(ctx, st, ids[2])
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
			if f, _ := FindDelivery(ctx, st, ids[1]); f.Status != store.DeliveryExhausted || len(f.Attempts) != 0 {
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
	})
}
