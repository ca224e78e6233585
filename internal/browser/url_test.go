package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/egress/egresstest"
	"github.com/renderhook/renderhook/internal/testkit"
)

// urlPool starts a pool whose URL renders are guarded by a guard allowing
// allow, with every host name resolving to resolveTo (no DNS leaves the
// test).
func urlPool(t *testing.T, resolveTo netip.Addr, allow ...string) *Pool {
	t.Helper()
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	resolver, _ := egresstest.FakeResolver(resolveTo)
	g, err := egress.New(egress.Config{Allow: prefixes, Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	return newPool(t, Config{MaxTabs: 2, Egress: g, RenderTimeout: 20 * time.Second})
}

// localPool is urlPool for the tests' own sites on 127.0.0.1: every name
// resolves there, and loopback is allowed.
func localPool(t *testing.T) *Pool {
	t.Helper()
	return urlPool(t, netip.MustParseAddr("127.0.0.1"), "127.0.0.0/8")
}

// site is a test web server that counts hits per path and records the
// request headers of each path.
type site struct {
	*httptest.Server
	mu      sync.Mutex
	routes  map[string]http.HandlerFunc
	hits    map[string]int
	headers map[string]http.Header
}

func newSite(t *testing.T, listenOn string, routes map[string]http.HandlerFunc) *site {
	t.Helper()
	s := &site{routes: routes, hits: make(map[string]int), headers: make(map[string]http.Header)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.headers[r.URL.Path] = r.Header.Clone()
		f, ok := s.routes[r.URL.Path]
		s.mu.Unlock()
		if ok {
			f(w, r)
			return
		}
		http.NotFound(w, r)
	})
	s.Server = httptest.NewUnstartedServer(h)
	if err := testkit.StartOn(t, s.Server, listenOn); err != nil {
		t.Fatalf("listen on %s: %v", listenOn, err)
	}
	return s
}

// handle adds a route once the site runs, for a page that needs the site
// itself (its URL, its hits).
func (s *site) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[path] = h
}

func (s *site) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) totalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

func (s *site) headerOf(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[path]
}

// htmlPage answers with a fixed HTML document.
// pngPage serves a width×height PNG of colour c.
func pngPage(t *testing.T, width, height int, c color.RGBA) http.HandlerFunc {
	data := solidPNG(t, width, height, c)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(data)
	}
}

func htmlPage(doc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, doc)
	}
}

func renderPNG(t *testing.T, p *Pool, req URLRequest) (*URLResult, image.Image) {
	t.Helper()
	req.Format = FormatPNG
	res, err := p.RenderURL(context.Background(), req)
	if err != nil {
		t.Fatalf("RenderURL(%s): %v", cmpURL(req), err)
	}
	return res, decodePNG(t, res.Data)
}

// wantBlocked checks that a render lists url among the requests it
// blocked (Blocked).
func wantBlocked(t *testing.T, res *URLResult, url string) {
	t.Helper()
	if !slices.Contains(res.Blocked, url) {
		t.Errorf("Blocked = %v, want it to list %s", res.Blocked, url)
	}
}

// renderAs renders req, failing the test unless it succeeds with the
// content type of its format.
func renderAs(t *testing.T, p *Pool, req URLRequest) *URLResult {
	t.Helper()
	res, err := p.RenderURL(context.Background(), req)
	if err != nil {
		t.Fatalf("RenderURL(%s, %s): %v", cmpURL(req), req.Format, err)
	}
	if res.ContentType != req.Format.ContentType() {
		t.Fatalf("%s: content type %q, want %q", req.Format, res.ContentType, req.Format.ContentType())
	}
	return res
}

// flips renders req as it is and with option set, and checks the pixel
// at (x, y): before without the option, after with it.
func flips(t *testing.T, p *Pool, req URLRequest, x, y int, before, after color.RGBA, option func(*URLRequest)) {
	t.Helper()
	_, img := renderPNG(t, p, req)
	wantPixel(t, img, x, y, before)
	option(&req)
	_, img = renderPNG(t, p, req)
	wantPixel(t, img, x, y, after)
}

func cmpURL(req URLRequest) string {
	if req.URL != "" {
		return req.URL
	}
	return "html"
}

