package browser

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/renderhook/renderhook/internal/egress"
)

const benchHTML = `<!doctype html><html><head><style>
body{margin:0;font-family:sans-serif;background:#1e3c72;color:#fff}
h1{font-size:72px;margin:80px}p{font-size:32px;margin:0 80px}
</style></head><body><h1>Renderhook</h1><p>HTML in, pixels out.</p></body></html>`

// latencies collects per-op durations and reports their median.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkRender measures one 1200x630 PNG at a time through the pool.
func BenchmarkRender(b *testing.B) {
	p := newPool(b, Config{MaxTabs: 4, Logger: slog.New(slog.DiscardHandler)})
	req := pngRequest(Page{HTML: benchHTML, Width: 1200, Height: 630})
	sequential(b, func(ctx context.Context) error {
		_, err := p.Render(ctx, req)
		return err
	})
}

// BenchmarkRenderManySpaces is BenchmarkRender with each render for the
// next of 8 spaces on 4 tabs, the worst case for per-space tabs: no render
// finds a tab of its space, so every one replaces another space's tab with
// a new tab in a new browser context.
func BenchmarkRenderManySpaces(b *testing.B) {
	p := newPool(b, Config{MaxTabs: 4, Logger: slog.New(slog.DiscardHandler)})
	req := pngRequest(Page{HTML: benchHTML, Width: 1200, Height: 630})
	spaces := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	i := 0
	sequential(b, func(ctx context.Context) error {
		req.SpaceID = spaces[i%len(spaces)]
		i++
		_, err := p.Render(ctx, req)
		return err
	})
}

// sequential runs render once per benchmark iteration and reports the
// median latency.
func sequential(b *testing.B, render func(context.Context) error) {
	ctx := context.Background()
	var lat latencies
	for b.Loop() {
		start := time.Now()
		if err := render(ctx); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(start))
	}
	lat.report(b)
}

// BenchmarkRenderScripted is BenchmarkRender for a page with a script, after
// which the tab is reset (navigated to about:blank) in the background.
func BenchmarkRenderScripted(b *testing.B) {
	p := newPool(b, Config{MaxTabs: 4, Logger: slog.New(slog.DiscardHandler)})
	req := pngRequest(Page{HTML: benchHTML + `<script>document.title = 'x'</script>`, Width: 1200, Height: 630})
	ctx := context.Background()
	var lat latencies
	for b.Loop() {
		start := time.Now()
		if _, err := p.Render(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(start))
	}
	lat.report(b)
}

// BenchmarkRenderParallel measures throughput with 4 renders in flight on 4
// tabs; ns/op is the inverse of throughput.
func BenchmarkRenderParallel(b *testing.B) {
	p := newPool(b, Config{MaxTabs: 4, Logger: slog.New(slog.DiscardHandler)})
	req := pngRequest(Page{HTML: benchHTML, Width: 1200, Height: 630})
	var lat latencies
	runFour(b, func() {
		start := time.Now()
		if _, err := p.Render(context.Background(), req); err != nil {
			b.Error(err)
		}
		lat.add(time.Since(start))
	})
	lat.report(b)
}

// runFour runs b.N calls of f spread over exactly four goroutines.
func runFour(b *testing.B, f func()) {
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				next.Lock()
				if n >= b.N {
					next.Unlock()
					return
				}
				n++
				next.Unlock()
				f()
			}
		})
	}
	wg.Wait()
}

