package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/url"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
)

// TestV1ResponseTypes: response_type shapes the answer of a sync render
// and of a render link as a client reads it: the PNG itself, its base64
// text, the JSON of its URL, or nothing; download makes it an attachment.
func TestV1ResponseTypes(t *testing.T) {
	e := setup(t)
	sp, tok := e.newSpace("wire")
	isPNG := func(name string, b []byte) {
		t.Helper()
		if _, err := png.Decode(bytes.NewReader(b)); err != nil || !bytes.Equal(b, tinyPNG) {
			t.Errorf("%s: the body is not the rendered PNG (%v): %q", name, err, b)
		}
	}

	bin := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>b</p>", "response_type": "binary", "download": "shot é.png"})
	isPNG("binary", bin.Body)
	if ct, cd := bin.Header.Get("Content-Type"), bin.Header.Get("Content-Disposition"); ct != "image/png" || cd != `attachment; filename*=utf-8''shot%20%C3%A9.png` {
		t.Errorf("binary: Content-Type %q, Content-Disposition %q", ct, cd)
	}
	b64 := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>b</p>", "response_type": "base64"})
	raw, err := base64.StdEncoding.DecodeString(string(b64.Body))
	if err != nil {
		t.Fatalf("base64 answer does not decode: %v: %q", err, b64.Body)
	}
	isPNG("base64", raw)
	if ct := b64.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("base64: Content-Type %q", ct)
	}
	js := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>b</p>", "json": true, "custom_id": "c-1"}).JSON(t)
	if js["renderUrl"] == nil || js["size"] != float64(len(tinyPNG)) || js["customId"] != "c-1" {
		t.Errorf("json: %v", js)
	}
	none := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>b</p>", "response_type": "none"})
	if len(none.Body) != 0 || none.Header.Get("X-Render-Id") == "" {
		t.Errorf("none: %q, render id %q", none.Body, none.Header.Get("X-Render-Id"))
	}

	// Render links answer the file by default; response_type and
	// download apply to them as well.
	link := func(query string) string {
		return "/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, query) + "/png?" + query
	}
	isPNG("link", e.call(200, "GET", link("html=%3Cp%3El%3C%2Fp%3E"), "", nil).Body)
	dl := e.call(200, "GET", link("html=%3Cp%3El%3C%2Fp%3E&download=a.png"), "", nil)
	isPNG("link download", dl.Body)
	if cd := dl.Header.Get("Content-Disposition"); cd != `attachment; filename=a.png` {
		t.Errorf("link download: Content-Disposition %q", cd)
	}
	lj := e.call(200, "GET", link("html=%3Cp%3El%3C%2Fp%3E&response_type=json"), "", nil).JSON(t)
	if lj["renderUrl"] == nil {
		t.Errorf("link json: %v", lj)
	}
	lb := e.call(200, "GET", link("html=%3Cp%3El%3C%2Fp%3E&response_type=base64"), "", nil)
	if raw, err := base64.StdEncoding.DecodeString(string(lb.Body)); err != nil {
		t.Errorf("link base64: %v", err)
	} else {
		isPNG("link base64", raw)
	}
	if bad := e.do(request{method: "GET", target: link("html=x&download=" + url.QueryEscape("../x.png"))}); bad.Status != 400 ||
		!bytes.Contains(bad.Body, []byte(`option \"download\"`)) {
		t.Errorf("a download with a path: %d %s", bad.Status, bad.Body)
	}
}

// TestV1Unique: with the cache on, another unique value renders afresh and
// the same one is answered from the cache.
func TestV1Unique(t *testing.T) {
	e := setup(t)
	_, tok := e.newSpace("unique")
	body := func(u string) map[string]any {
		return map[string]any{"html": "<p>u</p>", "ttl": 3600, "unique": u}
	}
	cache := func(u string) string {
		return e.call(200, "POST", "/v1/render/sync", tok, body(u)).Header.Get("X-Renderhook-Cache")
	}
	before := e.browser.urlRenders.Load()
	if got := []string{cache("a"), cache("a"), cache("b"), cache("b")}; got[0] != "miss" || got[1] != "hit" || got[2] != "miss" || got[3] != "hit" {
		t.Fatalf("cache answers %v, want miss hit miss hit", got)
	}
	if n := e.browser.urlRenders.Load() - before; n != 2 {
		t.Fatalf("%d renders, want 2 (one per unique value)", n)
	}
}

// TestV1CustomIDAndStatusWords: custom_id is kept with the render and
// echoed in its status and its webhook; the status speaks Urlbox's words
// as the render goes waiting → active → delayed → active.
func TestV1CustomIDAndStatusWords(t *testing.T) {
	e := setup(t)
	sp, tok := e.newSpace("words")
	e.call(201, "POST", "/api/webhooks", tok, map[string]any{"url": "https://hooks.example.com/w"})
	ctx := context.Background()

	sync := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>c</p>", "custom_id": "order-1"})
	id := sync.Header.Get("X-Render-Id")
	st := e.call(200, "GET", "/v1/render/"+id, tok, nil).JSON(t)
	if st["status"] != "succeeded" || st["customId"] != "order-1" {
		t.Fatalf("status %v", st)
	}
	var payload string
	if err := e.db.QueryRow(`SELECT payload FROM webhook_deliveries WHERE render_id = ?`, id).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains([]byte(payload), []byte(`"customId":"order-1"`)) {
		t.Fatalf("webhook payload without the custom_id: %s", payload)
	}

	async := e.call(201, "POST", "/v1/render/async", tok, map[string]any{"html": "<p>a</p>", "custom_id": "order-2"}).JSON(t)
	aid := async["renderId"].(string)
	if async["status"] != "waiting" || async["customId"] != "order-2" {
		t.Fatalf("async answer %v", async)
	}
	word := func() string { return e.call(200, "GET", "/v1/render/"+aid, tok, nil).JSON(t)["status"].(string) }
	if w := word(); w != "waiting" {
		t.Fatalf("queued render is %q", w)
	}
	if err := e.st.MarkRenderStarted(ctx, aid, time.Now()); err != nil {
		t.Fatal(err)
	}
	if w := word(); w != "active" {
		t.Fatalf("rendering render is %q", w)
	}
	if err := e.st.MarkRenderDelayed(ctx, aid); err != nil {
		t.Fatal(err)
	}
	if w := word(); w != "delayed" {
		t.Fatalf("snoozed render is %q", w)
	}
	rec, err := e.st.GetRender(ctx, sp.ID, aid)
	if err != nil || rec.CustomID != "order-2" || rec.Status != store.RenderQueued {
		t.Fatalf("%+v %v", rec, err)
	}
	// The /api surface keeps its own words.
	if got := e.call(200, "GET", "/api/renders/"+aid, tok, nil).JSON(t)["status"]; got != "queued" {
		t.Fatalf("/api status %v", got)
	}
}
