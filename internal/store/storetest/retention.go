package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseRetention checks retention: what old requests left is removed, and nothing else.
func exerciseRetention(t *testing.T, s *suite) {
	t.Run("Retention", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
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
			if _, err := FindDelivery(ctx, st, oldDelivery); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("old delivery: %v", err)
			}
			for _, id := range []string{retried, recent} {
				if _, err := FindDelivery(ctx, st, id); err != nil {
					t.Fatalf("delivery %s changed since the cutoff: %v", id, err)
				}
			}
		})
	})
}

// exerciseQueueNodes checks queue nodes: each node swaps in its River client id.
func exerciseQueueNodes(t *testing.T, s *suite) {
	t.Run("QueueNodes", func(t *testing.T) {
		ctx := s.ctx
		open := s.open
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
	})
}
