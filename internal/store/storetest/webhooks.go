package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseWebhookHealth checks what delivery attempts do to an endpoint's
// health fields.
func exerciseWebhookHealth(t *testing.T, s *suite) {
	s.group(t, "Webhooks",
		storeCase{"webhook endpoint health", func(t *testing.T, st store.Store, a, _ *store.Space) {
			e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Events: []string{"render.succeeded"},
				Enabled: true, Secret: "whsec_1", CreatedAt: s.now, UpdatedAt: s.now}
			if err := st.CreateWebhookEndpoint(s.ctx, e); err != nil {
				t.Fatal(err)
			}
			// The owner edits and rotates while a delivery is in flight.
			edited := *e
			edited.URL, edited.Description = "https://example.com/new", "edited"
			if _, err := st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{URL: &edited.URL, Description: &edited.Description, At: s.now}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RotateWebhookEndpointSecret(s.ctx, a.ID, e.ID, "whsec_1", "whsec_2", s.now); err != nil {
				t.Fatal(err)
			}
			health := func(h store.EndpointHealth, wantChanged bool) *store.WebhookEndpoint {
				t.Helper()
				changed, err := st.SetWebhookEndpointHealth(s.ctx, e.ID, h)
				if err != nil || changed != wantChanged {
					t.Fatalf("SetWebhookEndpointHealth(%+v) = %v, %v; want changed %v", h, changed, err, wantChanged)
				}
				got, err := st.FindWebhookEndpoint(s.ctx, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.URL != edited.URL || got.Description != "edited" || got.Secret != "whsec_2" || got.SecretPrev != "whsec_1" {
					t.Fatalf("a health change touched the owner's fields: %+v", got)
				}
				return got
			}
			t1, t2, t3 := s.now.Add(time.Minute), s.now.Add(2*time.Minute), s.now.Add(3*time.Minute)
			if got := health(store.EndpointHealth{At: t1}, true); got.FailingSince == nil || !got.FailingSince.Equal(t1) || !got.Enabled {
				t.Fatalf("first failure: %+v", got)
			}
			// A second failure keeps the run's start.
			if got := health(store.EndpointHealth{At: t2}, false); !got.FailingSince.Equal(t1) {
				t.Fatalf("second failure moved FailingSince: %+v", got)
			}
			// Failing since t1 is not failing since before now: stays enabled.
			if got := health(store.EndpointHealth{At: t2, DisableReason: "too long", FailingBefore: &s.now}, false); !got.Enabled {
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
			if changed, err := st.SetWebhookEndpointHealth(s.ctx, "we_nope", store.EndpointHealth{At: t3, OK: true}); changed || err != nil {
				t.Fatalf("unknown endpoint: %v %v", changed, err)
			}
		}},
	)
}

// exerciseWebhooks checks webhook endpoints and deliveries.
func exerciseWebhooks(t *testing.T, s *suite) {
	s.group(t, "Webhooks",
		storeCase{"webhook endpoints and deliveries", func(t *testing.T, st store.Store, a, b *store.Space) {
			checkDeliveries(t, s, st, a, b, checkEndpoints(t, s, st, a, b))
		}},
	)
}

// checkEndpoints is the first half of "webhook endpoints and deliveries":
// the space's secrets and one endpoint (returned, disabled) of space a.
func checkEndpoints(t *testing.T, s *suite, st store.Store, a, b *store.Space) *store.WebhookEndpoint {
	t.Helper()
	rot := s.now.Add(-time.Hour)
	if err := st.SetWebhookSecret(s.ctx, a.ID, "whsec_new", "whsec_old", &rot); err != nil {
		t.Fatal(err)
	}
	if sp, _ := st.GetSpace(s.ctx, a.ID); sp.WebhookSecret != "whsec_new" || sp.WebhookSecretPrev != "whsec_old" || !sp.WebhookSecretRotatedAt.Equal(rot) {
		t.Fatalf("space secrets %+v", sp)
	}
	e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Events: []string{"render.succeeded"},
		Enabled: true, Secret: "whsec_e", CreatedAt: s.now, UpdatedAt: s.now}
	if err := st.CreateWebhookEndpoint(s.ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetWebhookEndpoint(s.ctx, b.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-space endpoint: %v", err)
	}
	if _, err := st.SetWebhookEndpointHealth(s.ctx, e.ID, store.EndpointHealth{At: s.now}); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "gone", At: s.now}); err != nil {
		t.Fatal(err)
	}
	got, err := st.FindWebhookEndpoint(s.ctx, e.ID)
	if err != nil || got.Enabled || got.DisabledReason != "gone" || got.FailingSince == nil || !got.Wants("render.succeeded") || got.Wants("render.failed") {
		t.Fatalf("endpoint %+v %v", got, err)
	}
	if list, _ := st.ListWebhookEndpoints(s.ctx, a.ID); len(list) != 1 {
		t.Fatalf("%d endpoints", len(list))
	}
	return e
}

