package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/testkit"
	"github.com/renderhook/renderhook/webhook"
)

// The v1 tests run one server whose egress guard allows 127.0.0.2 only:
// the test's pages and webhook receiver listen there, and 127.0.0.1 stands
// for a loopback address the guard refuses.

const v1Allowed = "127.0.0.2"

// v1Page is the HTML the test site serves: a full-viewport red page.
const v1Page = `<!doctype html><html><head><style>html,body{margin:0;background:#ff0000}</style></head><body><h1>v1</h1></body></html>`

// v1Site is a real HTTP server on 127.0.0.2: / is a page, /missing is 404,
// /hook records webhooks.
type v1Site struct {
	*httptest.Server
	mu    sync.Mutex
	hooks []hook
	got   chan struct{}
	hits  int
	// echo is the last request to /echo's headers.
	echo http.Header
}

func newV1Site(t *testing.T) *v1Site {
	t.Helper()
	site := &v1Site{got: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		site.mu.Lock()
		site.hits++
		site.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, v1Page)
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		site.mu.Lock()
		site.echo = r.Header.Clone()
		site.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, v1Page)
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		_, _ = io.WriteString(w, "<h1>not here</h1>")
	})
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		site.mu.Lock()
		site.hooks = append(site.hooks, hook{Header: r.Header.Clone(), Body: body, At: time.Now()})
		site.mu.Unlock()
		site.got <- struct{}{}
	})
	site.Server = serveAllowed(t, mux)
	return site
}

// serveAllowed serves h on v1Allowed, the address the v1 tests' egress
// guard lets renders reach, until the test ends.
func serveAllowed(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if err := testkit.StartOn(t, srv, v1Allowed+":0"); err != nil {
		t.Skipf("cannot listen on %s: %v", v1Allowed, err)
	}
	return srv
}

func (s *v1Site) pageHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *v1Site) waitHook(t *testing.T) hook {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook arrived")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks[len(s.hooks)-1]
}

func v1Server(t *testing.T) (*env, *v1Site) {
	t.Helper()
	site := newV1Site(t)
	e := startServerCfg(t, server.Config{
		Browser:  browser.Config{MaxTabs: 2, RenderTimeout: 15 * time.Second},
		Webhooks: delivery.Config{Schedule: []time.Duration{0, 300 * time.Millisecond}},
		Egress:   egressAllow(v1Allowed + "/32"),
	})
	return e, site
}

func (e *env) space1() *store.Space {
	e.t.Helper()
	sp, err := e.srv.Store.GetSpace(context.Background(), e.space)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

// get fetches a path without a token, with optional headers.
func (e *env) get(path string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return resp{servertest.Send(e.t, nil, req)}
}

func decodeImage(t *testing.T, b []byte) (image.Image, string) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an image: %v (%d bytes: %.40q)", err, len(b), b)
	}
	return img, format
}