// floorTabs launches a browser with the pool's flags and n warm tabs driven
// by raw chromedp, the baseline the pool is measured against.
func floorTabs(b *testing.B, n int) []context.Context {
	path, err := FindChromium()
	if err != nil {
		b.Skip(err)
	}
	dir, err := os.MkdirTemp("", "renderhook-floor-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// Helpers may still be writing for a moment after the browser exits.
		deadline := time.Now().Add(5 * time.Second)
		for os.RemoveAll(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	// The floor runs as this process's user; Chromium sandboxes only when
	// that is not root (the pool switches to ChromiumUser first).
	opts := append(allocatorOptions(path, dir, nil, os.Geteuid() == 0), chromedp.Env("TMPDIR="+dir))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	b.Cleanup(cancelBrowser)
	if err := chromedp.Run(bctx); err != nil {
		b.Fatal(err)
	}
	tabs := make([]context.Context, n)
	for i := range tabs {
		// Own window per tab: see instance.newTab.
		id, err := target.CreateTarget("about:blank").WithNewWindow(true).Do(cdp.WithExecutor(bctx, chromedp.FromContext(bctx).Browser))
		if err != nil {
			b.Fatal(err)
		}
		tctx, _ := chromedp.NewContext(bctx, chromedp.WithTargetID(id))
		if err := chromedp.Run(tctx, emulation.SetDeviceMetricsOverride(1200, 630, 1, false)); err != nil {
			b.Fatal(err)
		}
		tabs[i] = tctx
	}
	return tabs
}

func floorRender(b *testing.B, tctx context.Context) {
	err := chromedp.Run(tctx, chromedp.ActionFunc(func(ctx context.Context) error {
		frameID := chromedp.FromContext(ctx).Target.TargetID
		if err := page.SetDocumentContent(cdp.FrameID(frameID), benchHTML).Do(ctx); err != nil {
			return err
		}
		_, err := page.CaptureScreenshot().Do(ctx)
		return err
	}))
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkFloor is the raw chromedp baseline for BenchmarkRender.
func BenchmarkFloor(b *testing.B) {
	tabs := floorTabs(b, 4)
	var lat latencies
	i := 0
	for b.Loop() {
		start := time.Now()
		floorRender(b, tabs[i%len(tabs)])
		lat.add(time.Since(start))
		i++
	}
	lat.report(b)
}

// BenchmarkFloorParallel is the raw chromedp baseline for
// BenchmarkRenderParallel.
func BenchmarkFloorParallel(b *testing.B) {
	tabs := floorTabs(b, 4)
	free := make(chan context.Context, len(tabs))
	for _, t := range tabs {
		free <- t
	}
	var lat latencies
	runFour(b, func() {
		t := <-free
		start := time.Now()
		floorRender(b, t)
		lat.add(time.Since(start))
		free <- t
	})
	lat.report(b)
}

// BenchmarkScripted measures the script check on a 1 MB page.
func BenchmarkScripted(b *testing.B) {
	req := Request{Pages: []Page{{HTML: strings.Repeat(`<div class="row"><span style="color:red">content=one</span></div>`, 1<<20/64)}}}
	b.SetBytes(int64(len(req.Pages[0].HTML)))
	for b.Loop() {
		if req.scripted() {
			b.Fatal("static page judged scripted")
		}
	}
}

// BenchmarkRenderURLHTML measures one 1200x630 PNG of a client's HTML at a
// time through RenderURL: a fresh incognito context behind the egress
// proxy per render (the v1 API's path), against BenchmarkFloor; with no
// spare contexts and with the default two.
func BenchmarkRenderURLHTML(b *testing.B) {
	for _, spares := range []int{-1, 0} {
		name := "spares=default"
		if spares < 0 {
			name = "spares=none"
		}
		b.Run(name, func(b *testing.B) {
			p := newPool(b, Config{MaxTabs: 4, Egress: benchGuard(b), Logger: slog.New(slog.DiscardHandler), URLSpares: spares})
			req := URLRequest{HTML: benchHTML, Width: 1200, Height: 630, Format: FormatPNG}
			sequential(b, func(ctx context.Context) error {
				_, err := p.RenderURL(ctx, req)
				return err
			})
		})
	}
}

func benchGuard(b *testing.B) *egress.Guard {
	g, err := egress.New(egress.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkRenderFlood measures a calm space's sequential renders while
// another space keeps 12 clients rendering on the 4 tabs (issue 15's
// fairness case): p50-ms under the flood, idle-p50-ms for the same renders
// before it, and x-idle, their ratio (target ≤ 2).
// The scripted case has a script in every page, so each tab is reset after
// its render.
func BenchmarkRenderFlood(b *testing.B) {
	b.Run("plain", func(b *testing.B) { flood(b, benchHTML) })
	b.Run("scripted", func(b *testing.B) { flood(b, benchHTML+`<script>document.title = 'x'</script>`) })
}

func flood(b *testing.B, html string) {
	p := newPool(b, Config{MaxTabs: 4, Logger: slog.New(slog.DiscardHandler)})
	calm := pngRequest(Page{HTML: html, Width: 1200, Height: 630})
	calm.SpaceID = "calm"
	ctx := context.Background()
	renderCalm := func() time.Duration {
		start := time.Now()
		if _, err := p.Render(ctx, calm); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var idle latencies
	for range 5 { // warm the calm space's tab
		renderCalm()
	}
	for range 20 {
		idle.add(renderCalm())
	}

	flood := calm
	flood.SpaceID = "flood"
	floodCtx, stop := context.WithCancel(ctx)
	var clients sync.WaitGroup
	for range 12 {
		clients.Go(func() {
			for floodCtx.Err() == nil {
				if _, err := p.Render(floodCtx, flood); err != nil && floodCtx.Err() == nil {
					b.Error(err)
					return
				}
			}
		})
	}
	eventually := time.Now().Add(10 * time.Second)
	for p.Stats().Queued < 8 && time.Now().Before(eventually) {
		time.Sleep(10 * time.Millisecond)
	}
	var busy latencies
	b.ResetTimer()
	for b.Loop() {
		busy.add(renderCalm())
	}
	b.StopTimer()
	stop()
	clients.Wait()

	slices.Sort(idle.d)
	slices.Sort(busy.d)
	idleP50, busyP50 := idle.d[len(idle.d)/2], busy.d[len(busy.d)/2]
	b.ReportMetric(float64(idleP50.Microseconds())/1000, "idle-p50-ms")
	b.ReportMetric(float64(busyP50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(busyP50)/float64(idleP50), "x-idle")
}
