package browser

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRenderSpacesIsolated: what a template render of one space leaves in
// the browser (a cookie its image response set, an image in the HTTP
// cache) is seen by later renders of that space and by no other space's,
// whether the other space gets a fresh tab or one that served another
// space before. The page's requests go through the template proxy, as in
// production.
func TestRenderSpacesIsolated(t *testing.T) {
	var mu sync.Mutex
	cookies := make(map[string]string) // probe name -> Cookie header it carried
	cachedFetches := 0
	img := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(solidPNG(t, 4, 4, green))
	}
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		// SameSite=None (Secure is allowed on loopback) so the cookie is
		// set and sent from a template page, whose origin is opaque.
		"/set.png": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "sid="+r.URL.Query().Get("space")+"; Path=/; SameSite=None; Secure")
			img(w)
		},
		"/probe.png": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			cookies[r.URL.Query().Get("name")] = r.Header.Get("Cookie")
			mu.Unlock()
			img(w)
		},
		"/cached.png": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			cachedFetches++
			mu.Unlock()
			w.Header().Set("Cache-Control", "public, max-age=3600")
			img(w)
		},
	})
	p := newPool(t, Config{MaxTabs: 2, Egress: loopbackGuard(t)})
	render := func(space string, srcs ...string) {
		t.Helper()
		var b strings.Builder
		b.WriteString(`<body style="margin:0">`)
		for _, src := range srcs {
			fmt.Fprintf(&b, `<img src="%s%s">`, s.URL, src)
		}
		req := pngRequest(Page{HTML: b.String(), Width: 40, Height: 20})
		req.SpaceID = space
		if _, err := p.Render(context.Background(), req); err != nil {
			t.Fatalf("render of space %s: %v", space, err)
		}
	}
	probe := func(space, name string) (cookie string, fetched bool) {
		t.Helper()
		mu.Lock()
		before := cachedFetches
		mu.Unlock()
		render(space, "/probe.png?name="+name, "/cached.png")
		mu.Lock()
		defer mu.Unlock()
		c, ok := cookies[name]
		if !ok {
			t.Fatalf("probe %s never reached the server", name)
		}
		return c, cachedFetches > before
	}

	render("A", "/set.png?space=A", "/cached.png")
	if cachedFetches != 1 {
		t.Fatalf("cached image fetched %d times by space A's first render, want 1", cachedFetches)
	}

	// A second space, on the tab no space has used yet.
	if c, fetched := probe("B", "b1"); c != "" || !fetched {
		t.Errorf("space B's first render: sent cookie %q (want none), fetched the cached image: %v (want true: A's cache is not B's)", c, fetched)
	}
	// The same space still has its cookie and its cache.
	if c, fetched := probe("A", "a1"); c != "sid=A" || fetched {
		t.Errorf("space A's second render: sent cookie %q (want sid=A), fetched the cached image: %v (want false)", c, fetched)
	}
	// A third space, with no fresh tab left: it gets a new tab in place of
	// the one idle longest (B's).
	if c, fetched := probe("C", "c1"); c != "" || !fetched {
		t.Errorf("space C's render: sent cookie %q (want none), fetched the cached image: %v (want true)", c, fetched)
	}
	// B's tab is gone; B now takes the place of A's and sees none of A's.
	if c, fetched := probe("B", "b2"); c != "" || !fetched {
		t.Errorf("space B's second render: sent cookie %q (want none), fetched the cached image: %v (want true)", c, fetched)
	}
	if st := p.Stats(); st.Tabs != 2 {
		t.Errorf("Stats().Tabs = %d after tabs changed spaces, want 2", st.Tabs)
	}
}

// TestRenderSpacesConcurrent: many spaces rendering at once on few tabs each
// get their own page, the pool keeps MaxTabs tabs, and the browser
// contexts of replaced tabs are disposed of (one context per tab is left).
func TestRenderSpacesConcurrent(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 2})
	colours := []string{"rgb(255,0,0)", "rgb(0,255,0)", "rgb(0,0,255)"}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Go(func() {
			space := fmt.Sprintf("space-%d", i%6)
			bg := colours[i%len(colours)]
			req := pngRequest(colourPage(bg, 30, 20))
			req.SpaceID = space
			res, err := p.Render(context.Background(), req)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", space, err)
				return
			}
			var want [3]uint8
			if _, err := fmt.Sscanf(bg, "rgb(%d,%d,%d)", &want[0], &want[1], &want[2]); err != nil {
				errs <- fmt.Errorf("%s: colour %q: %w", space, bg, err)
				return
			}
			img := decodePNG(t, res.Data)
			if got := pixelAt(img, 29, 19); got.R != want[0] || got.G != want[1] || got.B != want[2] {
				errs <- fmt.Errorf("%s: pixel %v, want %s", space, got, bg)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	eventually(t, 10*time.Second, "two idle tabs in two browser contexts", func() bool {
		p.tpl.mu.Lock()
		in, idle := p.tpl.cur, len(p.tpl.idle)
		p.tpl.mu.Unlock()
		return idle == 2 && len(allBrowserContexts(t, in)) == 2 && p.Stats().Tabs == 2
	})
}

// TestRenderWaitsForOwnTabReset: a render whose space's tab is being reset
// (after a scripted render) waits for it rather than replacing another
// space's idle tab. The reset is held open by the test: it takes the tab
// out of the idle set and counts it as resetting, as release does.
func TestRenderWaitsForOwnTabReset(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 2})
	render := func(space string) error {
		req := pngRequest(colourPage("red", 10, 10))
		req.SpaceID = space
		_, err := p.Render(context.Background(), req)
		return err
	}
	for _, space := range []string{"A", "B"} {
		if err := render(space); err != nil {
			t.Fatal(err)
		}
	}
	p.tpl.mu.Lock()
	var aTab, bTab *tab
	for _, tb := range p.tpl.idle {
		switch tb.space {
		case "A":
			aTab = tb
		case "B":
			bTab = tb
		}
	}
	if aTab == nil || bTab == nil {
		p.tpl.mu.Unlock()
		t.Fatal("no idle tab of A and of B after a render of each")
	}
	p.tpl.setIdleLocked(slices.DeleteFunc(p.tpl.idle, func(tb *tab) bool { return tb == aTab }))
	aKey := resetKey{p.tpl.cur, "A"}
	p.tpl.resetting[aKey]++
	p.tpl.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- render("A") }()
	eventually(t, 10*time.Second, "A's render to wait for its tab", func() bool {
		p.slots.mu.Lock()
		defer p.slots.mu.Unlock()
		return p.slots.running == 1 && p.Stats().Busy == 0
	})
	p.tpl.mu.Lock()
	kept := slices.Contains(p.tpl.idle, bTab)
	p.tpl.resetting[aKey]--
	p.tpl.pushIdleLocked(aTab)
	p.tpl.mu.Unlock()
	if !kept {
		t.Error("B's idle tab was taken while A's was resetting")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.tpl.mu.Lock()
	defer p.tpl.mu.Unlock()
	if !slices.Contains(p.tpl.idle, aTab) || !slices.Contains(p.tpl.idle, bTab) {
		t.Error("A's render did not run in A's tab, or B's tab is gone")
	}
}