func TestV1SyncRender(t *testing.T) {
	e, site := v1Server(t)
	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"url": site.URL + "/", "format": "jpeg", "width": 640, "height": 400, "quality": 80,
	})
	m := r.JSON(t)
	size, _ := m["size"].(float64)
	if _, ok := m["renderTime"].(float64); !ok || size <= 0 {
		t.Fatalf("answer %s", r.Body)
	}
	data := e.download(m["renderUrl"].(string))
	if len(data) != int(size) {
		t.Fatalf("renderUrl has %d bytes, answer says %v", len(data), size)
	}
	img, format := decodeImage(t, data)
	if format != "jpeg" || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 400 {
		t.Fatalf("got %s %v, want jpeg 640x400", format, img.Bounds())
	}
	if !near(img.At(320, 300), 255, 0, 0) {
		t.Fatalf("pixel %v, want the page's red", img.At(320, 300))
	}
	e.waitCredits(1)

	// Headers, cookies and the user agent reach the page.
	e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"url": site.URL + "/echo", "header": []string{"X-Test: one", "X-Other: two"}, "cookie": "flavour=oat", "user_agent": "renderhook-test/1",
	})
	site.mu.Lock()
	echo := site.echo
	site.mu.Unlock()
	if echo.Get("X-Test") != "one" || echo.Get("X-Other") != "two" || !strings.Contains(echo.Get("Cookie"), "flavour=oat") ||
		echo.Get("User-Agent") != "renderhook-test/1" {
		t.Fatalf("page saw headers %v", echo)
	}

	// PDF with page size and orientation: A5 landscape is 595 × 420 pt.
	r = e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"html": "<h1>pdf</h1>", "format": "pdf", "pdf_page_size": "A5", "pdf_landscape": true, "pdf_margin": "minimum",
	})
	pdf := e.download(r.JSON(t)["renderUrl"].(string))
	mb := regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)`).FindSubmatch(pdf)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || mb == nil {
		t.Fatalf("not a PDF with a MediaBox: %.60q", pdf)
	}
	w, _ := strconv.ParseFloat(string(mb[1]), 64)
	hgt, _ := strconv.ParseFloat(string(mb[2]), 64)
	if w < 590 || w > 600 || hgt < 415 || hgt > 425 {
		t.Fatalf("MediaBox %s x %s, want A5 landscape (595 x 420)", mb[1], mb[2])
	}

	// HTML source, PNG at retina scale.
	r = e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"html": `<body style="margin:0;background:#00ff00"></body>`, "width": 100, "height": 50, "retina": true,
	})
	img, format = decodeImage(t, e.download(r.JSON(t)["renderUrl"].(string)))
	if format != "png" || img.Bounds().Dx() != 200 || img.Bounds().Dy() != 100 || !near(img.At(100, 50), 0, 255, 0) {
		t.Fatalf("html render: %s %v %v", format, img.Bounds(), img.At(100, 50))
	}
}

func TestV1BadRequests(t *testing.T) {
	e, site := v1Server(t)
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
		names  string
	}{
		{"unknown option", map[string]any{"url": site.URL, "bogus_option": 1}, 400, "InvalidOptions", "bogus_option"},
		{"unsupported option", map[string]any{"url": site.URL, "s3_path": "x"}, 400, "InvalidOptions", "s3_path"},
		{"url and html", map[string]any{"url": site.URL, "html": "<b>x</b>"}, 400, "InvalidOptions", "html"},
		{"wrong type", map[string]any{"url": site.URL, "width": "wide"}, 400, "InvalidOptions", "width"},
		{"out of range", map[string]any{"url": site.URL, "quality": 500, "format": "jpeg"}, 400, "InvalidOptions", "quality"},
		{"loopback not allowed", map[string]any{"url": "http://127.0.0.1:1/"}, 400, "InvalidUrl", "url"},
		{"metadata address", map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, 400, "InvalidUrl", "url"},
		{"file scheme", map[string]any{"url": "file:///etc/passwd"}, 400, "InvalidUrl", "url"},
		{"webhook to loopback", map[string]any{"url": site.URL, "webhook_url": "http://127.0.0.1:9/x"}, 400, "InvalidOptions", "webhook_url"},
		{"not an object", []any{1}, 400, "InvalidOptions", "JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			for _, path := range []string{"/v1/render/sync", "/v1/render/async"} {
				r := e.do("POST", path, e.token, c.body)
				if r.Status != c.status || r.errCode(t) != c.code || !strings.Contains(string(r.Body), c.names) {
					t.Fatalf("%s: %d %s, want %d %s naming %q", path, r.Status, r.Body, c.status, c.code, c.names)
				}
			}
		})
	}
	// Nothing above reached the browser or cost anything.
	if n := site.pageHits(); n != 0 {
		t.Fatalf("the page was loaded %d times", n)
	}
	if used, _, succeeded, failed := e.usage(); used != 0 || succeeded != 0 || failed != 0 {
		t.Fatalf("usage %d/%d/%d after refused requests", used, succeeded, failed)
	}

	// Auth: Urlbox's codes.
	if r := e.do("POST", "/v1/render/sync", "", map[string]any{"url": site.URL}); r.Status != 401 || r.errCode(t) != "NoApiKeySupplied" {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/render/sync", "rh_nope", map[string]any{"url": site.URL}); r.Status != 401 || r.errCode(t) != "ApiKeyNotFound" {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/render/nope", e.token, nil); r.Status != 404 || r.errCode(t) != "RenderNotFound" {
		t.Fatalf("unknown render: %d %s", r.Status, r.Body)
	}
}

func TestV1AsyncWebhookWithMetadata(t *testing.T) {
	e, site := v1Server(t)
	r := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"url": site.URL + "/", "webhook_url": site.URL + "/hook", "metadata": map[string]any{"orderId": "o-7", "n": 3},
	})
	m := r.JSON(t)
	renderID, _ := m["renderId"].(string)
	if m["status"] != "waiting" || renderID == "" || m["statusUrl"] != e.base+"/v1/render/"+renderID {
		t.Fatalf("201 answer %s", r.Body)
	}
	st := e.waitV1(renderID)
	if st["status"] != "succeeded" || st["renderId"] != renderID {
		t.Fatalf("status %v", st)
	}
	img, _ := decodeImage(t, e.download(st["renderUrl"].(string)))
	if img.Bounds().Dx() != 1280 || img.Bounds().Dy() != 1024 {
		t.Fatalf("default viewport: %v", img.Bounds())
	}
	h := site.waitHook(t)
	if err := webhook.Verify(h.Body, h.Header.Get(webhook.HeaderSignature), e.space1().WebhookSecret, time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var p struct {
		Event    string         `json:"event"`
		RenderID string         `json:"renderId"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(h.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "render.succeeded" || p.RenderID != renderID || p.Metadata["orderId"] != "o-7" || p.Metadata["n"] != float64(3) {
		t.Fatalf("payload %s", h.Body)
	}
	if i, j := strings.Index(string(h.Body), `"meta":`), strings.Index(string(h.Body), `"metadata":`); i < 0 || j < i {
		t.Fatalf("metadata must follow meta: %s", h.Body)
	}
	e.waitCredits(1)
	// The same request with a ttl is answered from the cache at once, and
	// its webhook still arrives, with this request's metadata.
	r = e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"url": site.URL + "/", "webhook_url": site.URL + "/hook", "metadata": map[string]any{"orderId": "o-8"}, "ttl": 600,
	})
	if m := r.JSON(t); m["status"] != "succeeded" || m["renderId"] != renderID || m["renderUrl"] == nil {
		t.Fatalf("cached async answer %s", r.Body)
	}
	h = site.waitHook(t)
	if err := json.Unmarshal(h.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "render.succeeded" || p.RenderID != renderID || p.Metadata["orderId"] != "o-8" {
		t.Fatalf("cache-hit payload %s", h.Body)
	}
	if err := webhook.Verify(h.Body, h.Header.Get(webhook.HeaderSignature), e.space1().WebhookSecret, time.Minute); err != nil {
		t.Fatalf("cache-hit signature: %v", err)
	}
	// The cache hit recorded no render, so no follow-up job exists for it
	// (jobs are inserted with their render): one credit, now and later.
	if n := e.jobs("render.followup"); n != 1 {
		t.Fatalf("cache hit billed: %d follow-up jobs, want the first render's", n)
	}
	if used, _, succeeded, _ := e.usage(); used != 1 || succeeded != 1 {
		t.Fatalf("cache hit billed: used %d, renders %d", used, succeeded)
	}
	// POST /v1/render is the same as /v1/render/async.
	r = e.mustDo(201, "POST", "/v1/render", e.token, map[string]any{"html": "<b>x</b>"})
	if r.JSON(t)["status"] != "waiting" {
		t.Fatalf("POST /v1/render: %s", r.Body)
	}
	// Other spaces cannot see the render.
	_, other := e.newSpace("other")
	e.mustDo(404, "GET", "/v1/render/"+renderID, other, nil)
}