// checkDeliveries is its second half: deliveries to endpoint e of space
// a, their attempts, lookups and listings.
func checkDeliveries(t *testing.T, s *suite, st store.Store, a, b *store.Space, e *store.WebhookEndpoint) {
	t.Helper()
	var err error
	payload := []byte(`{"event":"render.succeeded","x":"\u00e9"}`)
	var ids []string
	for i := range 3 {
		d := &store.Delivery{ID: store.NewID("msg"), SpaceID: a.ID, EndpointID: e.ID, URL: e.URL, Event: "render.succeeded",
			RenderID: "r1", Payload: payload, Status: store.DeliveryPending, CreatedAt: s.now.Add(time.Duration(i) * time.Millisecond), UpdatedAt: s.now}
		if i == 0 {
			err = st.InTx(s.ctx, func(tx store.Tx) error { return tx.CreateDelivery(s.ctx, d) })
		} else {
			err = st.CreateDelivery(s.ctx, d)
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	// One attempt, as the delivery worker's recorder writes it alone.
	record := func(id string, at store.DeliveryAttempt, status string) error {
		found, err := st.RecordDeliveryAttempts(s.ctx, []store.AttemptRecord{{DeliveryID: id, Attempt: at, Status: status}})
		if err == nil && !found[0] {
			err = store.ErrNotFound
		}
		return err
	}
	a1 := store.DeliveryAttempt{At: s.now, StatusCode: 500, DurationMs: 3, Error: "HTTP 500", ResponseBody: "oops \x00"}
	a2 := store.DeliveryAttempt{At: s.now.Add(time.Second), StatusCode: 200, DurationMs: 4}
	if err := record(ids[0], a1, store.DeliveryFailed); err != nil {
		t.Fatal(err)
	}
	if err := record(ids[0], a2, store.DeliverySucceeded); err != nil {
		t.Fatal(err)
	}
	d, err := st.GetDelivery(s.ctx, a.ID, ids[0])
	if err != nil || d.Status != store.DeliverySucceeded || len(d.Attempts) != 2 || d.Attempts[0].StatusCode != 500 ||
		d.Attempts[0].ResponseBody != "oops \x00" || d.Attempts[1].StatusCode != 200 || !bytes.Equal(d.Payload, payload) {
		t.Fatalf("delivery %+v %v", d, err)
	}
	if _, err := st.GetDelivery(s.ctx, b.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-space delivery: %v", err)
	}
	if err := record("msg_nope", a1, store.DeliveryFailed); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("attempt on unknown delivery: %v", err)
	}
	// Many attempts at once: in order, two of one delivery both
	// appended, an unknown delivery reported and skipped.
	a3 := store.DeliveryAttempt{At: s.now.Add(2 * time.Second), StatusCode: 503, DurationMs: 5, Error: "HTTP 503"}
	found, err := st.RecordDeliveryAttempts(s.ctx, []store.AttemptRecord{
		{DeliveryID: ids[2], Attempt: a1, Status: store.DeliveryFailed},
		{DeliveryID: "msg_nope", Attempt: a1, Status: store.DeliveryFailed},
		{DeliveryID: ids[2], Attempt: a3, Status: store.DeliveryFailed},
		{DeliveryID: ids[2], Attempt: a1, Status: store.DeliveryExhausted},
	})
	if err != nil || len(found) != 4 || !found[0] || found[1] || !found[2] || !found[3] {
		t.Fatalf("record attempts: %v %v", found, err)
	}
	d2, err := FindDelivery(s.ctx, st, ids[2])
	if err != nil || d2.Status != store.DeliveryExhausted || len(d2.Attempts) != 3 || d2.Attempts[0].StatusCode != 500 ||
		d2.Attempts[0].ResponseBody != "oops \x00" || d2.Attempts[1].StatusCode != 503 || d2.Attempts[2].StatusCode != 500 ||
		!d2.UpdatedAt.Equal(a1.At) {
		t.Fatalf("after record attempts: %+v %v", d2, err)
	}
	if found, err := st.RecordDeliveryAttempts(s.ctx, nil); err != nil || len(found) != 0 {
		t.Fatalf("record no attempts: %v %v", found, err)
	}
	if err := st.SetDeliveryStatus(s.ctx, ids[1], store.DeliveryExhausted); err != nil {
		t.Fatal(err)
	}
	if f, _ := FindDelivery(s.ctx, st, ids[1]); f.Status != store.DeliveryExhausted || len(f.Attempts) != 0 {
		t.Fatalf("status %+v", f)
	}
	checkDeliveryLookups(t, s, st, a, b, e, ids, payload)
}

// checkDeliveryLookups is its end: FindDeliveryToSend, listings and the
// endpoint's deletion (ids are a's three deliveries, oldest first).
func checkDeliveryLookups(t *testing.T, s *suite, st store.Store, a, b *store.Space, e *store.WebhookEndpoint, ids []string, payload []byte) {
	t.Helper()
	// FindDeliveryToSend says where the render's file is and whether
	// it is stored yet.
	if f, file, err := st.FindDeliveryToSend(s.ctx, ids[0]); err != nil || file != (store.RenderFile{}) || f.ID != ids[0] || len(f.Attempts) != 2 {
		t.Fatalf("to send, unknown render: %+v %+v %v", f, file, err)
	}
	// (in space b, so a's listings below stay as they are)
	rr := &store.Render{ID: store.NewRenderID(), SpaceID: b.ID, RequestID: "req_d", Format: "png", Status: store.RenderSucceeded,
		BlobKey: b.ID + "/d.png", CreatedAt: s.now}
	if err := st.CreateRender(s.ctx, rr); err != nil {
		t.Fatal(err)
	}
	dr := &store.Delivery{ID: store.NewID("msg"), SpaceID: b.ID, URL: "https://example.com/h", Event: "render.succeeded",
		RenderID: rr.ID, Payload: payload, Status: store.DeliveryPending, CreatedAt: s.now, UpdatedAt: s.now}
	if err := st.CreateDelivery(s.ctx, dr); err != nil {
		t.Fatal(err)
	}
	if _, file, err := st.FindDeliveryToSend(s.ctx, dr.ID); err != nil || file != (store.RenderFile{Key: rr.BlobKey}) {
		t.Fatalf("to send, render not stored yet: %+v %v", file, err)
	}
	if err := st.MarkRenderStored(s.ctx, rr.ID, s.now); err != nil {
		t.Fatal(err)
	}
	if f, file, err := st.FindDeliveryToSend(s.ctx, dr.ID); err != nil || file != (store.RenderFile{Key: rr.BlobKey, Stored: true}) ||
		f.RenderID != rr.ID || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("to send, render stored: %+v %+v %v", f, file, err)
	}
	if _, _, err := st.FindDeliveryToSend(s.ctx, "msg_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("to send, unknown delivery: %v", err)
	}
	page1, err := st.ListDeliveries(s.ctx, store.ListDeliveriesParams{SpaceID: a.ID, RenderID: "r1", EndpointID: e.ID, Limit: 2})
	if err != nil || len(page1) != 2 || page1[0].ID != ids[2] || page1[1].ID != ids[1] {
		t.Fatalf("first page %v %v", page1, err)
	}
	last := page1[1]
	page2, _ := st.ListDeliveries(s.ctx, store.ListDeliveriesParams{SpaceID: a.ID, Limit: 2, After: &store.LogCursor{CreatedAt: last.CreatedAt, ID: last.ID}})
	if len(page2) != 1 || page2[0].ID != ids[0] {
		t.Fatalf("second page %v", page2)
	}
	if got, _ := st.ListDeliveries(s.ctx, store.ListDeliveriesParams{SpaceID: a.ID, Status: store.DeliverySucceeded, Limit: 10}); len(got) != 1 {
		t.Fatalf("status filter: %d", len(got))
	}
	if err := st.DeleteWebhookEndpoint(s.ctx, b.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-space delete: %v", err)
	}
	if err := st.DeleteWebhookEndpoint(s.ctx, a.ID, e.ID); err != nil {
		t.Fatal(err)
	}
}