func TestRenderURLOptions(t *testing.T) {
	gate := make(chan struct{})
	var gateOnce sync.Once
	openGate := func() { gateOnce.Do(func() { close(gate) }) }
	t.Cleanup(openGate)
	gate2 := make(chan struct{})
	var gate2Once sync.Once
	openGate2 := func() { gate2Once.Do(func() { close(gate2) }) }
	t.Cleanup(openGate2)

	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/tall": htmlPage(`<!doctype html><body style="margin:0;background:#fff"><div style="height:3000px;background:rgb(0,0,255)"></div>`),
		"/box": htmlPage(`<!doctype html><body style="margin:0;background:#fff">` +
			`<div id="box" style="position:absolute;left:50px;top:1500px;width:200px;height:100px;background:rgb(0,0,255)"></div>`),
		"/plain": htmlPage(`<!doctype html><body style="margin:0"><p>plain</p>`),
		"/dark": htmlPage(`<!doctype html><style>body{margin:0;background:#fff}` +
			`@media (prefers-color-scheme: dark){body{background:#000}}</style><p>theme</p>`),
		"/late": htmlPage(`<!doctype html><body style="margin:0;background:#fff"><script>
			fetch('/gate').then(() => { const d = document.createElement('div'); d.id = 'late';
			  document.body.appendChild(d); document.body.style.background = 'rgb(0,255,0)'; });
			</script>`),
		"/gate": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		},
		"/gradient": htmlPage(`<!doctype html><body style="margin:0;height:100vh;background:linear-gradient(45deg,#f00,#00f,#0f0)">` +
			strings.Repeat("<p>Some text to compress</p>", 20)),
		"/beacon": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)"><script>
			setInterval(() => fetch('/ping'), 100);</script>`),
		"/ping": func(w http.ResponseWriter, r *http.Request) {},
		"/alert": htmlPage(`<!doctype html><body style="margin:0;background:#fff"><script>
			alert('hello'); document.body.style.background = 'rgb(0,255,0)';
			</script>`),
		"/afterload": htmlPage(`<!doctype html><body style="margin:0;background:#fff"><script>
			addEventListener('load', () => fetch('/gate2').then(() => { document.body.style.background = 'rgb(0,255,0)'; }));
			</script>`),
		"/gate2": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-gate2:
			case <-r.Context().Done():
			}
		},
		"/neverloads": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)"><img src="/gate2?img">`),
		"/delayed": htmlPage(`<!doctype html><body style="margin:0;background:#fff"><script>
			setTimeout(() => { document.body.style.background = 'rgb(0,255,0)'; }, 2500);
			</script>`),
		"/echo":        htmlPage(`<!doctype html><p>echo</p>`),
		"/transparent": htmlPage(`<!doctype html><body style="margin:0"><p>see-through</p>`),
		"/ads": func(w http.ResponseWriter, r *http.Request) {
			// The ad host resolves to 127.0.0.1 (fake resolver), so this
			// very server answers it when it is not blocked.
			_, port, _ := net.SplitHostPort(r.Host)
			htmlPage(fmt.Sprintf(`<!doctype html><body><img src="http://ads.doubleclick.net:%s/ad.png">`+
				`<img src="http://cdn.example.org:%s/ok.png">`, port, port))(w, r)
		},
		"/ad.png": pngPage(t, 2, 2, red),
		"/ok.png": pngPage(t, 2, 2, green),
	})
	p := localPool(t)
	u := func(path string) string { return s.URL + path }

	t.Run("default viewport", func(t *testing.T) {
		res, img := renderPNG(t, p, URLRequest{URL: u("/tall")})
		wantSize(t, img, 1280, 1024)
		if res.Status != 200 || res.FinalURL != u("/tall") || res.ContentType != "image/png" {
			t.Errorf("status %d, final url %q, type %q", res.Status, res.FinalURL, res.ContentType)
		}
	})
	t.Run("full_page captures the whole 3000px page", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/tall"), FullPage: true})
		wantSize(t, img, 1280, 3000)
		wantPixel(t, img, 640, 2990, blue)
	})
	t.Run("selector crops to the element", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/box"), Selector: "#box"})
		wantSize(t, img, 200, 100)
		wantPixel(t, img, 0, 0, blue)
		wantPixel(t, img, 199, 99, blue)
	})
	t.Run("selector that matches nothing", func(t *testing.T) {
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/box"), Format: FormatPNG, Selector: "#nope"})
		if !errors.Is(err, ErrSelectorNotFound) {
			t.Fatalf("err = %v, want ErrSelectorNotFound", err)
		}
	})
	t.Run("retina doubles pixel dimensions", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/tall"), Width: 400, Height: 300, Retina: true})
		wantSize(t, img, 800, 600)
		_, img = renderPNG(t, p, URLRequest{URL: u("/box"), Selector: "#box", Retina: true})
		wantSize(t, img, 400, 200)
	})
	t.Run("clip", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/box"), Clip: &Clip{X: 0, Y: 1450, Width: 300, Height: 100}})
		wantSize(t, img, 300, 100)
		wantPixel(t, img, 10, 10, white)  // left of the box, above it
		wantPixel(t, img, 100, 90, blue)  // inside the box (y 1540)
		wantPixel(t, img, 280, 90, white) // right of the box
	})
	t.Run("wait_for waits for the element", func(t *testing.T) {
		// Without wait_for the capture happens while /gate still holds the
		// page's fetch; with it, the render waits until the gate opens.
		_, img := renderPNG(t, p, URLRequest{URL: u("/late"), Width: 200, Height: 100})
		wantPixel(t, img, 100, 50, white)
		time.AfterFunc(300*time.Millisecond, openGate)
		_, img = renderPNG(t, p, URLRequest{URL: u("/late"), Width: 200, Height: 100, WaitFor: "#late"})
		wantPixel(t, img, 100, 50, green)
	})
	t.Run("wait_for times out", func(t *testing.T) {
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/plain"), Format: FormatPNG, WaitFor: "#never", Timeout: 1500 * time.Millisecond})
		if !errors.Is(err, ErrSelectorNotFound) {
			t.Fatalf("err = %v, want ErrSelectorNotFound", err)
		}
	})
	t.Run("jpeg and webp honour quality", func(t *testing.T) {
		for _, f := range []Format{FormatJPEG, FormatWebP} {
			size := map[int]int{}
			for _, q := range []int{10, 95} {
				res := renderAs(t, p, URLRequest{URL: u("/gradient"), Format: f, Quality: q, Width: 400, Height: 300})
				size[q] = len(res.Data)
			}
			if size[10] >= size[95] {
				t.Errorf("%s: quality 10 gave %d bytes, quality 95 %d; want smaller", f, size[10], size[95])
			}
		}
		res, err := p.RenderURL(context.Background(), URLRequest{URL: u("/gradient"), Format: FormatJPEG, Width: 400, Height: 300})
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.Data)); err != nil || cfg.Width != 400 || cfg.Height != 300 {
			t.Errorf("jpeg: %+v, %v; want 400x300", cfg, err)
		}
	})
	t.Run("alert does not stall the render", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/alert"), Width: 200, Height: 100, Timeout: 10 * time.Second})
		wantPixel(t, img, 100, 50, green)
	})
	t.Run("wait_until", func(t *testing.T) {
		// domloaded does not wait for an image that never arrives, where
		// loaded would.
		_, img := renderPNG(t, p, URLRequest{URL: u("/neverloads"), Width: 200, Height: 100, WaitUntil: WaitDOMLoaded, Timeout: 10 * time.Second})
		wantPixel(t, img, 100, 50, blue)
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/neverloads"), Format: FormatPNG, Timeout: 2 * time.Second})
		if !errors.Is(err, ErrRenderTimeout) {
			t.Errorf("loaded with a never-loading image: err = %v, want ErrRenderTimeout", err)
		}
		// loaded captures while a request started at load is in flight;
		// requestsfinished waits for it.
		_, img = renderPNG(t, p, URLRequest{URL: u("/afterload"), Width: 200, Height: 100})
		wantPixel(t, img, 100, 50, white)
		time.AfterFunc(300*time.Millisecond, openGate2)
		_, img = renderPNG(t, p, URLRequest{URL: u("/afterload"), Width: 200, Height: 100, WaitUntil: WaitRequestsFinished})
		wantPixel(t, img, 100, 50, green)
		// A page that sends a request every 100 ms forever is never idle,
		// but mostly so.
		_, img = renderPNG(t, p, URLRequest{URL: u("/beacon"), Width: 200, Height: 100, WaitUntil: WaitMostRequestsFinished, Timeout: 10 * time.Second})
		wantPixel(t, img, 100, 50, blue)
		_, err = p.RenderURL(context.Background(), URLRequest{URL: u("/beacon"), Format: FormatPNG, WaitUntil: WaitRequestsFinished, Timeout: 3 * time.Second})
		if !errors.Is(err, ErrRenderTimeout) {
			t.Errorf("requestsfinished on a beaconing page: err = %v, want ErrRenderTimeout", err)
		}
	})
	t.Run("delay waits before capture", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/delayed"), Width: 200, Height: 100}, 100, 50, white, green, func(r *URLRequest) { r.Delay = 3 * time.Second })
	})
	t.Run("css is injected", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/plain"), Width: 200, Height: 100}, 150, 80, white, blue, func(r *URLRequest) { r.CSS = "body{background:rgb(0,0,255)!important}" })
	})
	t.Run("js runs before capture", func(t *testing.T) {
		js := `new Promise(r => setTimeout(r, 50)).then(() => { document.body.style.background = 'rgb(0,255,0)'; })`
		_, img := renderPNG(t, p, URLRequest{URL: u("/plain"), Width: 200, Height: 100, JS: js})
		wantPixel(t, img, 150, 80, green)
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/plain"), Format: FormatPNG, JS: "throw new Error('boom')"})
		if !errors.Is(err, ErrPageScript) || !strings.Contains(err.Error(), "boom") {
			t.Errorf("throwing js: err = %v, want ErrPageScript mentioning boom", err)
		}
	})
	t.Run("dark_mode", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/dark"), Width: 200, Height: 100}, 150, 80, white, black, func(r *URLRequest) { r.DarkMode = true })
	})
	t.Run("transparent", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/transparent"), Width: 200, Height: 100})
		wantPixel(t, img, 150, 80, white)
		_, img = renderPNG(t, p, URLRequest{URL: u("/transparent"), Width: 200, Height: 100, Transparent: true})
		if a := pixelAt(img, 150, 80).A; a != 0 {
			t.Errorf("alpha at (150,80) = %d, want 0", a)
		}
	})
	t.Run("fail_on_4xx", func(t *testing.T) {
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/missing"), Format: FormatPNG, FailOn4xx: true})
		var pse *PageStatusError
		if !errors.As(err, &pse) || pse.Status != 404 || !errors.Is(err, ErrPageStatus) {
			t.Fatalf("err = %v, want *PageStatusError{404}", err)
		}
		res, _ := renderPNG(t, p, URLRequest{URL: u("/missing")})
		if res.Status != 404 {
			t.Errorf("without fail_on_4xx: status %d, want 404 and a capture", res.Status)
		}
		_, err = p.RenderURL(context.Background(), URLRequest{URL: u("/missing"), Format: FormatPNG, FailOn5xx: true})
		if err != nil {
			t.Errorf("fail_on_5xx on a 404: %v", err)
		}
	})
	t.Run("headers, cookies and user agent reach the server", func(t *testing.T) {
		renderPNG(t, p, URLRequest{
			URL:       u("/echo"),
			UserAgent: "renderhook-test/1.0",
			Headers:   map[string]string{"X-Test": "yes"},
			Cookies:   []Cookie{{Name: "session", Value: "abc123"}},
		})
		h := s.headerOf("/echo")
		if got := h.Get("User-Agent"); got != "renderhook-test/1.0" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := h.Get("X-Test"); got != "yes" {
			t.Errorf("X-Test = %q", got)
		}
		if got := h.Get("Cookie"); !strings.Contains(got, "session=abc123") {
			t.Errorf("Cookie = %q, want session=abc123", got)
		}
	})
	t.Run("block_ads blocks a listed host", func(t *testing.T) {
		before := s.hitsOf("/ad.png")
		res, _ := renderPNG(t, p, URLRequest{URL: u("/ads"), WaitUntil: WaitRequestsFinished})
		if s.hitsOf("/ad.png") == before {
			t.Fatal("without block_ads the ad was not requested; the test page is broken")
		}
		if len(res.Blocked) != 0 {
			t.Errorf("without block_ads, Blocked = %v", res.Blocked)
		}
		before, okBefore := s.hitsOf("/ad.png"), s.hitsOf("/ok.png")
		res, _ = renderPNG(t, p, URLRequest{URL: u("/ads"), BlockAds: true, WaitUntil: WaitRequestsFinished})
		if n := s.hitsOf("/ad.png") - before; n != 0 {
			t.Errorf("with block_ads the ad host was reached %d times", n)
		}
		if s.hitsOf("/ok.png") == okBefore {
			t.Error("with block_ads an unlisted host was not reached")
		}
		_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
		wantBlocked(t, res, "http://ads.doubleclick.net:"+port+"/ad.png")
	})
	t.Run("html source", func(t *testing.T) {
		before := s.hitsOf("/ok.png")
		res, img := renderPNG(t, p, URLRequest{
			HTML:  `<!doctype html><body style="margin:0;background:rgb(0,0,255)"><img src="` + u("/ok.png") + `" style="width:50px;height:50px">`,
			Width: 200, Height: 100,
		})
		wantPixel(t, img, 150, 80, blue)
		wantPixel(t, img, 10, 10, green)
		if s.hitsOf("/ok.png") == before {
			t.Error("the HTML's image was not loaded")
		}
		if res.Status != 0 || res.FinalURL != "" {
			t.Errorf("html render: status %d, final url %q", res.Status, res.FinalURL)
		}
	})
	t.Run("pdf options", func(t *testing.T) {
		res := renderAs(t, p, URLRequest{URL: u("/plain"), Format: FormatPDF,
			PDF: PDFOptions{PageSize: "A4", Landscape: true, Background: true, MarginTop: 10}})
		if w, h := pdfPageSize(t, res.Data); int(w) != 841 || int(h) != 595 {
			t.Errorf("A4 landscape page is %.2f x %.2f pt, want 841.89 x 595.28", w, h)
		}
	})
	t.Run("pdf background and margins", func(t *testing.T) {
		if _, err := exec.LookPath("pdftoppm"); err != nil {
			t.Skip("no pdftoppm")
		}
		// Rasterised at 25.4 dpi, one pixel is one millimetre.
		raster := func(o PDFOptions) image.Image {
			t.Helper()
			res, err := p.RenderURL(context.Background(), URLRequest{URL: u("/tall"), Format: FormatPDF, PDF: o})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "in.pdf"), res.Data, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftoppm", "-png", "-r", "25.4", "-f", "1", "-l", "1", "-singlefile",
				filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out")).CombinedOutput()
			if err != nil {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			data, err := os.ReadFile(filepath.Join(dir, "out.png"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
		isBlue := func(c color.RGBA) bool { return c.B > 200 && c.R < 60 && c.G < 60 }
		img := raster(PDFOptions{})
		if c := pixelAt(img, 105, 150); isBlue(c) {
			t.Errorf("without pdf_background the middle is %v, want no background", c)
		}
		img = raster(PDFOptions{Background: true, MarginTop: 30, MarginLeft: 30})
		if c := pixelAt(img, 105, 150); !isBlue(c) {
			t.Errorf("with pdf_background the middle is %v, want blue", c)
		}
		if c := pixelAt(img, 105, 10); isBlue(c) {
			t.Errorf("inside the 30 mm top margin: %v, want blank", c)
		}
		if c := pixelAt(img, 10, 150); isBlue(c) {
			t.Errorf("inside the 30 mm left margin: %v, want blank", c)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, req := range map[string]URLRequest{
			"neither url nor html": {Format: FormatPNG},
			"both url and html":    {URL: u("/plain"), HTML: "<p>", Format: FormatPNG},
			"bad format":           {URL: u("/plain"), Format: "gif"},
			"huge viewport":        {URL: u("/plain"), Format: FormatPNG, Width: 20000},
			"bad wait_until":       {URL: u("/plain"), Format: FormatPNG, WaitUntil: "whenever"},
			"selector and clip":    {URL: u("/plain"), Format: FormatPNG, Selector: "p", Clip: &Clip{Width: 1, Height: 1}},
			"bad pdf page size":    {URL: u("/plain"), Format: FormatPDF, PDF: PDFOptions{PageSize: "B5"}},
		} {
			if _, err := p.RenderURL(context.Background(), req); !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
			}
		}
	})
}

func TestRenderURLNoGuardRefuses(t *testing.T) {
	t.Parallel()
	p, err := New(Config{ChromiumPath: "/bin/sh"}) // never started: refused before any browser work
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []URLRequest{{URL: "https://example.com/", Format: FormatPNG}, {HTML: "<p>hi</p>", Format: FormatPNG}} {
		if _, err := p.RenderURL(context.Background(), req); !errors.Is(err, ErrBlockedURL) {
			t.Errorf("%s without a guard: err = %v, want ErrBlockedURL", cmpURL(req), err)
		}
	}
}

// TestRenderURLMainFrameSSRF: with loopback not allowed, main frames that
// point at it (or at metadata, files, browser pages) are refused, and the
// loopback server is never reached.
func TestRenderURLMainFrameSSRF(t *testing.T) {
	target := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/": htmlPage("<p>secret</p>")})
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	// Every host name resolves to 127.0.0.1, and nothing private is allowed.
	p := urlPool(t, netip.MustParseAddr("127.0.0.1"))
	for _, tc := range []struct {
		url          string
		beforeBrowse bool // refused by the pre-check, before any browser work
	}{
		{"http://127.0.0.1:" + port + "/", true},
		{"http://localhost:" + port + "/", true},
		{"http://2130706433:" + port + "/", true},
		{"http://[::1]:" + port + "/", true},
		{"http://169.254.169.254/latest/meta-data/", true},
		{"file:///etc/passwd", true},
		{"chrome://version", true},
		{"javascript:alert(1)", true},
		{"data:text/html,<p>hi</p>", true},
		{"http://internal.example:" + port + "/", false}, // resolves to 127.0.0.1: refused by the proxy
		{"https://internal.example:" + port + "/", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			rendersBefore := p.Stats().Renders
			start := time.Now()
			_, err := p.RenderURL(context.Background(), URLRequest{URL: tc.url, Format: FormatPNG})
			if !errors.Is(err, ErrBlockedURL) {
				t.Fatalf("err = %v, want ErrBlockedURL", err)
			}
			if tc.beforeBrowse && time.Since(start) > 100*time.Millisecond {
				t.Errorf("refusal took %s; the pre-check should answer at once", time.Since(start))
			}
			if p.Stats().Renders != rendersBefore {
				t.Error("a refused render was counted as done")
			}
		})
	}
	if n := target.totalHits(); n != 0 {
		t.Errorf("the loopback server was reached %d times", n)
	}
}

// TestRenderURLSubresourceSSRF: a page on an allowed origin (127.0.0.1)
// whose subresources, fetch, XHR, websocket, redirect and a host name all
// lead to a refused address (127.0.0.2) renders, the refused server is
// never reached, and every such URL is in Blocked. The same page with
// 127.0.0.2 allowed reaches it on every path, which shows the page really
// makes those requests.
func TestRenderURLSubresourceSSRF(t *testing.T) {
	forbidden := newSite(t, "127.0.0.2:0", map[string]http.HandlerFunc{
		"/img.png":    func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(solidPNG(t, 2, 2, red)) },
		"/fetch":      func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Access-Control-Allow-Origin", "*") },
		"/xhr":        func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Access-Control-Allow-Origin", "*") },
		"/redirected": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(solidPNG(t, 2, 2, red)) },
		"/named.png":  func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(solidPNG(t, 2, 2, red)) },
		"/ws":         func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
		"/html.png":   func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(solidPNG(t, 2, 2, red)) },
	})
	_, fport, _ := net.SplitHostPort(forbidden.Listener.Addr().String())
	fbase := "http://127.0.0.2:" + fport
	urls := map[string]string{
		"/img.png":    fbase + "/img.png",
		"/fetch":      fbase + "/fetch",
		"/xhr":        fbase + "/xhr",
		"/ws":         "ws://127.0.0.2:" + fport + "/ws",
		"/redirected": fbase + "/redirected",
		"/named.png":  "http://evil.example:" + fport + "/named.png",
	}
	page := `<!doctype html><body>
<img src="` + urls["/img.png"] + `">
<img src="/redirect">
<img src="` + urls["/named.png"] + `">
<script>
const settle = (p) => p.then(() => {}, () => {});
const ws = new Promise((res) => { const s = new WebSocket(` + jsString(urls["/ws"]) + `); s.onerror = res; s.onclose = res; s.onopen = res; });
const xhr = new Promise((res) => { const x = new XMLHttpRequest(); x.onloadend = res; x.open('GET', ` + jsString(urls["/xhr"]) + `); x.send(); });
Promise.all([settle(fetch(` + jsString(urls["/fetch"]) + `)), ws, xhr]).then(() => {
  const d = document.createElement('div'); d.id = 'done'; document.body.appendChild(d);
});
</script>`
	allowed := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/page": htmlPage(page),
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, urls["/redirected"], http.StatusFound)
		},
		"/linklocal": htmlPage(`<!doctype html><body>
			<img src="http://169.254.169.254/latest/meta-data/">
			<img src="http://[fe80::1]/x.png">
			<img src="http://[::1]:` + fport + `/img.png">`),
		"/to-forbidden": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, fbase+"/img.png", http.StatusFound)
		},
	})
	req := URLRequest{URL: allowed.URL + "/page", Format: FormatPNG, WaitFor: "#done", WaitUntil: WaitRequestsFinished}

	t.Run("control: with 127.0.0.2 allowed every path is reached", func(t *testing.T) {
		p := urlPool(t, netip.MustParseAddr("127.0.0.2"), "127.0.0.0/8")
		res, err := p.RenderURL(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for path := range urls {
			if forbidden.hitsOf(path) == 0 {
				t.Errorf("%s was not requested; the test page does not exercise it", path)
			}
		}
		if len(res.Blocked) != 0 {
			t.Errorf("Blocked = %v, want none", res.Blocked)
		}
	})
	p := urlPool(t, netip.MustParseAddr("127.0.0.2"), "127.0.0.1/32")
	t.Run("refused", func(t *testing.T) {
		before := forbidden.totalHits()
		res, err := p.RenderURL(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if n := forbidden.totalHits() - before; n != 0 {
			t.Errorf("the refused server was reached %d times", n)
		}
		for _, u := range urls {
			wantBlocked(t, res, u)
		}
	})
	t.Run("addresses Chromium would bypass a proxy for go through it", func(t *testing.T) {
		// Chromium sends loopback and link-local destinations direct unless
		// told "<-loopback>"; had it here, the proxy would not have seen
		// (and listed) them.
		res, err := p.RenderURL(context.Background(), URLRequest{URL: allowed.URL + "/linklocal", Format: FormatPNG, WaitUntil: WaitRequestsFinished})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x.png", "http://[::1]:" + fport + "/img.png"} {
			wantBlocked(t, res, u)
		}
	})
	t.Run("html source's subresources too", func(t *testing.T) {
		before := forbidden.totalHits()
		res, err := p.RenderURL(context.Background(), URLRequest{
			HTML: `<img src="` + fbase + `/html.png">`, Format: FormatPNG, WaitUntil: WaitRequestsFinished,
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := forbidden.totalHits() - before; n != 0 {
			t.Errorf("the refused server was reached %d times", n)
		}
		wantBlocked(t, res, fbase+"/html.png")
	})
	t.Run("main-frame redirect to a refused address", func(t *testing.T) {
		before := forbidden.totalHits()
		_, err := p.RenderURL(context.Background(), URLRequest{URL: allowed.URL + "/to-forbidden", Format: FormatPNG})
		if !errors.Is(err, ErrBlockedURL) {
			t.Errorf("err = %v, want ErrBlockedURL", err)
		}
		if n := forbidden.totalHits() - before; n != 0 {
			t.Errorf("the refused server was reached %d times", n)
		}
	})
}

// TestRenderURLIncognito: cookies and localStorage one render sets are gone
// in the next, which takes a spare context.
func TestRenderURLIncognito(t *testing.T) {
	var cookies sync.Map // render number → Cookie header seen by /probe
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/set": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "secret", Path: "/", Expires: time.Now().Add(time.Hour)})
			htmlPage(`<!doctype html><body style="margin:0"><script>
				localStorage.setItem('k', 'v');
				document.body.style.background = localStorage.getItem('k') === 'v' ? 'rgb(0,255,0)' : 'rgb(255,0,0)';
				const i = new Image(); i.src = '/probe?n=1'; document.body.appendChild(i);
				</script>`)(w, r)
		},
		"/check": htmlPage(`<!doctype html><body style="margin:0"><script>
			document.body.style.background = localStorage.getItem('k') === null ? 'rgb(0,255,0)' : 'rgb(255,0,0)';
			const i = new Image(); i.src = '/probe?n=2'; document.body.appendChild(i);
			</script>`),
		"/probe": func(w http.ResponseWriter, r *http.Request) {
			cookies.Store(r.URL.Query().Get("n"), r.Header.Get("Cookie"))
			_, _ = w.Write(solidPNG(t, 1, 1, green))
		},
	})
	p := localPool(t)
	req := URLRequest{Width: 100, Height: 100, WaitUntil: WaitRequestsFinished}

	req.URL = s.URL + "/set"
	_, img := renderPNG(t, p, req)
	wantPixel(t, img, 90, 90, green) // localStorage works within a render
	if c, _ := cookies.Load("1"); !strings.Contains(fmt.Sprint(c), "sid=secret") {
		t.Fatalf("render 1's own subresource did not carry its cookie (Cookie %q); the test cannot tell", c)
	}
	// Render 2 runs in a spare context, made while render 1 ran.
	readySpares(t, p, 2)
	req.URL = s.URL + "/check"
	_, img = renderPNG(t, p, req)
	wantPixel(t, img, 90, 90, green) // no localStorage from render 1
	if c, ok := cookies.Load("2"); !ok || c != "" {
		t.Errorf("render 2 sent Cookie %q (seen: %v), want none", c, ok)
	}
}