// waitV1 polls a v1 render's status until it has finished, and returns
// it; on the way it may only be waiting, active or delayed.
func (e *env) waitV1(renderID string) map[string]any {
	e.t.Helper()
	var st map[string]any
	eventually(e.t, 60*time.Second, "v1 render "+renderID+" unfinished", func() bool {
		st = e.mustDo(200, "GET", "/v1/render/"+renderID, e.token, nil).JSON(e.t)
		if s := st["status"]; s != "waiting" && s != "active" && s != "delayed" && s != "succeeded" && s != "failed" {
			e.t.Fatalf("status %v", st)
		}
		return st["status"] == "succeeded" || st["status"] == "failed"
	})
	return st
}

func TestV1FailOn4xxCostsNothing(t *testing.T) {
	e, site := v1Server(t)
	r := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{"url": site.URL + "/missing", "fail_on_4xx": true})
	renderID := r.JSON(t)["renderId"].(string)
	st := e.waitV1(renderID)
	msg, _ := st["error"].(map[string]any)["message"].(string)
	if st["status"] != "failed" || !strings.Contains(msg, "404") {
		t.Fatalf("status %v", st)
	}
	// The sync form fails too, with a 4xx naming the status.
	s := e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": site.URL + "/missing", "fail_on_4xx": true})
	if s.Status != 422 || s.errCode(t) != "RenderFailed" || !strings.Contains(string(s.Body), "404") {
		t.Fatalf("sync: %d %s", s.Status, s.Body)
	}
	// A selector that never appears fails the render in its timeout.
	s = e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": site.URL + "/", "wait_for": "#never", "timeout": 1000})
	if s.Status != 422 || s.errCode(t) != "RenderFailed" || !strings.Contains(string(s.Body), "#never") {
		t.Fatalf("wait_for: %d %s", s.Status, s.Body)
	}
	// Without fail_on_4xx the 404 page renders (and is billed).
	e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"url": site.URL + "/missing"})
	e.waitCredits(1)
	used, _, succeeded, failed := e.usage()
	if used != 1 || succeeded != 1 || failed != 3 {
		t.Fatalf("usage used=%d succeeded=%d failed=%d, want 1/1/3", used, succeeded, failed)
	}
}

