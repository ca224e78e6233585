package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite"
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

type noBrowser struct{}

func (noBrowser) Render(context.Context, browser.Request) (*browser.Result, error) {
	panic("no renders in this test")
}

type webhookEnv struct {
	st    *racingStore
	h     http.Handler
	token string
	space string
}

// newWebhookEnv serves the API in process on SQLite, with a space and its
// token; the browser is never used.
func newWebhookEnv(t *testing.T) *webhookEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(sqlite.Config{Path: filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := queue.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	st := &racingStore{Store: db}
	q, err := queue.New(queue.Config{Store: db, InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	notify, err := delivery.New(delivery.Config{Store: st, Queue: q, Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer := blob.NewSigner([]byte("k"), "http://127.0.0.1:1")
	rs, err := render.NewService(render.Config{Store: st, Browser: noBrowser{}, Bucket: bucket, Signer: signer, Queue: q, Notify: notify})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, Renderer: rs, Bucket: bucket, Signer: signer, Notify: notify, CheckURL: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: "t", CreatedAt: time.Now().UTC()}
	if err := db.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	token, _, err := auth.CreateToken(ctx, db, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &webhookEnv{st: st, h: s.Handler(), token: token, space: sp.ID}
}

func (e *webhookEnv) call(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body.Bytes())
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m
}

// TestEndpointEditsDoNotUndoEachOther interleaves an edit of an endpoint's
// URL with a 410's disabling and with a secret rotation, each concurrent
// change landing between the other request's read and write (or, where
// a handler no longer reads before it writes, right after it): neither
// undoes the other.
func TestEndpointEditsDoNotUndoEachOther(t *testing.T) {
	ctx := context.Background()
	e := newWebhookEnv(t)
	create := func(t *testing.T) (id, secret string) {
		m := e.call(t, 201, "POST", "/api/webhooks", map[string]any{"url": "https://example.com/a"})
		return m["id"].(string), m["secret"].(string)
	}
	get := func(t *testing.T, id string) *store.WebhookEndpoint {
		got, err := e.st.Store.GetWebhookEndpoint(ctx, e.space, id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("a PATCH of the URL and a 410", func(t *testing.T) {
		id, _ := create(t)
		e.st.afterRead = func() {
			if _, err := e.st.SetWebhookEndpointHealth(ctx, id, store.EndpointHealth{At: time.Now().UTC(), DisableReason: "the receiver answered 410 Gone"}); err != nil {
				t.Error(err)
			}
		}
		e.call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved"})
		e.st.race()
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
		e.st.afterRead = func() {
			rotated = e.call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		}
		e.call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved", "description": "d"})
		e.st.race()
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
		e.st.afterRead = func() {
			e.call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"url": "https://example.com/moved"})
		}
		rotated := e.call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		e.st.race()
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
		e.st.afterRead = func() {
			inner = e.call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		}
		outer := e.call(t, 200, "POST", "/api/webhooks/"+id+"/rotate-secret", nil)["secret"].(string)
		got := get(t, id)
		// Each rotation keeps the secret that was signing as previous:
		// the first's new one stays valid for the window.
		if got.Secret != outer || got.SecretPrev != inner || inner == first {
			t.Errorf("secret %q prev %q, want %q prev %q (first %q)", got.Secret, got.SecretPrev, outer, inner, first)
		}
	})

	t.Run("a PATCH changes only what it names", func(t *testing.T) {
		id, _ := create(t)
		e.call(t, 200, "PATCH", "/api/webhooks/"+id, map[string]any{"events": []string{"render.failed"}})
		if got := get(t, id); got.URL != "https://example.com/a" || len(got.Events) != 1 || got.Events[0] != "render.failed" || !got.Enabled {
			t.Errorf("after a PATCH of events: %+v", got)
		}
		for _, bad := range []map[string]any{{"url": " "}, {"events": []string{"nope"}}, {"description": string(make([]byte, 501))}} {
			e.call(t, 422, "PATCH", "/api/webhooks/"+id, bad)
		}
		if got := get(t, id); got.URL != "https://example.com/a" || got.Events[0] != "render.failed" || got.Description != "" {
			t.Errorf("a refused PATCH changed the endpoint: %+v", got)
		}
		e.call(t, 404, "PATCH", "/api/webhooks/whe_nope", map[string]any{"url": "https://example.com/b"})
	})
}