// TestRenderURLDownloadsAndPopups: a page that starts a download and opens
// windows renders; the download is denied and no window it opens runs.
func TestRenderURLDownloadsAndPopups(t *testing.T) {
	var alive atomic.Int64
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/page": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">
			<a id="d" href="/file.bin" download>download</a>
			<script>document.getElementById('d').click(); window.open('/popup', '_blank');</script>`),
		"/popup": htmlPage(`<!doctype html><body style="background:rgb(255,0,0)"><script>
			setInterval(() => fetch('/alive'), 50);</script>`),
		"/alive": func(w http.ResponseWriter, r *http.Request) { alive.Add(1) },
		"/plain": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">`),
		"/file.bin": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Disposition", `attachment; filename="renderhook-test-evil.bin"`)
			_, _ = w.Write(bytes.Repeat([]byte("x"), 1024))
		},
	})
	p := localPool(t)

	t.Run("without a gesture", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/page", Width: 200, Height: 100, Delay: 300 * time.Millisecond})
		wantPixel(t, img, 150, 80, green) // the page itself, not the popup
		if s.hitsOf("/file.bin") == 0 {
			t.Error("the download link was not followed; the test page is broken")
		}
		if home, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(home, "Downloads", "renderhook-test-evil.bin")); err == nil {
				t.Error("the download was saved to ~/Downloads")
			}
		}
	})
	t.Run("popups the blocker lets through are closed", func(t *testing.T) {
		// With a user gesture the popup blocker allows window.open; the
		// pool must close the window itself. Left open, the popup would
		// fetch /alive every 50 ms through the 1 s delay.
		p.url.jsUserGesture = true
		defer func() { p.url.jsUserGesture = false }()
		popupsBefore, aliveBefore := s.hitsOf("/popup"), alive.Load()
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/page", Width: 200, Height: 100,
			JS: `window.open('/popup', '_blank') !== undefined`, Delay: time.Second})
		wantPixel(t, img, 150, 80, green)
		if n := alive.Load() - aliveBefore; n > 2 {
			t.Errorf("the popup ran during the render: %d requests from it (popup loads: %d)", n, s.hitsOf("/popup")-popupsBefore)
		}
		// Once the render's context is disposed of (no background work
		// left), nothing of it can run; a later render through the same
		// browser and site is the synchronising request after which a
		// popup still running would have been counted.
		eventually(t, 10*time.Second, "the render's context to be disposed of", func() bool { return p.Stats().Background == 0 })
		n := alive.Load()
		_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/plain", Width: 200, Height: 100})
		wantPixel(t, img, 150, 80, green)
		eventually(t, 10*time.Second, "the second render's context to be disposed of", func() bool { return p.Stats().Background == 0 })
		if m := alive.Load(); m != n {
			t.Errorf("the popup kept running after the render: %d more requests", m-n)
		}
	})
}

