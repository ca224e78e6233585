package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"

	"github.com/renderhook/renderhook/internal/egress"
)

// TemplatePool renders templates (Render) in the current browser's MaxTabs
// warm tabs. Each tab has a browser context of its own and serves one space:
// a render takes its space's tab used last, else a tab no space has used,
// else waits for its space's tab being reset after a script, else replaces
// the tab of another space idle longest with a new tab in a new context
// (pickLocked, rehome). It shares admission and render slots with the
// URLRenderer (slots.go) and the browser with it (supervisor.go).
type TemplatePool struct {
	cfg   Config
	log   *slog.Logger
	sup   *supervisor
	slots *scheduler
	stats *counters
	bg    sync.WaitGroup // tab replacements and resets

	// proxy is the proxy template renders' requests go through (see
	// Config.Egress); nil without a guard. Made by Start, closed by Stop.
	proxy *egress.Proxy

	// mu guards the fields below. It may be held while calling the
	// supervisor (claim), never the other way round.
	mu sync.Mutex
	// cur is the browser whose tabs are in idle: the supervisor's current
	// one once install has run for it.
	cur *instance
	// idle holds warm tabs of cur, longest idle first (its length is
	// published in counters.idle).
	idle []*tab
	// tabFreed is closed and replaced whenever a tab joins idle.
	tabFreed chan struct{}
	// resetting counts the tabs being reset after a scripted render, by
	// browser and the space they serve (see pickLocked).
	resetting map[resetKey]int
}

// resetKey names the tabs of one space in one browser.
type resetKey struct {
	in    *instance
	space string
}

func newTemplatePool(cfg Config, sup *supervisor, slots *scheduler, stats *counters) *TemplatePool {
	return &TemplatePool{cfg: cfg, log: sup.log, sup: sup, slots: slots, stats: stats,
		idle: make([]*tab, 0, cfg.MaxTabs), tabFreed: make(chan struct{}), resetting: make(map[resetKey]int)}
}

// startProxy makes the template egress proxy, once, and returns its URL
// for the browser's --proxy-server; "" without a guard.
func (tp *TemplatePool) startProxy() (string, error) {
	if tp.cfg.Egress == nil {
		return "", nil
	}
	if tp.proxy == nil {
		proxy, err := egress.NewProxy(egress.ProxyConfig{
			Guard: tp.cfg.Egress,
			OnRefused: func(hostport string, err error) {
				tp.log.Info("template page request refused by the egress policy", "destination", hostport, "err", err)
			},
			Logger: tp.log,
		})
		if err != nil {
			return "", fmt.Errorf("make template egress proxy: %w", err)
		}
		tp.proxy = proxy
	}
	return "http://" + tp.proxy.Addr(), nil
}

// closeProxy closes the template egress proxy, at the end of Stop.
func (tp *TemplatePool) closeProxy() {
	if tp.proxy == nil {
		return
	}
	if err := tp.proxy.Close(); err != nil {
		tp.log.Warn("close template egress proxy", "err", err)
	}
}

// Render renders req in a warm tab. It fails at once with ErrQueueFull when
// MaxTabs renders run and QueueSize more wait; otherwise it waits for a tab
// as long as ctx allows. Errors wrap ErrBadRequest, ErrQueueFull,
// ErrRenderTimeout, ErrBrowserCrashed or ErrStopped, or are ctx's error.
func (tp *TemplatePool) Render(ctx context.Context, req Request) (*Result, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	done, err := tp.slots.enter(ctx, req.SpaceID, "render")
	if err != nil {
		return nil, err
	}
	defer done()

	start := time.Now()
	t, err := tp.acquire(ctx, req.SpaceID)
	if err != nil {
		return nil, err
	}
	got := time.Now()
	if req, err = req.build(ctx, tp.cfg.RenderTimeout); err != nil {
		tp.release(t, req.SpaceID, false, false) // the tab was not used
		return nil, err
	}
	scripted := req.scripted()
	data, err := t.render(ctx, req, scripted, tp.cfg.RenderTimeout)
	took := time.Since(got)
	tp.release(t, req.SpaceID, err != nil, scripted)
	if err != nil {
		return nil, tp.sup.stoppedOr(err)
	}
	tp.stats.renders.Add(1)
	return &Result{
		Data:        data,
		ContentType: req.Format.ContentType(),
		QueueWait:   got.Sub(start),
		RenderTime:  took,
	}, nil
}

