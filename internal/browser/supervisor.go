package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
)

const (
	// healthInterval is how often the supervisor pings the browser.
	healthInterval = 15 * time.Second
	// healthTimeout is how long a ping may take before the browser is
	// considered hung and killed.
	healthTimeout = 10 * time.Second
	// recycleRetryDelay is how long to wait before trying again to replace a
	// browser after a recycle launch failed.
	recycleRetryDelay = 5 * time.Second
	// maxRelaunchBackoff caps the wait between failed relaunches after a crash.
	maxRelaunchBackoff = 10 * time.Second
)

type poolState int32

const (
	stateNew poolState = iota
	stateStarting
	stateRunning
	stateStopped
)

// supervisor runs the one Chromium instance both parts of the pool render
// in: it launches it (sandboxed as the unprivileged user, see instance.go),
// counts the renders in each browser, relaunches a browser that crashed or
// stopped answering its health check, replaces one that is due for
// recycling, and shuts down a replaced browser once its last render is out.
// It never calls into TemplatePool or URLRenderer while holding its lock
// (they call it while holding theirs): a new browser is handed to them by
// handOver, after the lock is released.
type supervisor struct {
	cfg   Config
	log   *slog.Logger
	stats *counters
	// installURLs and installTemplates give a browser that became current
	// to the parts (their spares and tabs); see handOver. Set by New;
	// called without mu, by one goroutine at a time (Start, then the
	// supervisor goroutine).
	installURLs, installTemplates func(*instance)

	recycleCh  chan *instance // asks the supervisor to replace a browser
	stopCh     chan struct{}  // closed by Stop
	lifeCtx    context.Context
	lifeCancel context.CancelFunc // cancels lifeCtx: aborts launches and tab openings
	superDone  chan struct{}
	bg         sync.WaitGroup // browser shutdowns

	// published is cur once the URLRenderer has taken it over (see
	// handOver), and stateV is state, for readers that take no lock (Stats,
	// BrowserPID, Ready, the parts' checks); both are written under mu.
	published atomic.Pointer[instance]
	stateV    atomic.Int32

	// mu guards the fields below and each instance's fields marked
	// "Guarded by supervisor.mu" (its render counts and retirement).
	mu        sync.Mutex
	state     poolState
	cur       *instance              // browser new renders go to; nil while relaunching
	insts     map[*instance]struct{} // every browser not yet shut down
	downSince time.Time              // when cur became nil
	changed   chan struct{}          // closed and replaced whenever cur changes
	gen       uint64                 // launches so far
	superOn   bool                   // supervisor goroutine started
}

func newSupervisor(cfg Config, stats *counters) *supervisor {
	lifeCtx, lifeCancel := context.WithCancel(context.Background())
	return &supervisor{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "browser"),
		stats:      stats,
		recycleCh:  make(chan *instance, 1),
		stopCh:     make(chan struct{}),
		lifeCtx:    lifeCtx,
		lifeCancel: lifeCancel,
		superDone:  make(chan struct{}),
		insts:      make(map[*instance]struct{}),
		changed:    make(chan struct{}),
	}
}

// running reports whether the pool is started and not stopped.
func (s *supervisor) running() bool { return poolState(s.stateV.Load()) == stateRunning }

// current is the browser new renders go to, or nil, as published.
func (s *supervisor) current() *instance { return s.published.Load() }

func (s *supervisor) setStateLocked(st poolState) {
	s.state = st
	s.stateV.Store(int32(st))
}

// isCurrent reports whether in is the browser new renders go to.
func (s *supervisor) isCurrent(in *instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return in == s.cur
}

// setCurLocked makes in current (nil: none); a browser is published later,
// by publish, once the parts have it.
func (s *supervisor) setCurLocked(in *instance) {
	s.cur = in
	if in == nil {
		s.published.Store(nil)
	}
	close(s.changed) // wakes renders waiting for the browser to change
	s.changed = make(chan struct{})
}

// beginStart moves a new pool to starting and numbers its first launch.
func (s *supervisor) beginStart() (gen uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateStopped:
		return 0, ErrStopped
	case stateStarting, stateRunning:
		return 0, errors.New("start browser pool: already started")
	}
	s.setStateLocked(stateStarting)
	s.gen++
	return s.gen, nil
}

// abortStart puts a pool whose Start failed back to new, so Start may be
// retried.
func (s *supervisor) abortStart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateStarting {
		s.setStateLocked(stateNew)
	}
}

// start launches the first browser (launch gen), installs it and starts
// the supervisor goroutine.
func (s *supervisor) start(ctx context.Context, gen uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.lifeCtx, cancel)()
	in, err := launch(ctx, s.cfg, gen, s.cfg.MaxTabs)

	s.mu.Lock()
	if s.state != stateStarting { // stopped meanwhile
		s.mu.Unlock()
		if in != nil {
			in.shutdown(false)
		}
		return ErrStopped
	}
	if err != nil {
		s.setStateLocked(stateNew)
		s.mu.Unlock()
		return fmt.Errorf("start browser pool: %w", err)
	}
	s.setStateLocked(stateRunning)
	s.installLocked(in)
	s.superOn = true
	s.mu.Unlock()
	s.handOver(in)
	go s.supervise()
	return nil
}

