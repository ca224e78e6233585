package server_test

import (
	"fmt"
	"image/color"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
	"github.com/renderhook/renderhook/internal/testkit"
)

// startTakumiServer runs a server with the takumi renderer, skipping where
// the helper is not installed.
func startTakumiServer(t *testing.T, cfg server.Config) *env {
	t.Helper()
	if err := takumi.Available(takumi.Config{}); err != nil {
		t.Skipf("takumi helper not installed (run scripts/install-deps.sh): %v", err)
	}
	e := startServerCfg(t, cfg)
	if e.srv.Takumi == nil {
		t.Fatal("the server left takumi off although it is installed")
	}
	return e
}

// imageServer serves a solid red 40×40 PNG on addr (127.0.0.x:0) and counts
// the requests it gets.
func imageServer(t *testing.T, addr string) (url string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	red := testkit.SolidPNG(t, 40, 40, color.RGBA{255, 0, 0, 255})
	hits = &atomic.Int64{}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(red)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/red.png", hits
}

func (e *env) logOf(r resp) map[string]any {
	e.t.Helper()
	return e.mustDo(200, "GET", "/api/logs/"+r.Header.Get("X-Request-Id"), e.token, nil).JSON(e.t)
}

// TestRenderTypeEndToEnd: a template's renderType picks the renderer, a
// request overrides it, the answer and the log entry say which ran, PDF
// stays on Chromium, auto keeps to Chromium for what takumi draws wrongly,
// and a template's image reaches takumi only through the egress guard.
func TestRenderTypeEndToEnd(t *testing.T) {
	e := startTakumiServer(t, server.Config{Browser: browser.Config{MaxTabs: 2}, Egress: egressAllow("127.0.0.1/32")})
	_, pageID := e.cardPage(e.token, map[string]any{"renderType": "takumi"})

	r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	if got := r.Header.Get("X-Renderer"); got != store.RendererTakumi {
		t.Fatalf("X-Renderer %q, want takumi", got)
	}
	img := decodePNG(t, r.Body)
	if img.Bounds().Dx() != 1200 || !near(img.At(600, 600), 0, 0, 255) {
		t.Fatalf("takumi render: size %v, pixel %v; want 1200 wide on the blue background", img.Bounds(), img.At(600, 600))
	}
	if l := e.logOf(r); l["renderer"] != store.RendererTakumi || l["status"].(float64) != 200 {
		t.Fatalf("log entry: renderer %v status %v, want takumi 200", l["renderer"], l["status"])
	}
	for q, want := range map[string]string{"?renderType=html": store.RendererChromium, "?format=pdf": store.RendererChromium, "?format=webp": store.RendererTakumi} {
		r := e.mustDo(200, "GET", "/api/render/"+pageID+q, e.token, nil)
		if got := r.Header.Get("X-Renderer"); got != want || e.logOf(r)["renderer"] != want {
			t.Errorf("%s: X-Renderer %q, log %v, want %s", q, got, e.logOf(r)["renderer"], want)
		}
	}
	post := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "renderType": "html"}).JSON(t)
	if post["renderer"] != store.RendererChromium {
		t.Errorf("POST renderType html: renderer %v", post["renderer"])
	}
	e.waitCredits(5) // the five renders above, whichever renderer made them
	bad := e.mustDo(400, "GET", "/api/render/"+pageID+"?renderType=fast", e.token, nil)
	if bad.errCode(t) != "invalid_request" || !strings.Contains(string(bad.Body), "renderType") {
		t.Errorf("renderType=fast: %s", bad.Body)
	}
	e.mustDo(422, "POST", "/api/templates", e.token, map[string]any{"name": "x", "html": "<p>x</p>", "renderType": "gpu"})
	if used, _, succeeded, failed := e.usage(); used != 5 || succeeded != 5 || failed != 0 {
		t.Errorf("after the refusals: %d credits, %d succeeded, %d failed; want 5, 5, 0", used, succeeded, failed)
	}

	t.Run("auto", func(t *testing.T) {
		e := e.with(t)
		tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "flex", "renderType": "auto", "width": 600, "height": 300,
			"html": `<html><body style="margin:0"><div style="display:flex;width:600px;height:300px;background:#16a34a;color:#fff;font-size:48px;font-family:'Liberation Sans';align-items:center;justify-content:center">Auto</div></body></html>`}).JSON(t)
		if tpl["renderType"] != "auto" {
			t.Fatalf("template renderType %v", tpl["renderType"])
		}
		flt := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "float", "renderType": "auto", "width": 600, "height": 300,
			"html": `<div style="float:right;width:200px;height:300px;background:#ca8a04"></div><p style="font:30px sans-serif">Beside a float</p>`}).JSON(t)
		// takumi does not apply the font shorthand: this text would come out small.
		short := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "font", "renderType": "auto", "width": 600, "height": 300,
			"html": `<div style="display:flex;width:600px;height:300px;background:#16a34a;color:#fff;font:48px sans-serif">Auto</div>`}).JSON(t)
		for id, want := range map[string]string{tpl["id"].(string): store.RendererTakumi, flt["id"].(string): store.RendererChromium,
			short["id"].(string): store.RendererChromium} {
			pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": id, "publish": true}).JSON(t)
			for range 2 { // decided on the first, read from the cache on the second
				r := e.mustDo(200, "GET", "/api/render/"+pg["id"].(string), e.token, nil)
				if got := r.Header.Get("X-Renderer"); got != want {
					t.Errorf("auto template %s: X-Renderer %q, want %s", id, got, want)
				}
			}
		}
	})

	t.Run("images through the egress guard", func(t *testing.T) {
		e := e.with(t)
		allowed, allowedHits := imageServer(t, "127.0.0.1:0")
		refused, refusedHits := imageServer(t, "127.0.0.2:0") // loopback, but not in the allow list
		tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "img", "renderType": "takumi", "width": 200, "height": 100,
			"html":      `<div style="display:flex;width:200px;height:100px;background:#fff"><img src="{{.src}}" width="40" height="40"></div>`,
			"variables": []map[string]any{{"name": "src", "type": "image", "default": allowed}}}).JSON(t)
		pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": tpl["id"], "publish": true}).JSON(t)
		red := func(b []byte) int {
			img, n := decodePNG(t, b), 0
			for y := range 100 {
				for x := range 200 {
					if near(img.At(x, y), 255, 0, 0) {
						n++
					}
				}
			}
			return n
		}
		r := e.mustDo(200, "GET", "/api/render/"+pg["id"].(string), e.token, nil)
		if n := red(r.Body); n < 1500 || allowedHits.Load() != 1 {
			t.Errorf("allowed image: %d red pixels, %d requests", n, allowedHits.Load())
		}
		r = e.mustDo(200, "GET", "/api/render/"+pg["id"].(string)+"?tweak:src="+refused, e.token, nil)
		if n := red(r.Body); n != 0 || refusedHits.Load() != 0 || r.Header.Get("X-Renderer") != store.RendererTakumi {
			t.Errorf("refused image: %d red pixels, %d requests reached it, renderer %s; want it left out", n, refusedHits.Load(), r.Header.Get("X-Renderer"))
		}
	})
}