func TestV1CacheAndForce(t *testing.T) {
	e, site := v1Server(t)
	body := map[string]any{"url": site.URL + "/", "width": 300, "height": 200, "ttl": 3600}
	first := e.mustDo(200, "POST", "/v1/render/sync", e.token, body)
	e.waitCredits(1)
	hits := site.pageHits()
	// The same options in another order and spelling (and another ttl
	// that still covers it): the same render, from the cache.
	third := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"height": "200", "ttl": 60, "width": 300, "url": site.URL + "/"})
	if third.Header.Get("X-Renderhook-Cache") != "hit" || third.Header.Get("X-Render-Id") != first.Header.Get("X-Render-Id") {
		t.Fatalf("not a cache hit: %v", third.Header)
	}
	if !e.sameFile(third.JSON(t)["renderUrl"].(string), first.JSON(t)["renderUrl"].(string)) {
		t.Fatalf("cache hit points elsewhere: %s vs %s", third.Body, first.Body)
	}
	if site.pageHits() != hits {
		t.Fatal("a cache hit loaded the page")
	}
	l := e.waitLog(third.Header.Get("X-Request-Id"), func(map[string]any) bool { return true })
	if l["cacheHit"] != true || l["renderId"] != first.Header.Get("X-Render-Id") || l["status"] != float64(200) {
		t.Fatalf("log entry %v", l)
	}
	// force renders again and is billed; without ttl there is no cache.
	forced := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"url": site.URL + "/", "width": 300, "height": 200, "ttl": 3600, "force": true})
	noTTL := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"url": site.URL + "/", "width": 300, "height": 200})
	for _, r := range []resp{forced, noTTL} {
		if r.Header.Get("X-Renderhook-Cache") != "miss" || r.Header.Get("X-Render-Id") == first.Header.Get("X-Render-Id") {
			t.Fatalf("expected a fresh render: %v", r.Header)
		}
	}
	// Three renders billed; the cache hit was free.
	e.waitCredits(3)
	if n := e.jobs("render.followup"); n != 3 {
		t.Fatalf("%d follow-up jobs, want 3 (the cache hit is free)", n)
	}
	if used, _, succeeded, _ := e.usage(); used != 3 || succeeded != 3 {
		t.Fatalf("credits used %d, renders %d, want 3 and 3 (the cache hit is free)", used, succeeded)
	}
}

