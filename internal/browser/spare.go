package browser

import (
	"context"
	"time"
)

// Spare contexts.
//
// Making a URL render's fresh incognito context, its proxy and window, and
// attaching to it takes 50–100 ms of round trips to the browser while a new
// renderer process starts. None of that depends on the request, so the pool
// URLRenderer keeps Config.URLSpares contexts made ahead of time: a render takes one,
// loads and captures, and a replacement is made in the background. Each
// spare is still used by exactly one render and disposed of afterwards, so
// nothing crosses renders.
//
// What spares cannot hide is CPU: a context's renderer process costs about
// 80 ms of CPU to start and tear down, twice a warm-tab render's, so when
// renders arrive back to back on a small machine, making the next spare
// competes with the current render.
//
// Spares are made only once the renderer has done a URL render (a server that
// only renders templates keeps none), at the viewport of the latest URL
// render (clients tend to repeat theirs; another size costs one
// Emulation.setDeviceMetricsOverride). A spare belongs to one browser: when
// the browser is replaced, its spares are disposed of and new ones made in
// the next.

// spareSetupTimeout bounds making one spare.
const spareSetupTimeout = 10 * time.Second

// takeSpare returns a ready spare of browser in for req, or nil, and
// records req's viewport as the one to prepare the next spares at.
func (u *URLRenderer) takeSpare(in *instance, req URLRequest) *urlRun {
	u.mu.Lock()
	defer u.mu.Unlock()
	v := req.viewport()
	u.spareViewport = &v
	for len(u.spares) > 0 {
		r := u.spares[0]
		u.spares = u.spares[1:]
		r.mu.Lock()
		crashed := r.crashed
		r.mu.Unlock()
		if r.in == in && !crashed && in.alive() {
			u.stats.spares.Store(int64(len(u.spares)))
			return r
		}
		u.discardLocked(r)
	}
	u.stats.spares.Store(int64(len(u.spares)))
	return nil
}

// refillSparesLocked starts making spares in browser in until URLSpares are
// ready or on their way.
func (u *URLRenderer) refillSparesLocked(in *instance) {
	n := max(u.cfg.URLSpares, 0) - len(u.spares) - u.sparesMaking
	if n <= 0 || !u.sup.running() || !u.sup.isCurrent(in) || !in.alive() || u.spareViewport == nil {
		return
	}
	u.sparesMaking += n
	u.stats.background.Add(int64(n))
	v := *u.spareViewport
	u.making.Add(n)
	for range n {
		go u.makeSpare(in, v)
	}
}

// makeSpare makes one spare in browser in and adds it to the ready ones,
// or disposes of it if the browser is no longer current.
//
// Its context is not Stop's to cancel: cancelling chromedp's tab context
// while chromedp attaches to the tab races inside chromedp (its context
// goroutine reads Context.Target as the attach sets it), so Stop waits for
// spares being made, which takes tens of milliseconds, before it closes
// anything.
func (u *URLRenderer) makeSpare(in *instance, v viewport) {
	defer u.making.Done()
	r := newURLRun(u, in)
	ctx, cancel := context.WithTimeout(context.Background(), spareSetupTimeout)
	err := r.setup(ctx, &v)
	cancel()
	u.mu.Lock()
	u.sparesMaking--
	u.stats.background.Add(-1)
	keep := err == nil && u.sup.running() && u.sup.isCurrent(in) && in.alive()
	if keep {
		u.spares = append(u.spares, r)
		u.stats.spares.Store(int64(len(u.spares)))
	}
	u.mu.Unlock()
	if keep {
		return
	}
	if err != nil && u.sup.lifeCtx.Err() == nil && in.alive() && !in.closing.Load() {
		u.log.Warn("make spare browser context", "err", err)
	}
	r.cleanup()
}

// discardLocked disposes of a spare nobody will use, in the background.
func (u *URLRenderer) discardLocked(r *urlRun) {
	u.bg.Go(r.cleanup)
}

// dropSparesLocked discards every ready spare: the browser they belong to
// is being replaced, or the pool stops.
func (u *URLRenderer) dropSparesLocked() {
	for _, r := range u.spares {
		u.discardLocked(r)
	}
	u.spares = nil
	u.stats.spares.Store(0)
}

// install disposes of the spares of the previous browser and, once the
// renderer has done URL renders, makes new ones in in.
func (u *URLRenderer) install(in *instance) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dropSparesLocked()
	u.refillSparesLocked(in)
}

// stop disposes of the ready spares; Stop has marked the pool stopped, so
// no more are made.
func (u *URLRenderer) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dropSparesLocked()
}