// beginStop marks the pool stopped, so nothing new starts; false if it
// already was.
func (s *supervisor) beginStop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateStopped {
		return false
	}
	s.setStateLocked(stateStopped)
	return true
}

// halt fails renders in flight and waiting with ErrStopped, aborts
// launches and tells the supervisor goroutine to end; it reports whether
// that goroutine was started.
func (s *supervisor) halt() (superOn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.stopCh)
	s.lifeCancel()
	s.setCurLocked(nil)
	return s.superOn
}

// stop waits for the supervisor goroutine (if superOn) to end, then shuts
// every browser down, waiting until ctx is done.
func (s *supervisor) stop(ctx context.Context, superOn bool) error {
	if superOn {
		if err := waitChan(ctx, "supervisor", s.superDone); err != nil {
			return err
		}
	}
	// The supervisor has exited, so insts no longer changes except by
	// shutdowns already scheduled on bg.
	s.mu.Lock()
	var insts []*instance
	for in := range s.insts {
		insts = append(insts, in)
	}
	s.mu.Unlock()
	var closing sync.WaitGroup
	for _, in := range insts {
		closing.Go(func() { in.shutdown(true) })
	}
	return waitFor(ctx, "browsers", &closing)
}

// downWait is the timer of a render waiting for a crashed browser to come
// back, reused across the waits of one call.
type downWait struct{ timer *time.Timer }

func (w *downWait) after(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

func (w *downWait) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// watch tells a render waiting for the browser what to wait on: changed is
// closed when the current browser changes, and while there is none, down
// fires once StartTimeout has passed since it went down (after that watch
// fails with ErrBrowserCrashed). With claim, a live current browser is
// claimed for the render (see claimLocked) and returned.
func (s *supervisor) watch(w *downWait, claim bool) (in *instance, changed <-chan struct{}, down <-chan time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		left := s.cfg.StartTimeout - time.Since(s.downSince)
		if left <= 0 {
			return nil, nil, nil, fmt.Errorf("wait for browser relaunch: still down after %s: %w", s.cfg.StartTimeout, ErrBrowserCrashed)
		}
		return nil, s.changed, w.after(left), nil
	}
	if claim && s.claimLocked(s.cur) {
		return s.cur, s.changed, nil, nil
	}
	// A current browser that is not alive is about to be replaced by the
	// supervisor, which closes changed.
	return nil, s.changed, nil, nil
}

// await blocks a render waiting for the browser until what watch returned
// fires (changed or down: the caller looks again), or also does (nil for
// nothing else to wait on). It fails when ctx ends, naming what the render
// waited for, or when the pool stops.
func (s *supervisor) await(ctx context.Context, what string, changed <-chan struct{}, down <-chan time.Time, also <-chan struct{}) error {
	select {
	case <-also:
	case <-changed:
	case <-down:
	case <-ctx.Done():
		return fmt.Errorf("wait for %s: %w", what, ctx.Err())
	case <-s.stopCh:
		return ErrStopped
	}
	return nil
}

// claim counts a render starting in browser in, if in is the current,
// live browser of a running pool; otherwise it reports false and the
// render must wait for the next browser.
func (s *supervisor) claim(in *instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimLocked(in)
}

// claimLocked is claim; it asks for a replacement once in is due for
// recycling.
func (s *supervisor) claimLocked(in *instance) bool {
	if s.state != stateRunning || in != s.cur || !in.alive() {
		return false
	}
	in.inflight++
	in.renders++
	if in.renders >= s.cfg.RecycleAfter && !in.recycling {
		in.recycling = true
		select {
		case s.recycleCh <- in:
		default:
		}
	}
	return true
}

// release counts a render out of browser in, closing in if it was retired
// meanwhile and this was its last render.
func (s *supervisor) release(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in.inflight--
	if s.state == stateRunning && in.retired && in.inflight == 0 && !in.closeSent {
		s.shutdownLocked(in, true)
	}
}

// installLocked makes in the browser new renders go to. A previous browser
// that is still alive is retired and shut down once its last render
// returns. The caller calls handOver after unlocking.
func (s *supervisor) installLocked(in *instance) {
	old := s.cur
	s.insts[in] = struct{}{}
	s.downSince = time.Time{}
	s.setCurLocked(in)
	if old != nil {
		old.retired = true
		if old.inflight == 0 && !old.closeSent {
			s.shutdownLocked(old, true)
		}
	}
}