func TestV1SignedLinks(t *testing.T) {
	e, site := v1Server(t)
	sp := e.space1()
	q := "url=" + url.QueryEscape(site.URL+"/") + "&width=320&height=240"
	link := "/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, q) + "/png?" + q
	r := e.get(link)
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("signed link: %d %v %.200s", r.Status, r.Header, r.Body)
	}
	img := decodePNG(t, r.Body)
	if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 || !near(img.At(160, 200), 255, 0, 0) {
		t.Fatalf("image %v %v", img.Bounds(), img.At(160, 200))
	}
	etag := r.Header.Get("ETag")
	if etag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=2592000") {
		t.Fatalf("caching headers %v", r.Header)
	}
	// Again: served from the cache, same ETag; with If-None-Match, 304.
	hits := site.pageHits()
	again := e.get(link)
	if again.Status != 200 || again.Header.Get("ETag") != etag || !bytes.Equal(again.Body, r.Body) || again.Header.Get("X-Renderhook-Cache") != "hit" {
		t.Fatalf("second fetch: %d %v", again.Status, again.Header)
	}
	nm := e.get(link, "If-None-Match", etag)
	if nm.Status != 304 || len(nm.Body) != 0 {
		t.Fatalf("If-None-Match: %d %v", nm.Status, nm.Header)
	}
	if site.pageHits() != hits {
		t.Fatal("cached link loaded the page again")
	}
	e.waitCredits(1)

	// Tampering with the query, the token or the format is refused.
	tampered := strings.Replace(link, "width=320", "width=321", 1)
	for _, bad := range []string{tampered, link + "&full_page=true",
		"/v1/" + sp.RenderKey + "/" + strings.Repeat("0", 64) + "/png?" + q} {
		if r := e.get(bad); r.Status != 403 || r.errCode(t) != "InvalidSignature" {
			t.Fatalf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := e.get("/v1/rk_unknown/" + capability.V1LinkToken(sp.RenderSecret, q) + "/png?" + q); r.Status != 401 || r.errCode(t) != "ApiKeyNotFound" {
		t.Fatalf("unknown key: %d %s", r.Status, r.Body)
	}
	// A validly signed link with a bad option is still a 400 naming it.
	bq := q + "&nope=1"
	if r := e.get("/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, bq) + "/png?" + bq); r.Status != 400 || !strings.Contains(string(r.Body), "nope") {
		t.Fatalf("bad option: %d %s", r.Status, r.Body)
	}
	// Another space's secret does not sign for this key.
	otherID, _ := e.newSpace("other")
	other, err := e.srv.Store.GetSpace(context.Background(), otherID)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.get("/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(other.RenderSecret, q) + "/png?" + q); r.Status != 403 {
		t.Fatalf("other space's secret: %d %s", r.Status, r.Body)
	}
}

func TestPageRenderSignedLinkAndGetToken(t *testing.T) {
	e, _ := v1Server(t)
	// The card template requires a token for GET renders.
	_, pageID := e.cardPage(e.token, nil)
	sp := e.space1()
	if r := e.get("/api/render/" + pageID); r.Status != 401 {
		t.Fatalf("no token: %d %s", r.Status, r.Body)
	}
	// gt: the space's GET-render token.
	if r := e.get("/api/render/" + pageID + "?gt=" + sp.GetRenderToken); r.Status != 200 {
		t.Fatalf("gt: %d %.200s", r.Status, r.Body)
	}
	if r := e.get("/api/render/" + pageID + "?gt=wrong"); r.Status != 401 {
		t.Fatalf("bad gt: %d %s", r.Status, r.Body)
	}
	// sig: the tweaks in the link are fixed by the signature, which is
	// bound to the page (capability.SignPageQuery).
	q := "tweak:background=%2300ff00&tweak:title=Signed"
	signed := capability.SignPageQuery(sp.RenderSecret, pageID, q, time.Time{})
	r := e.get("/api/render/" + pageID + "?" + signed)
	if r.Status != 200 {
		t.Fatalf("signed page render: %d %.200s", r.Status, r.Body)
	}
	if img := decodePNG(t, r.Body); !near(img.At(600, 600), 0, 255, 0) {
		t.Fatalf("signed tweak not applied: %v", img.At(600, 600))
	}
	tampered := strings.Replace(signed, "%2300ff00", "%23ff0000", 1)
	if r := e.get("/api/render/" + pageID + "?" + tampered); r.Status != 403 || r.errCode(t) != "invalid_signature" {
		t.Fatalf("tampered: %d %s", r.Status, r.Body)
	}
	if r := e.get("/api/render/pg_unknown?" + signed); r.Status != 403 {
		t.Fatalf("unknown page: %d %s", r.Status, r.Body)
	}
	// The bearer token still works as before.
	e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
}

// egressAllow is an egress config allowing the given prefixes.
func egressAllow(prefixes ...string) (c egress.Config) {
	for _, p := range prefixes {
		c.Allow = append(c.Allow, netip.MustParsePrefix(p))
	}
	return c
}

// TestCrashV1Async queues v1 async renders, kills the process with SIGKILL
// once a few are done, restarts it, and checks every render succeeds, is
// billed once and sends its webhook (the render.url job survives).
func TestCrashV1Async(t *testing.T) {
	requireChromium(t)
	bin := buildBinary(t)
	dataDir, b := t.TempDir(), testBackend(t)
	out, err := exec.Command(bin, "space", "create", "--name", "crash", "--json", "--data-dir", dataDir, "--database", b.DB).Output()
	if err != nil {
		t.Fatalf("space create: %v", err)
	}
	var created struct{ SpaceID, Token string }
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("space create --json printed %s", out)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, v1Page)
	}))
	t.Cleanup(page.Close)
	rc := newReceiver(t)
	addr := freeAddr(t)
	proc := startProcess(t, bin, dataDir, b, addr)
	e := &env{t: t, base: "http://" + addr, token: created.Token, space: created.SpaceID}

	const total = 20
	var ids []string
	for i := 0; i < total; i++ {
		r := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
			// The process's --render-timeout is 5 s; a loaded machine
			// restarting Chromium can take longer for a first page, so
			// the render asks for up to its job's limit (10 s here).
			"url": page.URL + "/?n=" + strconv.Itoa(i), "width": 200, "height": 100, "webhook_url": rc.URL + "/hook", "timeout": 20000})
		ids = append(ids, r.JSON(t)["renderId"].(string))
	}
	rc.Wait(t, 3)
	proc.kill()
	// The kill must have left work behind, or the test proves nothing.
	st, err := server.OpenStore(dataDir, b.DB)
	if err != nil {
		t.Fatal(err)
	}
	unfinished := 0
	for _, id := range ids {
		if r, err := st.FindRender(context.Background(), id); err == nil && r.Status != store.RenderSucceeded {
			unfinished++
		}
	}
	st.Close()
	if unfinished == 0 {
		t.Fatal("every render finished before the kill")
	}
	t.Logf("at the kill: %d of %d renders unfinished", unfinished, total)
	startProcess(t, bin, dataDir, b, addr)

	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range ids {
		for {
			st := e.mustDo(200, "GET", "/v1/render/"+id, e.token, nil).JSON(t)
			if st["status"] == "succeeded" {
				break
			}
			if st["status"] == "failed" || time.Now().After(deadline) {
				t.Fatalf("render %s: %v", id, st)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Every render's webhook arrives at least once (a delivery cut by the
	// kill may arrive twice; receivers dedupe by webhook-id).
	for n := total; ; n++ {
		seen := map[string]bool{}
		for _, h := range rc.Wait(t, n) {
			var p struct{ RenderID string }
			_ = json.Unmarshal(h.Body, &p)
			seen[p.RenderID] = true
		}
		missing := 0
		for _, id := range ids {
			if !seen[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
	}
	e.waitCredits(total)
}
