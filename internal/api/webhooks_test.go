package api_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// racingStore is a real store that runs a concurrent change right after
// the next endpoint read, as another request would between a handler's
// read and its write.
type racingStore struct {
	store.Store
	mu        sync.Mutex
	afterRead func()
}

func (r *racingStore) GetWebhookEndpoint(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	e, err := r.Store.GetWebhookEndpoint(ctx, spaceID, id)
	r.race()
	return e, err
}

// race runs the pending concurrent change, once.
func (r *racingStore) race() {
	r.mu.Lock()
	fn := r.afterRead
	r.afterRead = nil
	r.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// newRacingEnv is the handler-level env on a racing store.
func newRacingEnv(t *testing.T) (*env, *racingStore, string, string) {
	t.Helper()
	var rs *racingStore
	e := setupWith(t, func(st store.Store) store.Store { rs = &racingStore{Store: st}; return rs })
	sp, token := e.newSpace("t")
	return e, rs, sp.ID, token
}

// callJSON is env.call for a subtest, answering the body as JSON.
func (e *env) callJSON(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	e.t = t
	res := e.call(want, method, path, token, body)
	var m map[string]any
	_ = json.Unmarshal(res.Body, &m)
	return m
}

// TestEndpointEditsDoNotUndoEachOther interleaves an edit of an endpoint's
// URL with a 410's disabling and with a secret rotation, each concurrent
// change landing between the other request's read and write (or, where
// a handler no longer reads before it writes, right after it): neither
// undoes the other.
func TestEndpointEditsDoNotUndoEachOther(t *testing.T) {
	ctx := context.Background()
	e, rs, space, token := newRacingEnv(t)
	call := func(t *testing.T, want int, method, path string, body any) map[string]any {
		t.Helper()
		return e.callJSON(t, want, method, path, token, body)
	}
	create := func(t *testing.T) (id, secret string) {
		m := call(t, 201, "POST", "/api/webhooks", map[string]any{"url": "https://example.com/a"})
		return m["id"].(string), m["secret"].(string)
	}
	get := func(t *testing.T, id string) *store.WebhookEndpoint {
		got, err := rs.Store.GetWebhookEndpoint(ctx, space, id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("a PATCH of the URL and a 410", func(t *testing.T) {
		id, _ := create(t)
		rs.afterRead = func() {
			if _, err := rs.SetWebhookEndpointHealth(ctx, id, store.EndpointHealth{At: time.Now().UTC(), DisableReason: "the receiver answered 410 Gone"}); err != nil {
				t.Error(err)
			}
		}
		call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved"})
		rs.race()
		got := get(t, id)
		if got.Enabled || got.DisabledReason != "the receiver answered 410 Gone" {
			t.Errorf("the PATCH re-enabled an endpoint a 410 disabled: enabled %v, reason %q", got.Enabled, got.DisabledReason)
		}
		if got.URL != "https://example.com/moved" {
			t.Errorf("url %q, want the PATCH's", got.URL)
		}
	})

	t.Run("a PATCH of the URL and a rotation", func(t *testing.T) {
		id, first := create(t)
		var rotated string
		rs.afterRead = func() {
			rotated = call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		}
		call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved", "description": "d"})
		rs.race()
		got := get(t, id)
		if got.Secret != rotated || got.SecretPrev != first {
			t.Errorf("the PATCH undid the rotation: secret %q prev %q, want %q prev %q", got.Secret, got.SecretPrev, rotated, first)
		}
		if got.URL != "https://example.com/moved" || got.Description != "d" {
			t.Errorf("url %q description %q, want the PATCH's", got.URL, got.Description)
		}
	})

	t.Run("a rotation and a PATCH of the URL", func(t *testing.T) {
		id, first := create(t)
		rs.afterRead = func() {
			call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved"})
		}
		rotated := call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		rs.race()
		got := get(t, id)
		if got.URL != "https://example.com/moved" {
			t.Errorf("the rotation undid the PATCH: url %q", got.URL)
		}
		if got.Secret != rotated || got.SecretPrev != first {
			t.Errorf("secret %q prev %q, want %q prev %q", got.Secret, got.SecretPrev, rotated, first)
		}
	})

	t.Run("two rotations", func(t *testing.T) {
		id, first := create(t)
		var inner string
		rs.afterRead = func() {
			inner = call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		}
		outer := call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		got := get(t, id)
		// Each rotation keeps the secret that was signing as previous:
		// the first's new one stays valid for the window.
		if got.Secret != outer || got.SecretPrev != inner || inner == first {
			t.Errorf("secret %q prev %q, want %q prev %q (first %q)", got.Secret, got.SecretPrev, outer, inner, first)
		}
	})

	t.Run("a PATCH changes only what it names", func(t *testing.T) {
		id, _ := create(t)
		call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"events": []string{"render.failed"}})
		if got := get(t, id); got.URL != "https://example.com/a" || len(got.Events) != 1 || got.Events[0] != "render.failed" || !got.Enabled {
			t.Errorf("after a PATCH of events: %+v", got)
		}
		for _, bad := range []map[string]any{{"url": " "}, {"events": []string{"nope"}}, {"description": string(make([]byte, 501))}} {
			call(t, 422, "PATCH", "/api/webhooks/"+id, bad)
		}
		if got := get(t, id); got.URL != "https://example.com/a" || got.Events[0] != "render.failed" || got.Description != "" {
			t.Errorf("a refused PATCH changed the endpoint: %+v", got)
		}
		call(t, 404, "PATCH", "/api/webhooks/whe_nope", map[string]any{"url": "https://example.com/b"})
	})
}