// TestRenderURLQueueFull: URL renders share the pool's limit and queue with
// template renders.
func TestRenderURLQueueFull(t *testing.T) {
	bs := newBlockingServer(t)
	resolver, _ := egresstest.FakeResolver(netip.MustParseAddr("127.0.0.1"))
	g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Config{MaxTabs: 1, QueueSize: 1, Egress: g})
	slowURL := URLRequest{URL: bs.URL + "/img", Format: FormatPNG}
	errs := make(chan error, 2)
	go func() { _, err := p.RenderURL(context.Background(), slowURL); errs <- err }()
	eventually(t, 10*time.Second, "the URL render to hold the only slot", func() bool { return bs.hits.Load() > 0 })
	go func() { _, err := p.Render(context.Background(), pngRequest(colourPage("#fff", 10, 10))); errs <- err }()
	eventually(t, 10*time.Second, "the template render to queue behind it", func() bool { return p.Stats().Queued == 1 })

	wantQueueFull(t, bs, errs, func() error { _, err := p.RenderURL(context.Background(), slowURL); return err })
}

// TestRenderURLTimeout: a page that never finishes loading fails with
// ErrRenderTimeout at the request's timeout.
func TestRenderURLTimeout(t *testing.T) {
	bs := newBlockingServer(t)
	p := localPool(t)
	start := time.Now()
	_, err := p.RenderURL(context.Background(), URLRequest{URL: bs.URL + "/slow", Format: FormatPNG, Timeout: time.Second})
	if !errors.Is(err, ErrRenderTimeout) {
		t.Fatalf("err = %v, want ErrRenderTimeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s for a 1s timeout", took)
	}
}