// acquire takes a render slot (see slots.go) and then a tab of the current
// browser for space, waiting for a relaunch if needed (at most StartTimeout
// after the browser went down).
func (tp *TemplatePool) acquire(ctx context.Context, space string) (*tab, error) {
	if err := tp.slots.takeSlot(ctx, space); err != nil {
		return nil, err
	}
	t, err := tp.takeTab(ctx, space)
	if err != nil {
		tp.slots.releaseSlot(space)
		return nil, err
	}
	return t, nil
}

// takeTab waits for an idle tab (see pickLocked), claims it for a render of
// space, and replaces it first if it served another space.
func (tp *TemplatePool) takeTab(ctx context.Context, space string) (*tab, error) {
	var w downWait
	defer w.stop()
	for {
		tp.mu.Lock()
		if !tp.sup.running() {
			tp.mu.Unlock()
			return nil, ErrStopped
		}
		if t, other := tp.pickLocked(space); t != nil {
			tp.mu.Unlock()
			tp.stats.busy.Add(1)
			if other {
				return tp.rehome(t, space)
			}
			return t, nil
		}
		freed := tp.tabFreed
		_, changed, down, err := tp.sup.watch(&w, false)
		tp.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if err := tp.sup.await(ctx, "a tab", changed, down, freed); err != nil {
			return nil, err
		}
	}
}

// pickLocked takes the idle tab a render of space should use, or nil to
// wait: the space's own tab that was used last (its cache is warmest), else
// a tab no space has used yet, else nil while a tab of the space is being
// reset (it is back within milliseconds, sooner than a replacement is
// made), else the tab of another space that has been idle longest, which
// the caller must not use as it is (other is true; see rehome). The tab's
// browser is claimed for the render (supervisor.claim). Idle tabs all
// belong to cur (install empties idle, and only tabs of cur join it); while
// cur is down, dead or no longer the supervisor's current browser, nothing
// is picked.
func (tp *TemplatePool) pickLocked(space string) (t *tab, other bool) {
	if tp.cur == nil || !tp.cur.alive() || len(tp.idle) == 0 {
		return nil, false
	}
	pick, fresh := -1, -1
	for i, c := range tp.idle {
		switch {
		case c.assigned && c.space == space:
			pick = i
		case !c.assigned && fresh < 0:
			fresh = i
		}
	}
	switch {
	case pick >= 0:
	case fresh >= 0:
		pick = fresh
	case tp.resetting[resetKey{tp.cur, space}] > 0:
		return nil, false
	default:
		pick, other = 0, true
	}
	if !tp.sup.claim(tp.cur) {
		// Replaced (or stopped): install brings the next browser's tabs
		// and closes tabFreed.
		return nil, false
	}
	t = tp.idle[pick]
	tp.setIdleLocked(slices.Delete(tp.idle, pick, pick+1))
	if !t.assigned {
		t.space, t.assigned = space, true
	}
	return t, other
}

// setIdleLocked replaces the idle set and publishes its size.
func (tp *TemplatePool) setIdleLocked(idle []*tab) {
	tp.idle = idle
	tp.stats.idle.Store(int64(len(idle)))
}

// rehome serves a render of space with the claimed tab old of another space:
// old is closed with its browser context (in the background), and the render
// gets a new tab in a new context. If that cannot be opened the browser is
// considered broken and killed, as replaceTab does, and the render fails
// with ErrBrowserCrashed (ErrStopped once stopped).
func (tp *TemplatePool) rehome(old *tab, space string) (*tab, error) {
	in := old.inst
	tp.bg.Go(old.close)
	ctx, cancel := context.WithTimeout(tp.sup.lifeCtx, tp.cfg.StartTimeout)
	t, err := in.newTab(ctx)
	cancel()
	if err == nil {
		t.space, t.assigned = space, true
		return t, nil
	}
	in.tabs.Add(-1)
	tp.stats.busy.Add(-1)
	stopped := !tp.sup.running()
	if !stopped && in.alive() && !in.closing.Load() {
		in.log.Error("open a tab for another space failed; killing browser", "err", err)
		in.kill()
	}
	tp.sup.release(in)
	if stopped {
		return nil, ErrStopped
	}
	return nil, fmt.Errorf("open a tab for the render: %w (%v)", ErrBrowserCrashed, err)
}

