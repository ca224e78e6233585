package browser

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/egress/egresstest"
)

// flaky answers a green page, except that it cuts the connection of the
// first request of each path without an answer; hits counts a path's
// requests, this one included (the site's hitsOf).
func flaky(hits func(path string) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if hits(r.URL.Path) == 1 {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">`)(w, r)
	}
}

// TestRenderURLNavErrors checks retry_on_nav_error (a first request that
// fails is retried and the page renders), continue_on_nav_error (an
// unreachable page is captured, the browser's error page, instead of
// failing; a 500 page renders as it is) and the render deadline
// (global_timeout) ending a page that never answers.
func TestRenderURLNavErrors(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/500": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">oops`))
		},
		"/hang": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		},
	})
	s.handle("/flaky-plain", flaky(s.hitsOf))
	s.handle("/flaky-retry", flaky(s.hitsOf))
	p := localPool(t)
	ctx := context.Background()

	t.Run("retry_on_nav_error", func(t *testing.T) {
		_, err := p.RenderURL(ctx, URLRequest{URL: s.URL + "/flaky-plain", Format: FormatPNG})
		if !errors.Is(err, ErrNavigation) {
			t.Fatalf("without retry: err = %v, want ErrNavigation", err)
		}
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/flaky-retry", Width: 100, Height: 100, RetryOnNavError: true})
		wantPixel(t, img, 50, 50, green)
		if n := s.hitsOf("/flaky-retry"); n != 2 {
			t.Errorf("server saw %d requests, want 2 (the failure and the retry)", n)
		}
	})

	t.Run("continue_on_nav_error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String() + "/"
		ln.Close()
		if _, err := p.RenderURL(ctx, URLRequest{URL: closed, Format: FormatPNG}); !errors.Is(err, ErrNavigation) {
			t.Fatalf("without continue: err = %v, want ErrNavigation", err)
		}
		res, img := renderPNG(t, p, URLRequest{URL: closed, Width: 300, Height: 200, ContinueOnNavError: true})
		if res.Status != 0 {
			t.Errorf("status = %d, want 0 (no answer)", res.Status)
		}
		wantSize(t, img, 300, 200)

		res, img = renderPNG(t, p, URLRequest{URL: s.URL + "/500", Width: 100, Height: 100, ContinueOnNavError: true})
		if res.Status != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", res.Status)
		}
		wantPixel(t, img, 50, 50, blue)
	})

	t.Run("global_timeout", func(t *testing.T) {
		start := time.Now()
		_, err := p.RenderURL(ctx, URLRequest{URL: s.URL + "/hang", Format: FormatPNG, Timeout: time.Second})
		if !errors.Is(err, ErrRenderTimeout) {
			t.Fatalf("err = %v, want ErrRenderTimeout", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the 1 s deadline ended the render after %s", took)
		}
	})
}

// TestRenderURLProxy checks proxy: every request of the render goes
// through the client's proxy with its credentials, and a proxy at a
// forbidden address is refused before anything is fetched.
func TestRenderURLProxy(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/page": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)"><img src="/pixel.png" width="1" height="1">`),
		"/pixel.png": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(solidPNG(t, 1, 1, green))
		},
	})
	const auth = "Basic dXNlcjpwYXNz" // user:pass
	fwd := egresstest.NewForwardProxy(t, auth)
	p := localPool(t)

	proxy := strings.Replace(fwd.URL, "http://", "http://user:pass@", 1)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/page", Width: 100, Height: 100, Proxy: proxy})
	wantPixel(t, img, 50, 50, green)
	targets, auths := fwd.Seen()
	for _, want := range []string{s.URL + "/page", s.URL + "/pixel.png"} {
		if !slices.Contains(targets, want) {
			t.Errorf("the proxy saw %v, not %s", targets, want)
		}
	}
	for _, a := range auths {
		if a != auth {
			t.Errorf("the proxy got Proxy-Authorization %q, want %q", a, auth)
		}
	}

	// Wrong credentials: the render fails, or shows the proxy's 407.
	res, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/page", Format: FormatPNG,
		Proxy: strings.Replace(fwd.URL, "http://", "http://user:nope@", 1)})
	if err == nil && res.Status != http.StatusProxyAuthRequired {
		t.Errorf("wrong proxy credentials: status %d", res.Status)
	}

	before := s.totalHits()
	for _, bad := range []string{"http://169.254.169.254:80", "http://10.0.0.1:3128", "socks5://127.0.0.1:1080", "http://x:1/path"} {
		_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/page", Format: FormatPNG, Proxy: bad})
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "proxy") {
			t.Errorf("proxy %s: err = %v, want ErrBadRequest naming the proxy", bad, err)
		}
	}
	if got := s.totalHits(); got != before {
		t.Errorf("refused proxies fetched %d requests", got-before)
	}
}

// TestRenderURLPlatform checks platform: the page's navigator.platform.
func TestRenderURLPlatform(t *testing.T) {
	p := localPool(t)
	doc := `<!doctype html><body style="margin:0;background:rgb(255,0,0)"><script>
if (navigator.platform === 'MacIntel') document.body.style.background = 'rgb(0,255,0)';</script>`
	_, img := renderPNG(t, p, URLRequest{HTML: doc, Width: 50, Height: 50})
	wantPixel(t, img, 25, 25, red)
	_, img = renderPNG(t, p, URLRequest{HTML: doc, Width: 50, Height: 50, Platform: "MacIntel"})
	wantPixel(t, img, 25, 25, green)
	_, img = renderPNG(t, p, URLRequest{HTML: doc, Width: 50, Height: 50, Platform: "MacIntel", UserAgent: "Mozilla/5.0 (Macintosh)"})
	wantPixel(t, img, 25, 25, green)
}

// FuzzParseProxy: whatever a client sends as proxy, ParseProxy either
// refuses it or returns an http:// proxy with a host and nothing after it,
// whose ProxyAddress carries no credentials.
func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"http://user:pass@proxy.example:3128", "http://127.0.0.1", "socks5://h:1", "http://h:99999",
		"http://[::1]:8080", "http://u@h:1/x?y", "http:///", "http://a b:1", "HTTP://H:1", "http://%zz:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseProxy(raw)
		if err != nil {
			if ProxyAddress(raw) != "" {
				t.Fatalf("ProxyAddress(%q) of a refused proxy is not empty", raw)
			}
			return
		}
		if u.Scheme != "http" || u.Hostname() == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ParseProxy(%q) = %#v", raw, u)
		}
		addr := ProxyAddress(raw)
		if strings.Contains(addr, "@") || strings.ContainsAny(addr, "\r\n ") {
			t.Fatalf("ProxyAddress(%q) = %q", raw, addr)
		}
	})
}

func TestURLRequestNavValidate(t *testing.T) {
	for name, req := range map[string]URLRequest{
		"socks proxy":       {Proxy: "socks5://127.0.0.1:1080"},
		"proxy path":        {Proxy: "http://p.example:3128/x"},
		"proxy port":        {Proxy: "http://p.example:0"},
		"platform newline":  {Platform: "Mac\nIntel"},
		"platform too long": {Platform: strings.Repeat("x", maxPlatformLen+1)},
	} {
		req.URL, req.Format = "http://example.com/", FormatPNG
		if err := req.withDefaults().validate(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: validate = %v, want ErrBadRequest", name, err)
		}
	}
}
