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
// keeps Config.URLSpares contexts made ahead of time: a render takes one,
// loads and captures, and a replacement is made in the background. Each
// spare is still used by exactly one render and disposed of afterwards, so
// nothing crosses renders.
//
// What spares cannot hide is CPU: a context's renderer process costs about
// 80 ms of CPU to start and tear down, twice a warm-tab render's, so when
// renders arrive back to back on a small machine, making the next spare
// competes with the current render.
//
// Spares are made only once the pool has done a URL render (a server that
// only renders templates keeps none), at the viewport of the latest URL
// render (clients tend to repeat theirs; another size costs one
// Emulation.setDeviceMetricsOverride). A spare belongs to one browser: when
// the browser is replaced, its spares are disposed of and new ones made in
// the next.

// spareSetupTimeout bounds making one spare.
const spareSetupTimeout = 10 * time.Second

// takeSpare returns a ready spare of browser in for req, or nil, and
// records req's viewport as the one to prepare the next spares at.
func (p *Pool) takeSpare(in *instance, req URLRequest) *urlRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := req.viewport()
	p.spareViewport = &v
	for len(p.spares) > 0 {
		r := p.spares[0]
		p.spares = p.spares[1:]
		r.mu.Lock()
		crashed := r.crashed
		r.mu.Unlock()
		if r.in == in && !crashed && in.alive() {
			return r
		}
		p.discardLocked(r)
	}
	return nil
}

// refillSparesLocked starts making spares in browser in until URLSpares are
// ready or on their way.
func (p *Pool) refillSparesLocked(in *instance) {
	n := p.cfg.URLSpares - len(p.spares) - p.sparesMaking
	if n <= 0 || p.state != stateRunning || in != p.cur || !in.alive() || p.spareViewport == nil {
		return
	}
	p.sparesMaking += n
	v := *p.spareViewport
	p.making.Add(n)
	for range n {
		go p.makeSpare(in, v)
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
func (p *Pool) makeSpare(in *instance, v viewport) {
	defer p.making.Done()
	r := newURLRun(p, in)
	ctx, cancel := context.WithTimeout(context.Background(), spareSetupTimeout)
	err := r.setup(ctx, &v)
	cancel()
	p.mu.Lock()
	p.sparesMaking--
	keep := err == nil && p.state == stateRunning && in == p.cur && in.alive()
	if keep {
		p.spares = append(p.spares, r)
	}
	p.mu.Unlock()
	if keep {
		return
	}
	if err != nil && p.lifeCtx.Err() == nil && in.alive() && !in.closing.Load() {
		p.log.Warn("make spare browser context", "err", err)
	}
	r.cleanup()
}

// discardLocked disposes of a spare nobody will use, in the background.
func (p *Pool) discardLocked(r *urlRun) {
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		r.cleanup()
	}()
}

// dropSparesLocked discards every ready spare: the browser they belong to
// is being replaced, or the pool stops.
func (p *Pool) dropSparesLocked() {
	for _, r := range p.spares {
		p.discardLocked(r)
	}
	p.spares = nil
}
