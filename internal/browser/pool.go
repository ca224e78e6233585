// Package browser renders HTML to PNG, JPEG, WebP and PDF in headless
// Chromium.
//
// A Pool runs one supervised Chromium process (supervisor.go, instance.go)
// shared by two parts, each with a lock of its own:
//
//   - TemplatePool (template.go) keeps a fixed number of warm tabs. A render
//     borrows a tab, replaces its document with Page.setDocumentContent (no
//     navigation, no new tab), waits for images, stylesheets and fonts, and
//     captures; a tab that fails or times out is replaced.
//   - URLRenderer (urlrender.go, spare.go) renders a client's URL or HTML in
//     a fresh incognito browser context behind an egress proxy of its own,
//     with a few such contexts made ahead of requests.
//
// Both go through one admission count and one set of render slots served
// round-robin across spaces (slots.go), so concurrency and queue length are
// capped for the two together. The supervisor relaunches the browser if it
// crashes and swaps in a fresh one every RecycleAfter renders.
//
// Pages are kept apart: a page that cannot run script (see mayRunScript) is
// rendered with JavaScript off, and a tab that ran script is navigated to
// about:blank before reuse, because setDocumentContent keeps the window and so
// the page's timers and globals. Spaces are kept apart too: every warm tab
// has a browser context (cookie jar, storage, HTTP cache) of its own and
// serves one space only (Request.SpaceID); a render of another space that
// finds no tab of its own takes a fresh one, or replaces the tab of another
// space that has been idle longest with a new tab in a new context.
package browser

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of the pool for metrics and health checks. It is read
// from atomic counters, so taking it never waits for a render.
type Stats struct {
	Tabs int // live warm tabs in the current browser
	Busy int // renders holding a tab or, for URL renders, a render slot
	Idle int // warm tabs ready for a render
	// Queued is renders admitted and waiting for a tab or a slot.
	Queued int
	// Spares is fresh browser contexts made ahead of URL renders and ready.
	Spares int
	// Renders is renders (template and URL) completed successfully.
	Renders uint64
	// Restarts is browser relaunches, after a crash or a recycle.
	Restarts uint64
	// Crashes is how often the browser died on its own (or was killed for
	// not answering); each is followed by a relaunch, counted in Restarts
	// once it succeeds.
	Crashes uint64
	// Recycles is browsers replaced after RecycleAfter renders.
	Recycles uint64
	// Background is URL-render work still going on after the answers:
	// spare contexts being made and used contexts being disposed of.
	Background int
}

// counters are the figures Stats reports, kept in atomics by the parts that
// change them, so a metrics scrape during a render storm takes no lock.
type counters struct {
	admitted   atomic.Int64 // renders inside Render or RenderURL past validation
	busy       atomic.Int64 // renders holding a tab (or a URL render's slot)
	idle       atomic.Int64 // len(TemplatePool.idle)
	spares     atomic.Int64 // len(URLRenderer.spares)
	background atomic.Int64 // URLRenderer.making + URLRenderer.disposing
	renders    atomic.Uint64
	restarts   atomic.Uint64
	crashes    atomic.Uint64
	recycles   atomic.Uint64
}

// Pool is the browser: one supervised Chromium process serving template
// renders (Render, by its TemplatePool) and URL renders (RenderURL, by its
// URLRenderer). Create it with New, then Start it; it is safe for concurrent
// use.
type Pool struct {
	cfg   Config
	stats *counters
	sup   *supervisor
	slots *scheduler
	tpl   *TemplatePool
	url   *URLRenderer
}

// New validates cfg and returns a pool that is not started yet.
func New(cfg Config) (*Pool, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configure browser pool: %w", err)
	}
	if cfg.ChromiumPath == "" {
		path, err := FindChromium()
		if err != nil {
			return nil, fmt.Errorf("configure browser pool: %w", err)
		}
		cfg.ChromiumPath = path
	} else if _, err := exec.LookPath(cfg.ChromiumPath); err != nil {
		return nil, fmt.Errorf("configure browser pool: chromium: %w", err)
	}
	cfg.sandbox = &sandboxState{}
	p := &Pool{cfg: cfg, stats: &counters{}}
	p.sup = newSupervisor(cfg, p.stats)
	p.slots = newScheduler(cfg, p.sup, p.stats)
	p.tpl = newTemplatePool(cfg, p.sup, p.slots, p.stats)
	p.url = newURLRenderer(cfg, p.sup, p.slots, p.stats)
	p.sup.installURLs, p.sup.installTemplates = p.url.install, p.tpl.install
	return p, nil
}

// Templates is the part of the pool that renders templates in warm tabs.
func (p *Pool) Templates() *TemplatePool { return p.tpl }