// release returns t after a render. A tab whose render failed may be hung or
// half-loaded, so it is closed and replaced; a tab that ran script is reset
// first (see resetTab). Both happen in the background, after Render returns.
// A tab that ran no script is reused as it is: the next setDocumentContent
// replaces everything the page had.
func (tp *TemplatePool) release(t *tab, space string, failed, ranScript bool) {
	in := t.inst
	tp.stats.busy.Add(-1)
	tp.mu.Lock()
	if tp.sup.running() && in == tp.cur && in.alive() {
		switch {
		case failed:
			tp.bg.Add(1)
			go tp.replaceTab(t)
		case ranScript:
			tp.resetting[resetKey{in, t.space}]++
			tp.bg.Add(1)
			go tp.resetTab(t)
		default:
			tp.pushIdleLocked(t)
		}
	}
	tp.mu.Unlock()
	tp.sup.release(in)
	tp.slots.releaseSlot(space)
}

// pushIdleLocked makes t available to renders. tp.idle holds at most the
// current browser's tabs, MaxTabs.
func (tp *TemplatePool) pushIdleLocked(t *tab) {
	if len(tp.idle) >= tp.cfg.MaxTabs {
		tp.log.Error("more idle tabs than MaxTabs; closing tab", "gen", t.inst.gen)
		t.inst.tabs.Add(-1)
		tp.bg.Go(t.close)
		return
	}
	tp.setIdleLocked(append(tp.idle, t))
	close(tp.tabFreed)
	tp.tabFreed = make(chan struct{})
}

// resetTab clears what a scripted render left in t, then returns it to the
// idle set. setDocumentContent alone is not enough: it keeps the window, so
// the page's globals, timers and listeners would run on into the next render
// (and could read or alter it). Navigating to about:blank gives a fresh
// window. It is done off the caller's path but costs Chromium CPU (tearing
// down and creating a document), hence only after pages that ran script.
func (tp *TemplatePool) resetTab(t *tab) {
	ctx, cancel := context.WithTimeout(t.ctx, tp.cfg.RenderTimeout)
	_, _, errText, _, err := page.Navigate("about:blank").Do(cdp.WithExecutor(ctx, t.target))
	cancel()
	if err == nil && errText != "" {
		err = errors.New(errText)
	}
	tp.mu.Lock()
	key := resetKey{t.inst, t.space}
	if tp.resetting[key]--; tp.resetting[key] == 0 {
		delete(tp.resetting, key)
	}
	if err != nil {
		tp.mu.Unlock()
		if t.inst.alive() {
			t.inst.log.Warn("reset tab failed; replacing it", "err", err)
		}
		tp.replaceTab(t) // takes over our bg count
		return
	}
	defer tp.bg.Done()
	defer tp.mu.Unlock()
	if tp.sup.running() && t.inst == tp.cur && t.inst.alive() {
		tp.pushIdleLocked(t)
	}
}

// replaceTab closes a tab whose render failed and opens a fresh one in the
// same browser. If that fails the browser is considered broken and killed, so
// the supervisor relaunches it.
func (tp *TemplatePool) replaceTab(old *tab) {
	defer tp.bg.Done()
	in := old.inst
	old.close()
	ctx, cancel := context.WithTimeout(tp.sup.lifeCtx, tp.cfg.StartTimeout)
	t, err := in.newTab(ctx)
	cancel()

	tp.mu.Lock()
	defer tp.mu.Unlock()
	switch {
	case err != nil:
		in.tabs.Add(-1)
		if tp.sup.running() && in.alive() && !in.closing.Load() {
			in.log.Error("replace tab failed; killing browser", "err", err)
			in.kill()
		}
	case tp.sup.running() && in == tp.cur && in.alive():
		tp.pushIdleLocked(t)
	default:
		in.tabs.Add(-1)
		tp.bg.Go(t.close)
	}
}

// install makes in's warm tabs the idle set, dropping those of the previous
// browser (which the supervisor shuts down once its renders are out).
func (tp *TemplatePool) install(in *instance) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.cur = in
	clear(tp.idle)
	tp.setIdleLocked(tp.idle[:0])
	for _, t := range in.warm {
		tp.pushIdleLocked(t)
	}
	in.warm = nil
	// Wake renders waiting for tabs even if in brought none.
	close(tp.tabFreed)
	tp.tabFreed = make(chan struct{})
}
