package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// heldPages serves v1Page at /held/{name} only once the test releases
// that name; each request says it arrived.
type heldPages struct {
	*httptest.Server
	arrived chan string
	release map[string]chan struct{}
}

func newHeldPages(t *testing.T, names ...string) *heldPages {
	t.Helper()
	h := &heldPages{arrived: make(chan string, 16), release: map[string]chan struct{}{}}
	for _, n := range names {
		h.release[n] = make(chan struct{})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /held/{name}", func(w http.ResponseWriter, r *http.Request) {
		ch := h.release[r.PathValue("name")]
		if ch == nil {
			http.NotFound(w, r)
			return
		}
		h.arrived <- r.PathValue("name")
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, v1Page)
	})
	h.Server = serveAllowed(t, mux)
	t.Cleanup(func() { // before the server closes, which waits for held requests
		for _, ch := range h.release {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
	})
	return h
}

// post sends a JSON POST with e's token through client.
func (e *env) post(client *http.Client, path string, body any) resp {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.base+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	return resp{servertest.Send(e.t, client, req)}
}

// TestV1LongSyncRenderRedirects: a sync render still running past
// SyncRedirectAfter is answered 307 to its status URL while its page is
// still held; released, it completes as an async render: its status
// succeeds with the file, it is logged and billed, and its webhook, with
// its custom_id, arrives once. A client that follows the 307 (re-POSTing,
// as 307 asks) gets the render's status; redirect_after sets the wait per
// request.
func TestV1LongSyncRenderRedirects(t *testing.T) {
	site := newV1Site(t)
	pages := newHeldPages(t, "one", "two")
	e := startServerCfg(t, server.Config{
		Browser:           browser.Config{MaxTabs: 2, RenderTimeout: 60 * time.Second},
		Webhooks:          delivery.Config{Schedule: []time.Duration{0, 300 * time.Millisecond}},
		Egress:            egressAllow(v1Allowed + "/32"),
		SyncRedirectAfter: 2 * time.Second,
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r := e.post(noFollow, "/v1/render/sync", map[string]any{
		"url": pages.URL + "/held/one", "webhook_url": site.URL + "/hook", "custom_id": "order-307",
	})
	if r.Status != http.StatusTemporaryRedirect {
		t.Fatalf("sync render of a held page: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	id, _ := m["renderId"].(string)
	loc := r.Header.Get("Location")
	if id == "" || loc != e.base+"/v1/render/"+id || m["statusUrl"] != loc || m["status"] != "active" || r.Header.Get("X-Render-Id") != id {
		t.Fatalf("307 answer: Location %q, body %s", loc, r.Body)
	}
	requestID := r.Header.Get("X-Request-Id")
	select {
	case <-pages.arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("the held page was never requested")
	}
	// The page is still held: the render is active, nothing is billed.
	if st := e.mustDo(200, "GET", "/v1/render/"+id, e.token, nil).JSON(t); st["status"] != "active" || st["customId"] != "order-307" {
		t.Fatalf("status while held: %v", st)
	}
	close(pages.release["one"])

	st := e.waitV1(id)
	if st["status"] != "succeeded" || st["customId"] != "order-307" {
		t.Fatalf("status after release: %v", st)
	}
	img, _ := decodeImage(t, e.download(st["renderUrl"].(string)))
	if b := img.Bounds(); b.Dx() != 1280 || !near(img.At(b.Dx()/2, b.Dy()-10), 255, 0, 0) {
		t.Fatalf("render: %v, pixel %v", b, img.At(b.Dx()/2, b.Dy()-10))
	}
	h := site.waitHook(t)
	if err := webhook.Verify(h.Body, h.Header.Get(webhook.HeaderSignature), e.space1().WebhookSecret, time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if !bytes.Contains(h.Body, []byte(`"renderId":"`+id+`"`)) || !bytes.Contains(h.Body, []byte(`"customId":"order-307"`)) ||
		!bytes.Contains(h.Body, []byte(`"event":"render.succeeded"`)) {
		t.Fatalf("webhook %s", h.Body)
	}
	e.waitCredits(1)
	l := e.waitLog(requestID, func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
	if l["status"] != float64(307) || l["renderId"] != id {
		t.Fatalf("log entry %v", l)
	}
	ds, err := e.srv.Store.ListDeliveries(context.Background(), store.ListDeliveriesParams{SpaceID: e.space, RenderID: id, Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("%d deliveries of the render (%v), want one", len(ds), err)
	}
	if n := e.jobs("webhook.deliver"); n != 1 {
		t.Fatalf("%d webhook jobs, want one", n)
	}

	// redirect_after waits 1 s for this request; a client that follows
	// the 307 re-POSTs to the status URL and reads the status there.
	r = e.post(http.DefaultClient, "/v1/render/sync", map[string]any{"url": pages.URL + "/held/two", "redirect_after": 1})
	if m := r.JSON(t); r.Status != 200 || m["status"] != "active" || m["renderId"] == nil || m["renderId"] == id {
		t.Fatalf("followed 307: %d %s", r.Status, r.Body)
	}
	close(pages.release["two"])
	if st := e.waitV1(r.JSON(t)["renderId"].(string)); st["status"] != "succeeded" {
		t.Fatalf("second render: %v", st)
	}
}

// TestV1AsyncSkipWebhooks: an async render with skip_webhooks is rendered,
// stored and billed, and no webhook is queued for it, neither to its
// webhook_url nor to the space's endpoint: the delivery table and River's
// job table hold none once its callbacks are done.
func TestV1AsyncSkipWebhooks(t *testing.T) {
	e, site := v1Server(t)
	e.mustDo(201, "POST", "/api/webhooks", e.token, map[string]any{"url": site.URL + "/hook"})
	m := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"url": site.URL + "/", "webhook_url": site.URL + "/hook", "skip_webhooks": true,
	}).JSON(t)
	id := m["renderId"].(string)
	if st := e.waitV1(id); st["status"] != "succeeded" {
		t.Fatalf("status %v", st)
	}
	e.waitCredits(1)
	ds, err := e.srv.Store.ListDeliveries(context.Background(), store.ListDeliveriesParams{SpaceID: e.space, Limit: 10})
	if err != nil || len(ds) != 0 {
		t.Fatalf("%d deliveries (%v), want none", len(ds), err)
	}
	if n := e.jobs("webhook.deliver"); n != 0 {
		t.Fatalf("%d webhook jobs, want none", n)
	}
	// The same without skip_webhooks is delivered to both.
	id2 := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{"url": site.URL + "/", "webhook_url": site.URL + "/hook"}).JSON(t)["renderId"].(string)
	e.waitV1(id2)
	site.waitHook(t)
	if n := e.jobs("webhook.deliver"); n != 2 {
		t.Fatalf("%d webhook jobs for a render without skip_webhooks, want 2", n)
	}
}