// URLs is the part of the pool that renders clients' URLs and HTML.
func (p *Pool) URLs() *URLRenderer { return p.url }

// Render renders req in a warm tab; see TemplatePool.Render.
func (p *Pool) Render(ctx context.Context, req Request) (*Result, error) {
	return p.tpl.Render(ctx, req)
}

// RenderURL renders a client's URL or HTML in a fresh browser context; see
// URLRenderer.RenderURL.
func (p *Pool) RenderURL(ctx context.Context, req URLRequest) (*URLResult, error) {
	return p.url.RenderURL(ctx, req)
}

// Start launches the browser and opens MaxTabs warm tabs. The pool is ready
// for renders when it returns nil. A failed Start may be retried.
func (p *Pool) Start(ctx context.Context) error {
	gen, err := p.sup.beginStart()
	if err != nil {
		return err
	}
	proxyURL, err := p.tpl.startProxy()
	if err != nil {
		p.sup.abortStart()
		return fmt.Errorf("start browser pool: %w", err)
	}
	if proxyURL != "" && p.sup.cfg.tabProxy == "" {
		// Set before any launch reads the config; later launches
		// (recycling, relaunch) use the same proxy. "<-loopback>" removes
		// Chromium's implicit bypass of localhost.
		p.sup.cfg.tabProxy = proxyURL
		p.sup.cfg.ExtraFlags = append(slices.Clone(p.sup.cfg.ExtraFlags),
			"--proxy-server="+proxyURL, "--proxy-bypass-list=<-loopback>")
	}
	return p.sup.start(ctx, gen)
}

// Stop closes the tabs and the browser and kills whatever is left of its
// process group. Renders in flight fail with ErrStopped, later ones too. Stop
// waits for that cleanup until ctx is done.
func (p *Pool) Stop(ctx context.Context) error {
	if !p.sup.beginStop() {
		return nil
	}
	p.url.stop()
	p.slots.stop()
	// No spare is started once stopped; those being made finish first (see
	// makeSpare), then find the pool stopped and dispose of themselves.
	sparesErr := waitFor(ctx, "spare contexts being made", &p.url.making)
	superOn := p.sup.halt()
	if sparesErr != nil {
		return sparesErr
	}
	if err := p.sup.stop(ctx, superOn); err != nil {
		return err
	}
	if err := waitFor(ctx, "renders", &p.slots.active); err != nil {
		return err
	}
	for _, bg := range []*sync.WaitGroup{&p.tpl.bg, &p.url.bg, &p.sup.bg} {
		if err := waitFor(ctx, "background work", bg); err != nil {
			return err
		}
	}
	p.tpl.closeProxy()
	return nil
}

// waitFor waits for wg until ctx is done.
func waitFor(ctx context.Context, what string, wg *sync.WaitGroup) error {
	return waitChan(ctx, what, waitDone(wg))
}

// waitChan waits for done until ctx is done.
func waitChan(ctx context.Context, what string, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop browser pool: wait for %s: %w", what, ctx.Err())
	}
}

func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// Ready reports whether a live browser with warm tabs is serving renders.
func (p *Pool) Ready() bool {
	in := p.sup.current()
	return p.sup.running() && in != nil && in.alive() && in.tabs.Load() > 0
}

// BrowserPID returns the pid of the current Chromium process, or 0 if none is
// running. It takes no lock, so metrics can read the process tree's memory
// while renders run.
func (p *Pool) BrowserPID() int {
	if in := p.sup.current(); in != nil {
		return in.pid
	}
	return 0
}

// Version returns the product string of the current browser as reported by
// Browser.getVersion, such as "Chrome/156.0.8078.79", or "" if none is
// running.
func (p *Pool) Version() string {
	if in := p.sup.current(); in != nil {
		return in.version
	}
	return ""
}

// Stats returns a snapshot of the pool's counters. It takes no lock: a
// scrape never waits for renders, and renders never wait for a scrape. The
// figures are read one by one, so two of them may be a render apart.
func (p *Pool) Stats() Stats {
	s := p.stats
	busy := int(s.busy.Load())
	st := Stats{
		Busy:       busy,
		Idle:       int(s.idle.Load()),
		Queued:     max(int(s.admitted.Load())-busy, 0),
		Spares:     int(s.spares.Load()),
		Renders:    s.renders.Load(),
		Restarts:   s.restarts.Load(),
		Crashes:    s.crashes.Load(),
		Recycles:   s.recycles.Load(),
		Background: int(s.background.Load()),
	}
	if in := p.sup.current(); in != nil {
		st.Tabs = int(in.tabs.Load())
	}
	return st
}