// exerciseEndpointPatches checks that a patch changes only what it names.
func exerciseEndpointPatches(t *testing.T, s *suite) {
	s.group(t, "Webhooks",
		storeCase{"webhook endpoint patch changes only the given fields", func(t *testing.T, st store.Store, a, b *store.Space) {
			e := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: a.ID, URL: "https://example.com/h", Description: "d",
				Events: []string{"render.succeeded"}, Enabled: true, Secret: "whsec_1", CreatedAt: s.now, UpdatedAt: s.now}
			if err := st.CreateWebhookEndpoint(s.ctx, e); err != nil {
				t.Fatal(err)
			}
			// A 410 disables it and the owner rotates, after an editor read it.
			if changed, err := st.SetWebhookEndpointHealth(s.ctx, e.ID, store.EndpointHealth{At: s.now, DisableReason: "410 Gone"}); err != nil || !changed {
				t.Fatalf("disable: %v %v", changed, err)
			}
			t1 := s.now.Add(time.Minute)
			rot, err := st.RotateWebhookEndpointSecret(s.ctx, a.ID, e.ID, "whsec_1", "whsec_2", t1)
			if err != nil || rot.Secret != "whsec_2" || rot.SecretPrev != "whsec_1" || !rot.SecretRotatedAt.Equal(t1) || rot.URL != e.URL || rot.Enabled {
				t.Fatalf("rotate: %+v %v", rot, err)
			}
			// Rotating from a secret that is no longer stored is a conflict
			// and changes nothing; another space's endpoint is not found.
			if _, err := st.RotateWebhookEndpointSecret(s.ctx, a.ID, e.ID, "whsec_1", "whsec_3", t1); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("stale rotate: %v", err)
			}
			if _, err := st.RotateWebhookEndpointSecret(s.ctx, b.ID, e.ID, "whsec_2", "whsec_3", t1); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space rotate: %v", err)
			}
			// The editor's change of the URL keeps the rotation and the 410.
			t2 := s.now.Add(2 * time.Minute)
			u := "https://example.com/moved"
			got, err := st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{URL: &u, At: t2})
			if err != nil || got.URL != u || got.Description != "d" || got.Secret != "whsec_2" || got.SecretPrev != "whsec_1" ||
				got.Enabled || got.DisabledReason != "410 Gone" || len(got.Events) != 1 || !got.UpdatedAt.Equal(t2) {
				t.Fatalf("patch url: %+v %v", got, err)
			}
			// Disabling a disabled endpoint keeps its reason; enabling clears
			// the reason and the failing mark.
			off, on := false, true
			if got, err := st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "by hand", At: t2}); err != nil ||
				got.Enabled || got.DisabledReason != "410 Gone" {
				t.Fatalf("disable twice: %+v %v", got, err)
			}
			events, desc := []string{}, "new"
			got, err = st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &on, Events: &events, Description: &desc, At: t2})
			if err != nil || !got.Enabled || got.DisabledReason != "" || got.FailingSince != nil || len(got.Events) != 0 || got.Description != "new" || got.URL != u {
				t.Fatalf("enable: %+v %v", got, err)
			}
			if got, err := st.PatchWebhookEndpoint(s.ctx, a.ID, e.ID, store.EndpointPatch{Enabled: &off, DisabledReason: "by hand", At: t2}); err != nil ||
				got.Enabled || got.DisabledReason != "by hand" {
				t.Fatalf("disable: %+v %v", got, err)
			}
			if _, err := st.PatchWebhookEndpoint(s.ctx, b.ID, e.ID, store.EndpointPatch{URL: &u, At: t2}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space patch: %v", err)
			}
			if _, err := st.PatchWebhookEndpoint(s.ctx, a.ID, "we_nope", store.EndpointPatch{At: t2}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown endpoint: %v", err)
			}
		}},
	)
}