// TestTakumiKilledMidBurst kills the takumi helper while a burst of
// renders runs through the HTTP API: each render in flight either
// succeeds (retried on the new helper) or fails cleanly with a 502 in the
// one error shape; the server stays up, the next renders succeed, and
// the space is billed for the succeeded renders only.
func TestTakumiKilledMidBurst(t *testing.T) {
	e := startTakumiServer(t, server.Config{Browser: browser.Config{MaxTabs: 2}, Takumi: takumi.Config{MaxConcurrent: 4}})
	_, pageID := e.cardPage(e.token, map[string]any{"renderType": "takumi"})
	e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	tk := e.srv.Takumi
	before := tk.Stats()

	const burst = 40
	var wg sync.WaitGroup
	statuses := make([]int, burst)
	codes := make([]string, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("GET", fmt.Sprintf("/api/render/%s?tweak:title=n%d", pageID, i), e.token, nil)
			statuses[i] = r.Status
			if r.Status != 200 {
				codes[i] = r.errCode(t)
			}
		}()
	}
	// Kill once the burst is under way.
	deadline := time.Now().Add(30 * time.Second)
	for tk.Stats().Renders < before.Renders+5 {
		if time.Now().After(deadline) {
			t.Fatal("the burst never got going")
		}
		time.Sleep(time.Millisecond)
	}
	tk.Kill()
	wg.Wait()

	ok := 0
	for i, st := range statuses {
		switch {
		case st == 200:
			ok++
		case st == http.StatusBadGateway && codes[i] == "renderer_crashed":
		default:
			t.Errorf("render %d: status %d code %q; want 200 or a clean 502 renderer_crashed", i, st, codes[i])
		}
	}
	if s := tk.Stats(); s.Restarts < 1 {
		t.Fatalf("no restart after the kill: %+v", s)
	}
	t.Logf("burst of %d: %d succeeded, %d failed cleanly; helper stats %+v", burst, ok, burst-ok, tk.Stats())
	for range 5 {
		r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
		if r.Header.Get("X-Renderer") != store.RendererTakumi {
			t.Fatalf("after the kill: renderer %q", r.Header.Get("X-Renderer"))
		}
	}
	e.mustDo(200, "GET", "/healthz", "", nil)
	// Billed: the first render, the succeeded ones of the burst, the five after.
	e.waitCredits(1 + ok + 5)
	if _, _, succeeded, failed := e.usage(); succeeded != 1+ok+5 || failed != burst-ok {
		t.Fatalf("usage: %d succeeded, %d failed; want %d and %d", succeeded, failed, 1+ok+5, burst-ok)
	}
}

// TestTakumiRenderMetrics: takumi's renders are in the render metrics as
// the browser's are, told apart by their renderer label, each counted
// once, by format and outcome.
func TestTakumiRenderMetrics(t *testing.T) {
	e := startTakumiServer(t, server.Config{Browser: browser.Config{MaxTabs: 2}})
	_, pageID := e.cardPage(e.token, map[string]any{"renderType": "takumi"})
	for _, q := range []string{"", "?format=webp", "?format=png", "?renderType=html"} {
		e.mustDo(200, "GET", "/api/render/"+pageID+q, e.token, nil)
	}
	want := map[string]float64{
		`renderhook_renders_total{format="png",kind="page",outcome="ok",renderer="takumi"}`:                   2,
		`renderhook_renders_total{format="webp",kind="page",outcome="ok",renderer="takumi"}`:                  1,
		`renderhook_renders_total{format="png",kind="page",outcome="ok",renderer="chromium"}`:                 1,
		`renderhook_render_duration_seconds_count{format="png",kind="page",outcome="ok",renderer="takumi"}`:   2,
		`renderhook_render_duration_seconds_count{format="webp",kind="page",outcome="ok",renderer="takumi"}`:  1,
		`renderhook_render_duration_seconds_count{format="png",kind="page",outcome="ok",renderer="chromium"}`: 1,
	}
	text := waitMetrics(t, e.base, want)
	for s, n := range want {
		if v, _ := sample(text, s); v != n {
			t.Errorf("%s = %v, want %v", s, v, n)
		}
	}
}