// TestRenderURLBrowserCrash: a URL render in flight when Chromium dies fails
// with ErrBrowserCrashed, and the next one runs in the relaunched browser.
func TestRenderURLBrowserCrash(t *testing.T) {
	bs := newBlockingServer(t)
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/ok": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
	})
	p := localPool(t)
	oldPID := killDuringRender(t, p, bs, func() error {
		_, err := p.RenderURL(context.Background(), URLRequest{URL: bs.URL + "/slow", Format: FormatPNG})
		return err
	})
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/ok", Width: 100, Height: 100})
	wantPixel(t, img, 50, 50, blue)
	if pid := p.BrowserPID(); pid == oldPID || pid == 0 {
		t.Errorf("BrowserPID() = %d after relaunch, old was %d", pid, oldPID)
	}
}

// TestRenderURLWebRTC: WebRTC's UDP does not use the browser's proxy, so a
// page could reach any address with STUN requests; the browser is launched
// to send no unproxied UDP. The control run, with that flag overridden,
// shows the page really sends them.
func TestRenderURLWebRTC(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	// The test's own marker packets are counted apart: once one is read,
	// every packet sent to udp before it has been counted too.
	marker := []byte("renderhook-test-marker")
	var packets atomic.Int64
	markers := make(chan struct{}, 8)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if bytes.Equal(buf[:n], marker) {
				markers <- struct{}{}
				continue
			}
			packets.Add(1)
		}
	}()
	// drained waits until the render's browser context is gone (nothing of
	// the page can send any more) and a marker sent after it has been read.
	drained := func(t *testing.T, p *Pool) {
		t.Helper()
		eventually(t, 10*time.Second, "the render's context to be disposed of", func() bool { return p.Stats().Background == 0 })
		c, err := net.Dial("udp", udp.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(marker); err != nil {
			t.Fatal(err)
		}
		receive(t, markers, 10*time.Second, "the marker packet never arrived")
	}
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/rtc": htmlPage(`<!doctype html><body><script>
			const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:` + udp.LocalAddr().String() + `'}]});
			pc.createDataChannel('x');
			pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') document.body.id = 'done'; };
			pc.createOffer().then((o) => pc.setLocalDescription(o));
			setTimeout(() => { document.body.id = 'done'; }, 3000);
			</script>`),
	})
	req := URLRequest{URL: s.URL + "/rtc", Format: FormatPNG, WaitFor: "body#done", Width: 100, Height: 100}
	guard := func() *egress.Guard {
		g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	t.Run("control: with unproxied UDP allowed, STUN reaches the address", func(t *testing.T) {
		p := newPool(t, Config{MaxTabs: 1, Egress: guard(), ExtraFlags: []string{"--webrtc-ip-handling-policy=default", "--force-webrtc-ip-handling-policy=default"}})
		if _, err := p.RenderURL(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		drained(t, p)
		if packets.Load() == 0 {
			t.Skip("no STUN packet arrived even without the policy; this host's WebRTC gathers nothing to test")
		}
	})
	t.Run("no unproxied UDP", func(t *testing.T) {
		p := newPool(t, Config{MaxTabs: 1, Egress: guard()})
		before := packets.Load()
		if _, err := p.RenderURL(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		drained(t, p)
		if n := packets.Load() - before; n != 0 {
			t.Errorf("%d UDP packets reached 127.0.0.2, which the guard refuses", n)
		}
	})
}

// TestRenderURLPageCrash: when the page's renderer dies (here by
// Page.crash; in life, out of memory) the render fails at once with
// ErrBrowserCrashed instead of waiting for its deadline, and the browser
// serves the next render.
func TestRenderURLPageCrash(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/wait": htmlPage(`<!doctype html><title>crash-me</title><p>waiting`),
		"/ok":   htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
	})
	p := localPool(t)
	pid := p.BrowserPID()
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		// Loaded, then waiting for an element that never comes.
		_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/wait", Format: FormatPNG, WaitFor: "#never", Timeout: 30 * time.Second})
		errc <- err
	}()

	in := p.sup.current()
	var id target.ID
	eventually(t, 10*time.Second, "the render's page to load", func() bool {
		ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
		defer cancel()
		infos, err := target.GetTargets().Do(cdp.WithExecutor(ctx, in.browser))
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "page" && info.Title == "crash-me" {
				id = info.TargetID
			}
		}
		return id != ""
	})
	tabCtx, tabCancel := chromedp.NewContext(in.ctx, chromedp.WithTargetID(id))
	defer tabCancel()
	// Page.crash never answers: the renderer is gone before it can.
	go func() { _ = chromedp.Run(tabCtx, page.Crash()) }()

	err := receive(t, errc, 25*time.Second, "the render did not end after its page crashed")
	if !errors.Is(err, ErrBrowserCrashed) {
		t.Fatalf("err = %v, want ErrBrowserCrashed", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the crash was noticed only after %s", took)
	}
	if p.BrowserPID() != pid {
		t.Error("the browser was replaced for a page crash")
	}
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/ok", Width: 50, Height: 50})
	wantPixel(t, img, 25, 25, blue)
}

// Spare contexts (spare.go).

// readySpares waits until the pool has want spares ready and returns them.
func readySpares(t *testing.T, p *Pool, want int) []*urlRun {
	t.Helper()
	var got []*urlRun
	eventually(t, 20*time.Second, "spares to be ready", func() bool {
		p.url.mu.Lock()
		defer p.url.mu.Unlock()
		got = slices.Clone(p.url.spares)
		return len(got) == want && p.url.sparesMaking == 0 && p.Stats().Spares == want
	})
	return got
}

// browserContexts lists the browser's contexts other than its default one
// and the idle warm tabs' (those of URL renders and spares, when no
// template render runs).
func browserContexts(t *testing.T, p *Pool) []cdp.BrowserContextID {
	t.Helper()
	p.tpl.mu.Lock()
	in := p.tpl.cur
	tabCtxs := make(map[cdp.BrowserContextID]bool)
	for _, tb := range p.tpl.idle {
		tabCtxs[tb.bctxID] = true
	}
	p.tpl.mu.Unlock()
	return slices.DeleteFunc(allBrowserContexts(t, in), func(id cdp.BrowserContextID) bool { return tabCtxs[id] })
}

// allBrowserContexts lists browser in's contexts other than its default one.
func allBrowserContexts(t *testing.T, in *instance) []cdp.BrowserContextID {
	t.Helper()
	ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
	defer cancel()
	ids, err := target.GetBrowserContexts().Do(cdp.WithExecutor(ctx, in.browser))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestRenderURLSpares: after the first URL render the pool keeps URLSpares
// fresh contexts ready; a render takes one (at another viewport too, which
// it then sets), every context is disposed of after its one render, and a
// spare whose renderer died is never used.
func TestRenderURLSpares(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/blue": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
	})
	p := localPool(t)
	if n := len(browserContexts(t, p)); n != 0 {
		t.Fatalf("%d browser contexts before any URL render, want none (spares only once URL renders happen)", n)
	}

	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/blue", Width: 200, Height: 100})
	wantSize(t, img, 200, 100)
	spares := readySpares(t, p, 2)
	for _, r := range spares {
		if r.viewport == nil || *r.viewport != (viewport{200, 100, 1}) {
			t.Errorf("spare prepared at %+v, want the last render's 200x100", r.viewport)
		}
	}
	// Only the spares' contexts are left: the first render's is gone
	// (disposed of just after the answer).
	var got []cdp.BrowserContextID
	eventually(t, 10*time.Second, "just the spares' contexts", func() bool {
		got = browserContexts(t, p)
		return len(got) == 2 && slices.Contains(got, spares[0].bctxID) && slices.Contains(got, spares[1].bctxID)
	})

	t.Run("a render takes a spare, at another viewport too", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{HTML: `<body style="margin:0;background:rgb(0,255,0)">`, Width: 150, Height: 80, Retina: true})
		wantSize(t, img, 300, 160)
		wantPixel(t, img, 299, 159, green)
		now := readySpares(t, p, 2)
		if slices.Contains(now, spares[0]) {
			t.Error("the oldest spare is still waiting: the render did not take it")
		}
		eventually(t, 10*time.Second, "the used spare's context to be disposed of", func() bool {
			return !slices.Contains(browserContexts(t, p), spares[0].bctxID)
		})
		// The next spares are prepared at the latest render's viewport.
		if v := now[len(now)-1].viewport; v == nil || *v != (viewport{150, 80, 2}) {
			t.Errorf("newest spare prepared at %+v, want 150x80 at 2x", v)
		}
	})

	t.Run("a spare whose renderer died is passed over", func(t *testing.T) {
		now := readySpares(t, p, 2)
		crashTarget(t, p, now[0].targetID)
		eventually(t, 10*time.Second, "the crash to be noticed", func() bool {
			now[0].mu.Lock()
			defer now[0].mu.Unlock()
			return now[0].crashed
		})
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/blue", Width: 200, Height: 100})
		wantPixel(t, img, 100, 50, blue)
		eventually(t, 10*time.Second, "the crashed spare's context to be disposed of", func() bool {
			return !slices.Contains(browserContexts(t, p), now[0].bctxID)
		})
	})

	t.Run("stop disposes of the spares and closes their proxies", func(t *testing.T) {
		now := readySpares(t, p, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range now {
			if c, err := net.DialTimeout("tcp", r.proxy.Addr(), time.Second); err == nil {
				c.Close()
				t.Errorf("spare's proxy %s still accepts connections after Stop", r.proxy.Addr())
			}
		}
	})
}

// TestRenderURLSparesRecycle: spares belong to one browser; once it is
// recycled they are replaced by spares in the new one.
func TestRenderURLSparesRecycle(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 1, RecycleAfter: 2, Egress: loopbackGuard(t)})
	html := URLRequest{HTML: `<body style="margin:0;background:rgb(0,0,255)">`, Width: 60, Height: 40}
	pid := p.BrowserPID()
	for i := range 3 {
		_, img := renderPNG(t, p, html)
		wantPixel(t, img, 30, 20, blue)
		if i == 1 {
			eventually(t, 30*time.Second, "the browser to be recycled", func() bool { return p.BrowserPID() != pid })
		}
	}
	spares := readySpares(t, p, 2)
	cur := p.sup.current()
	for _, r := range spares {
		if r.in != cur {
			t.Errorf("a spare of browser %d is ready; the current one is %d", r.in.pid, cur.pid)
		}
	}
}

// TestRenderURLNoSpares: URLSpares < 0 keeps none.
func TestRenderURLNoSpares(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 1, URLSpares: -1, Egress: loopbackGuard(t)})
	_, img := renderPNG(t, p, URLRequest{HTML: `<body style="margin:0;background:rgb(0,0,255)">`, Width: 60, Height: 40})
	wantPixel(t, img, 30, 20, blue)
	// The render's end is where spares would be started (finish, before
	// RenderURL returns), counted in Background until they are made; so
	// once Background is back to 0 a spare would be there to see.
	eventually(t, 10*time.Second, "no background work left", func() bool { return p.Stats().Background == 0 })
	if st := p.Stats(); st.Spares != 0 {
		t.Errorf("Stats().Spares = %d with spares off, want 0", st.Spares)
	}
	if n := len(browserContexts(t, p)); n != 0 {
		t.Errorf("%d browser contexts with spares off, want none", n)
	}
}

// loopbackGuard allows loopback, for pools whose renders are plain HTML.
func loopbackGuard(t testing.TB) *egress.Guard {
	t.Helper()
	g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// crashTarget crashes the renderer of page target id.
func crashTarget(t *testing.T, p *Pool, id target.ID) {
	t.Helper()
	in := p.sup.current()
	tabCtx, cancel := chromedp.NewContext(in.ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	// Page.crash never answers: the renderer is gone before it can.
	go func() { _ = chromedp.Run(tabCtx, page.Crash()) }()
}

// TestRenderURLSparesConcurrent: renders racing for spares (more at once
// than there are spares, so some make their context themselves) all
// succeed, and afterwards every used context is gone and only the spares'
// are left. (Isolation between renders: TestRenderURLIncognito.)
func TestRenderURLSparesConcurrent(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 4, Egress: loopbackGuard(t)})
	html := URLRequest{HTML: `<body style="margin:0;background:rgb(0,0,255)">`, Width: 60, Height: 40, Format: FormatPNG}
	renderPNG(t, p, html) // spares are made after the first URL render
	readySpares(t, p, 2)
	errs := make(chan error, 8)
	imgs := make(chan []byte, 8)
	for range 8 {
		go func() {
			res, err := p.RenderURL(context.Background(), html)
			if err == nil {
				imgs <- res.Data
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		wantPixel(t, decodePNG(t, <-imgs), 30, 20, blue)
	}
	var got []cdp.BrowserContextID
	eventually(t, 20*time.Second, "just two spare contexts left", func() bool {
		got = browserContexts(t, p)
		p.url.mu.Lock()
		defer p.url.mu.Unlock()
		return len(got) == 2 && len(p.url.spares) == 2 && p.url.sparesMaking == 0
	})
}
