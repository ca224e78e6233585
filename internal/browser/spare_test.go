package browser

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/renderhook/renderhook/internal/egress"
)

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
	ctx, cancel := context.WithTimeout(in.ctx, 5*time.Second)
	defer cancel()
	ids, err := target.GetBrowserContexts().Do(cdp.WithExecutor(ctx, in.browser))
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ids, func(id cdp.BrowserContextID) bool { return tabCtxs[id] })
}

// TestRenderURLSpares: after the first URL render the pool keeps URLSpares
// fresh contexts ready; a render takes one (at another viewport too, which
// it then sets), every context is disposed of after its one render, and a
// spare whose renderer died is never used.
func TestRenderURLSpares(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/blue": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
	})
	p := urlPool(t, netip.MustParseAddr("127.0.0.1"), "127.0.0.0/8")
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
	eventually(t, 10*time.Second, "no browser context left", func() bool { return len(browserContexts(t, p)) == 0 })
	time.Sleep(300 * time.Millisecond)
	if n := len(browserContexts(t, p)); n != 0 {
		t.Errorf("%d browser contexts with spares off, want none", n)
	}
}

// loopbackGuard allows loopback, for pools whose renders are plain HTML.
func loopbackGuard(t *testing.T) *egress.Guard {
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