// install installs a freshly launched browser, or shuts it down if the pool
// stopped meanwhile, and hands it to the parts.
func (s *supervisor) install(in *instance, recycled bool) {
	s.mu.Lock()
	if s.state != stateRunning {
		s.shutdownLocked(in, false)
		s.mu.Unlock()
		return
	}
	if recycled && s.cur != nil {
		s.log.Info("recycling browser", "old_gen", s.cur.gen, "renders", s.cur.renders, "new_gen", in.gen)
		s.stats.recycles.Add(1)
	}
	s.stats.restarts.Add(1)
	s.installLocked(in)
	s.mu.Unlock()
	s.handOver(in)
}

// handOver gives the newly current browser in to the URLRenderer (which
// drops the old browser's spares and makes new ones), publishes it
// (BrowserPID, Stats, Ready) unless it was replaced or stopped meanwhile,
// and gives it to the TemplatePool (whose renders can start in it only
// then, so none finishes in a browser not yet published).
func (s *supervisor) handOver(in *instance) {
	s.installURLs(in)
	s.mu.Lock()
	if s.cur == in {
		s.published.Store(in)
	}
	s.mu.Unlock()
	s.installTemplates(in)
}

// shutdownLocked shuts in down in the background and forgets it.
func (s *supervisor) shutdownLocked(in *instance, graceful bool) {
	in.closeSent = true
	in.closing.Store(true)
	s.bg.Go(func() {
		in.shutdown(graceful)
		s.mu.Lock()
		delete(s.insts, in)
		s.mu.Unlock()
	})
}

// launchNext starts a browser for the pool, bounded by StartTimeout and Stop.
func (s *supervisor) launchNext() (*instance, error) {
	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.mu.Unlock()
	return launch(s.lifeCtx, s.cfg, gen, s.cfg.MaxTabs)
}

// supervise watches the current browser: it relaunches it after a crash,
// replaces it when it is due for recycling, and pings it so a hung browser is
// killed and relaunched too. It runs from Start until Stop.
func (s *supervisor) supervise() {
	defer close(s.superDone)
	health := time.NewTicker(healthInterval)
	defer health.Stop()
	var retryRecycle <-chan time.Time
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		if cur == nil { // only after Stop
			return
		}
		select {
		case <-s.stopCh:
			return
		case <-cur.ctx.Done():
			s.relaunch(cur)
		case old := <-s.recycleCh:
			if old != cur {
				continue
			}
			if !s.recycle() {
				retryRecycle = time.After(recycleRetryDelay)
			}
		case <-retryRecycle:
			retryRecycle = nil
			s.mu.Lock()
			cur.recycling = false
			s.mu.Unlock()
		case <-health.C:
			s.checkHealth(cur)
		}
	}
}

// recycle replaces the current browser, which is still healthy, with a
// fresh one. Renders keep using the old one until the new one is ready.
func (s *supervisor) recycle() bool {
	in, err := s.launchNext()
	if err != nil {
		if s.lifeCtx.Err() == nil {
			s.log.Error("launch replacement browser for recycling", "err", err)
		}
		return false
	}
	s.install(in, true)
	return true
}

// relaunch replaces a browser that died on its own, retrying with backoff
// until it succeeds or the pool stops. Renders wait meanwhile (Ready is false).
func (s *supervisor) relaunch(dead *instance) {
	s.mu.Lock()
	if s.cur == dead {
		s.downSince = time.Now()
		s.setCurLocked(nil)
	}
	if s.state == stateRunning {
		s.stats.crashes.Add(1)
		if !dead.closeSent {
			// Kills what is left of the process group (renderers, zygote).
			s.shutdownLocked(dead, false)
		}
	}
	s.mu.Unlock()
	dead.log.Error("chromium exited unexpectedly; relaunching")

	backoff := 100 * time.Millisecond
	for {
		in, err := s.launchNext()
		if err == nil {
			s.install(in, false)
			return
		}
		if s.lifeCtx.Err() != nil {
			return
		}
		s.log.Error("relaunch chromium", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.stopCh:
			return
		}
		backoff = min(2*backoff, maxRelaunchBackoff)
	}
}

// checkHealth pings the browser and kills it if it does not answer, which
// turns a hang into a crash the supervisor recovers from.
func (s *supervisor) checkHealth(in *instance) {
	ctx, cancel := context.WithTimeout(in.ctx, healthTimeout)
	defer cancel()
	_, _, _, _, _, err := browser.GetVersion().Do(cdp.WithExecutor(ctx, in.browser))
	if err == nil || !in.alive() || in.closing.Load() {
		return
	}
	in.log.Error("browser did not answer health check; killing it", "err", err)
	in.kill()
}

// stoppedOr returns ErrStopped for a render that failed because Stop closed
// the browser under it, else err.
func (s *supervisor) stoppedOr(err error) error {
	select {
	case <-s.stopCh:
		return ErrStopped
	default:
		return err
	}
}
