// Package browser renders HTML to PNG, JPEG, WebP and PDF in headless
// Chromium.
//
// A Pool runs one Chromium process with a fixed number of warm tabs. A render
// borrows a tab, replaces its document with Page.setDocumentContent (no
// navigation, no new tab), waits for images, stylesheets and fonts, and
// captures. The pool caps concurrency and queue length, replaces tabs that
// fail or time out, relaunches the browser if it crashes, and swaps in a fresh
// browser every RecycleAfter renders.
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
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"

	"github.com/renderhook/renderhook/internal/egress"
)

// Errors returned by the pool. Render errors wrap one of these, so callers
// can map them with errors.Is.
var (
	ErrQueueFull      = errors.New("render queue is full")
	ErrBrowserCrashed = errors.New("browser crashed during render")
	ErrRenderTimeout  = errors.New("render timed out")
	ErrStopped        = errors.New("browser pool is stopped")
	ErrUnknownFormat  = errors.New("unknown format")
	ErrBadRequest     = errors.New("invalid render request")
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

type poolState int

const (
	stateNew poolState = iota
	stateStarting
	stateRunning
	stateStopped
)

// Stats is a snapshot of the pool for metrics and health checks.
type Stats struct {
	Tabs     int    // live tabs in the current browser
	Busy     int    // tabs running a render
	Queued   int    // renders waiting for a tab
	Renders  uint64 // renders completed successfully
	Restarts uint64 // browser relaunches, after a crash or a recycle
	// Background is URL-render work still going on after the answers:
	// spare contexts being made and used contexts being disposed of.
	Background int
	Spares     int    // spare URL-render contexts ready
	Crashes    uint64 // browsers that exited on their own (crashed, or killed as hung)
}

// Pool is a warm-tab pool over one Chromium process. Create it with New, then
// Start it; it is safe for concurrent use.
type Pool struct {
	cfg Config
	log *slog.Logger

	recycleCh chan *instance // asks the supervisor to replace a browser

	mu          sync.Mutex
	state       poolState
	cur         *instance              // browser new renders go to; nil while relaunching
	insts       map[*instance]struct{} // every browser not yet shut down
	downSince   time.Time              // when cur became nil
	changed     chan struct{}          // closed and replaced whenever cur changes
	idle        []*tab                 // warm tabs of the current browser, longest idle first
	running     int                    // render slots held (see slots.go)
	spaces      map[string]*spaceSlots // slots held and renders waiting, by space; active spaces only
	turns       []string               // spaces with renders waiting, in the order they take turns
	nextTurn    int                    // index in turns of the space whose turn is next
	lingerTimer *time.Timer            // runs dispatchLocked when a space stops being active
	tabFreed    chan struct{}          // closed and replaced whenever a tab joins idle
	admitted    int                    // renders inside Render past validation
	admittedBy  map[string]int         // admitted, per space
	busy        int                    // renders holding a tab
	gen         uint64                 // launches so far
	superOn     bool                   // supervisor goroutine started

	spares        []*urlRun // ready spare contexts (see spare.go)
	sparesMaking  int       // spares being made
	disposing     int       // used URL-render contexts being disposed of
	spareViewport *viewport // the latest URL render's; nil before the first

	renders  atomic.Uint64
	restarts atomic.Uint64
	crashes  atomic.Uint64

	// tplProxy is the proxy template renders' requests go through (see
	// Config.Egress); nil without a guard. Made by Start, closed by Stop.
	tplProxy *egress.Proxy

	// jsUserGesture runs a URL render's js as a user gesture. Only tests
	// set it (before the first render), to open windows the popup blocker
	// would otherwise stop, so the pool's own popup closing is exercised.
	jsUserGesture bool

	stopCh     chan struct{}
	lifeCtx    context.Context // cancelled by Stop, to abort launches
	lifeCancel context.CancelFunc
	superDone  chan struct{}
	active     sync.WaitGroup // calls inside Render
	bg         sync.WaitGroup // tab replacements and browser shutdowns
	making     sync.WaitGroup // spare contexts being made (see spare.go)
}

// New validates cfg and returns a pool that is not started yet.
func New(cfg Config) (*Pool, error) {
	cfg = cfg.withDefaults()
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
	lifeCtx, lifeCancel := context.WithCancel(context.Background())
	return &Pool{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "browser"),
		spaces:     make(map[string]*spaceSlots),
		idle:       make([]*tab, 0, cfg.MaxTabs),
		tabFreed:   make(chan struct{}),
		recycleCh:  make(chan *instance, 1),
		insts:      make(map[*instance]struct{}),
		changed:    make(chan struct{}),
		stopCh:     make(chan struct{}),
		lifeCtx:    lifeCtx,
		lifeCancel: lifeCancel,
		superDone:  make(chan struct{}),
	}, nil
}

// Start launches the browser and opens MaxTabs warm tabs. The pool is ready
// for renders when it returns nil. A failed Start may be retried.
func (p *Pool) Start(ctx context.Context) error {
	p.mu.Lock()
	switch p.state {
	case stateStopped:
		p.mu.Unlock()
		return ErrStopped
	case stateStarting, stateRunning:
		p.mu.Unlock()
		return errors.New("start browser pool: already started")
	}
	p.state = stateStarting
	p.gen++
	gen := p.gen
	p.mu.Unlock()

	if p.cfg.Egress != nil && p.tplProxy == nil {
		proxy, err := egress.NewProxy(egress.ProxyConfig{
			Guard: p.cfg.Egress,
			OnRefused: func(hostport string, err error) {
				p.log.Info("template page request refused by the egress policy", "destination", hostport, "err", err)
			},
			Logger: p.log,
		})
		if err != nil {
			p.mu.Lock()
			p.state = stateNew
			p.mu.Unlock()
			return fmt.Errorf("start browser pool: %w", err)
		}
		p.tplProxy = proxy
		p.cfg.tabProxy = "http://" + proxy.Addr()
		// Set before any launch reads the config; later launches
		// (recycling, relaunch) use the same proxy. "<-loopback>" removes
		// Chromium's implicit bypass of localhost.
		p.cfg.ExtraFlags = append(slices.Clone(p.cfg.ExtraFlags),
			"--proxy-server=http://"+proxy.Addr(), "--proxy-bypass-list=<-loopback>")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.lifeCtx, cancel)()
	in, err := launch(ctx, p.cfg, gen, p.cfg.MaxTabs)

	p.mu.Lock()
	if p.state != stateStarting { // stopped meanwhile
		p.mu.Unlock()
		if in != nil {
			in.shutdown(false)
		}
		return ErrStopped
	}
	defer p.mu.Unlock()
	if err != nil {
		p.state = stateNew
		return fmt.Errorf("start browser pool: %w", err)
	}
	p.state = stateRunning
	p.installLocked(in)
	p.superOn = true
	go p.supervise()
	return nil
}

// Stop closes the tabs and the browser and kills whatever is left of its
// process group. Renders in flight fail with ErrStopped, later ones too. Stop
// waits for that cleanup until ctx is done.
func (p *Pool) Stop(ctx context.Context) error {
	p.mu.Lock()
	if p.state == stateStopped {
		p.mu.Unlock()
		return nil
	}
	p.state = stateStopped
	p.dropSparesLocked()
	if p.lingerTimer != nil {
		p.lingerTimer.Stop()
	}
	p.mu.Unlock()
	// No spare is started once stopped; those being made finish first (see
	// makeSpare), then find the pool stopped and dispose of themselves.
	var sparesErr error
	select {
	case <-waitDone(&p.making):
	case <-ctx.Done():
		sparesErr = fmt.Errorf("stop browser pool: wait for spare contexts being made: %w", ctx.Err())
	}
	p.mu.Lock()
	close(p.stopCh)
	p.lifeCancel()
	p.cur = nil
	p.notifyLocked()
	superOn := p.superOn
	p.mu.Unlock()
	if sparesErr != nil {
		return sparesErr
	}

	wait := func(what string, done <-chan struct{}) error {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stop browser pool: wait for %s: %w", what, ctx.Err())
		}
	}
	if superOn {
		if err := wait("supervisor", p.superDone); err != nil {
			return err
		}
	}
	// The supervisor has exited, so insts no longer changes except by
	// shutdowns already scheduled on bg.
	p.mu.Lock()
	var insts []*instance
	for in := range p.insts {
		insts = append(insts, in)
	}
	p.mu.Unlock()
	var closing sync.WaitGroup
	for _, in := range insts {
		closing.Go(func() { in.shutdown(true) })
	}
	if err := wait("browsers", waitDone(&closing)); err != nil {
		return err
	}
	if err := wait("renders", waitDone(&p.active)); err != nil {
		return err
	}
	if err := wait("background work", waitDone(&p.bg)); err != nil {
		return err
	}
	if p.tplProxy != nil {
		if err := p.tplProxy.Close(); err != nil {
			p.log.Warn("close template egress proxy", "err", err)
		}
	}
	return nil
}

func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// Ready reports whether a live browser with warm tabs is serving renders.
func (p *Pool) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == stateRunning && p.cur != nil && p.cur.alive() && p.cur.tabs > 0
}

// BrowserPID returns the pid of the current Chromium process, or 0 if none is
// running.
func (p *Pool) BrowserPID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.pid
}

// Version returns the product string of the current browser as reported by
// Browser.getVersion, such as "Chrome/156.0.8078.79", or "" if none is
// running.
func (p *Pool) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return ""
	}
	return p.cur.version
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{
		Busy:       p.busy,
		Queued:     p.admitted - p.busy,
		Renders:    p.renders.Load(),
		Restarts:   p.restarts.Load(),
		Background: p.sparesMaking + p.disposing,
		Spares:     len(p.spares),
		Crashes:    p.crashes.Load(),
	}
	if p.cur != nil {
		s.Tabs = p.cur.tabs
	}
	return s
}

// Render renders req in a warm tab. It fails at once with ErrQueueFull when
// MaxTabs renders run and QueueSize more wait; otherwise it waits for a tab
// as long as ctx allows. Errors wrap ErrBadRequest, ErrQueueFull,
// ErrRenderTimeout, ErrBrowserCrashed or ErrStopped, or are ctx's error.
func (p *Pool) Render(ctx context.Context, req Request) (*Result, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	done, err := p.admit(req.SpaceID)
	if err != nil {
		return nil, err
	}
	defer done()

	start := time.Now()
	t, err := p.acquire(ctx, req.SpaceID)
	if err != nil {
		return nil, err
	}
	got := time.Now()
	if req, err = req.build(ctx, p.cfg.RenderTimeout); err != nil {
		p.release(t, req.SpaceID, false, false) // the tab was not used
		return nil, err
	}
	scripted := req.scripted()
	data, err := t.render(ctx, req, scripted, p.cfg.RenderTimeout)
	took := time.Since(got)
	p.release(t, req.SpaceID, err != nil, scripted)
	if err != nil {
		select {
		case <-p.stopCh: // the browser was closed under the render by Stop
			return nil, ErrStopped
		default:
			return nil, err
		}
	}
	p.renders.Add(1)
	return &Result{
		Data:        data,
		ContentType: req.Format.ContentType(),
		QueueWait:   got.Sub(start),
		RenderTime:  took,
	}, nil
}

// admit counts a render of space in, or refuses it at once: ErrStopped when
// the pool is not running, ErrQueueFull when MaxTabs renders run and
// QueueSize more wait, except that a space with none admitted may still
// take one of MaxTabs reserved seats. Template and URL renders share the
// count; done counts it out.
func (p *Pool) admit(space string) (done func(), err error) {
	p.mu.Lock()
	limit := p.cfg.MaxTabs + p.cfg.QueueSize
	if p.admittedBy[space] == 0 {
		// A space with nothing admitted may take one of MaxTabs seats
		// beyond the queue, so a flood of another space (which always has
		// renders admitted) cannot turn every other space away with 503:
		// their next render waits its turn in the round-robin instead.
		limit += p.cfg.MaxTabs
	}
	switch {
	case p.state != stateRunning:
		p.mu.Unlock()
		return nil, ErrStopped
	case p.admitted >= limit:
		p.mu.Unlock()
		return nil, ErrQueueFull
	}
	p.admitted++
	if p.admittedBy == nil {
		p.admittedBy = map[string]int{}
	}
	p.admittedBy[space]++
	p.active.Add(1)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.admitted--
		if p.admittedBy[space]--; p.admittedBy[space] == 0 {
			delete(p.admittedBy, space)
		}
		p.mu.Unlock()
		p.active.Done()
	}, nil
}

// acquire takes a render slot (see slots.go) and then a tab of the current browser for
// space, waiting for a relaunch if needed (at most StartTimeout after the
// browser went down).
func (p *Pool) acquire(ctx context.Context, space string) (*tab, error) {
	if err := p.takeSlot(ctx, space); err != nil {
		return nil, err
	}
	t, err := p.takeTab(ctx, space)
	if err != nil {
		p.mu.Lock()
		p.releaseSlotLocked(space)
		p.mu.Unlock()
		return nil, err
	}
	return t, nil
}

// takeTab waits for an idle tab (see pickLocked), claims it for a render of
// space, and replaces it first if it served another space.
func (p *Pool) takeTab(ctx context.Context, space string) (*tab, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		if p.state != stateRunning {
			p.mu.Unlock()
			return nil, ErrStopped
		}
		if t, other := p.pickLocked(space); t != nil {
			p.claimLocked(t.inst)
			p.mu.Unlock()
			if other {
				return p.rehome(t, space)
			}
			return t, nil
		}
		changed, freed := p.changed, p.tabFreed
		var down <-chan time.Time
		if p.cur == nil {
			left := p.cfg.StartTimeout - time.Since(p.downSince)
			if left <= 0 {
				p.mu.Unlock()
				return nil, fmt.Errorf("wait for browser relaunch: still down after %s: %w", p.cfg.StartTimeout, ErrBrowserCrashed)
			}
			if timer == nil {
				timer = time.NewTimer(left)
			} else {
				timer.Reset(left)
			}
			down = timer.C
		}
		p.mu.Unlock()

		select {
		case <-freed:
		case <-changed:
		case <-down:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a tab: %w", ctx.Err())
		case <-p.stopCh:
			return nil, ErrStopped
		}
	}
}

// pickLocked takes the idle tab a render of space should use, or nil to
// wait: the space's own tab that was used last (its cache is warmest), else
// a tab no space has used yet, else nil while a tab of the space is being
// reset (it is back within milliseconds, sooner than a replacement is
// made), else the tab of another space that has been idle longest, which
// the caller must not use as it is (other is true; see rehome). Idle tabs all belong to the current browser (installLocked
// empties idle, and only tabs of cur join it); while cur is down or dead,
// nothing is picked.
func (p *Pool) pickLocked(space string) (t *tab, other bool) {
	if p.cur == nil || !p.cur.alive() || len(p.idle) == 0 {
		return nil, false
	}
	pick, fresh := -1, -1
	for i, c := range p.idle {
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
	case p.cur.resetting[space] > 0:
		return nil, false
	default:
		pick, other = 0, true
	}
	t = p.idle[pick]
	p.idle = slices.Delete(p.idle, pick, pick+1)
	if !t.assigned {
		t.space, t.assigned = space, true
	}
	return t, other
}

// rehome serves a render of space with the claimed tab old of another space:
// old is closed with its browser context (in the background), and the render
// gets a new tab in a new context. If that cannot be opened the browser is
// considered broken and killed, as replaceTab does, and the render fails
// with ErrBrowserCrashed (ErrStopped once stopped).
func (p *Pool) rehome(old *tab, space string) (*tab, error) {
	in := old.inst
	p.bg.Go(old.close)
	ctx, cancel := context.WithTimeout(p.lifeCtx, p.cfg.StartTimeout)
	t, err := in.newTab(ctx)
	cancel()
	if err == nil {
		t.space, t.assigned = space, true
		return t, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in.tabs--
	p.busy--
	in.inflight--
	stopped := p.state != stateRunning
	if !stopped && in.alive() && !in.closing.Load() {
		in.log.Error("open a tab for another space failed; killing browser", "err", err)
		in.kill()
	}
	if !stopped && in.retired && in.inflight == 0 && !in.closeSent {
		p.bgShutdownLocked(in, true)
	}
	if stopped {
		return nil, ErrStopped
	}
	return nil, fmt.Errorf("open a tab for the render: %w (%v)", ErrBrowserCrashed, err)
}

// claimLocked counts a render starting in browser in, and asks for a
// replacement once in is due for recycling.
func (p *Pool) claimLocked(in *instance) {
	in.inflight++
	in.renders++
	p.busy++
	if in.renders >= p.cfg.RecycleAfter && !in.recycling {
		in.recycling = true
		select {
		case p.recycleCh <- in:
		default:
		}
	}
}

// release returns t after a render. A tab whose render failed may be hung or
// half-loaded, so it is closed and replaced; a tab that ran script is reset
// first (see resetTab). Both happen in the background, after Render returns.
// A tab that ran no script is reused as it is: the next setDocumentContent
// replaces everything the page had.
func (p *Pool) release(t *tab, space string, failed, ranScript bool) {
	in := t.inst
	p.mu.Lock()
	p.busy--
	in.inflight--
	if p.state == stateRunning && in == p.cur && in.alive() {
		switch {
		case failed:
			p.bg.Add(1)
			go p.replaceTab(t)
		case ranScript:
			in.resetting[t.space]++
			p.bg.Add(1)
			go p.resetTab(t)
		default:
			p.pushIdleLocked(t)
		}
	}
	if p.state == stateRunning && in.retired && in.inflight == 0 && !in.closeSent {
		p.bgShutdownLocked(in, true)
	}
	p.releaseSlotLocked(space)
	p.mu.Unlock()
}

// pushIdleLocked makes t available to renders. p.idle holds at most the
// current browser's tabs, MaxTabs.
func (p *Pool) pushIdleLocked(t *tab) {
	if len(p.idle) >= p.cfg.MaxTabs {
		p.log.Error("more idle tabs than MaxTabs; closing tab", "gen", t.inst.gen)
		t.inst.tabs--
		p.bg.Go(t.close)
		return
	}
	p.idle = append(p.idle, t)
	close(p.tabFreed)
	p.tabFreed = make(chan struct{})
}

// resetTab clears what a scripted render left in t, then returns it to the
// idle set. setDocumentContent alone is not enough: it keeps the window, so
// the page's globals, timers and listeners would run on into the next render
// (and could read or alter it). Navigating to about:blank gives a fresh
// window. It is done off the caller's path but costs Chromium CPU (tearing
// down and creating a document), hence only after pages that ran script.
func (p *Pool) resetTab(t *tab) {
	ctx, cancel := context.WithTimeout(t.ctx, p.cfg.RenderTimeout)
	_, _, errText, _, err := page.Navigate("about:blank").Do(cdp.WithExecutor(ctx, t.target))
	cancel()
	if err == nil && errText != "" {
		err = errors.New(errText)
	}
	p.mu.Lock()
	if t.inst.resetting[t.space]--; t.inst.resetting[t.space] == 0 {
		delete(t.inst.resetting, t.space)
	}
	if err != nil {
		p.mu.Unlock()
		if t.inst.alive() {
			t.inst.log.Warn("reset tab failed; replacing it", "err", err)
		}
		p.replaceTab(t) // takes over our bg count
		return
	}
	defer p.bg.Done()
	defer p.mu.Unlock()
	if p.state == stateRunning && t.inst == p.cur && t.inst.alive() {
		p.pushIdleLocked(t)
	}
}

// replaceTab closes a tab whose render failed and opens a fresh one in the
// same browser. If that fails the browser is considered broken and killed, so
// the supervisor relaunches it.
func (p *Pool) replaceTab(old *tab) {
	defer p.bg.Done()
	in := old.inst
	old.close()
	ctx, cancel := context.WithTimeout(p.lifeCtx, p.cfg.StartTimeout)
	t, err := in.newTab(ctx)
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil:
		in.tabs--
		if p.state == stateRunning && in.alive() && !in.closing.Load() {
			in.log.Error("replace tab failed; killing browser", "err", err)
			in.kill()
		}
	case p.state == stateRunning && in == p.cur && in.alive():
		p.pushIdleLocked(t)
	default:
		in.tabs--
		p.bg.Go(t.close)
	}
}

// notifyLocked wakes renders waiting for the current browser to change.
func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// installLocked makes in the browser new renders go to. Tabs of the previous
// browser are dropped from the idle set; a previous browser that is still
// alive is retired and shut down once its last render returns.
func (p *Pool) installLocked(in *instance) {
	old := p.cur
	p.insts[in] = struct{}{}
	p.cur = in
	p.downSince = time.Time{}
	clear(p.idle)
	p.idle = p.idle[:0]
	for _, t := range in.warm {
		p.pushIdleLocked(t)
	}
	in.warm = nil
	p.dropSparesLocked()
	if old != nil {
		old.retired = true
		if old.inflight == 0 && !old.closeSent {
			p.bgShutdownLocked(old, true)
		}
	}
	// A server that has done URL renders gets spares in its new browser.
	p.refillSparesLocked(in)
	p.notifyLocked()
}

// bgShutdownLocked shuts in down in the background and forgets it.
func (p *Pool) bgShutdownLocked(in *instance, graceful bool) {
	in.closeSent = true
	in.closing.Store(true)
	p.bg.Go(func() {
		in.shutdown(graceful)
		p.mu.Lock()
		delete(p.insts, in)
		p.mu.Unlock()
	})
}

// launchNext starts a browser for the pool, bounded by StartTimeout and Stop.
func (p *Pool) launchNext() (*instance, error) {
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	return launch(p.lifeCtx, p.cfg, gen, p.cfg.MaxTabs)
}

// supervise watches the current browser: it relaunches it after a crash,
// replaces it when it is due for recycling, and pings it so a hung browser is
// killed and relaunched too. It runs from Start until Stop.
func (p *Pool) supervise() {
	defer close(p.superDone)
	health := time.NewTicker(healthInterval)
	defer health.Stop()
	var retryRecycle <-chan time.Time
	for {
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		if cur == nil { // only after Stop
			return
		}
		select {
		case <-p.stopCh:
			return
		case <-cur.ctx.Done():
			p.relaunch(cur)
		case old := <-p.recycleCh:
			if old != cur {
				continue
			}
			if !p.recycle(old) {
				retryRecycle = time.After(recycleRetryDelay)
			}
		case <-retryRecycle:
			retryRecycle = nil
			p.mu.Lock()
			cur.recycling = false
			p.mu.Unlock()
		case <-health.C:
			p.checkHealth(cur)
		}
	}
}

// recycle replaces old, which is still healthy, with a fresh browser. Renders
// keep using old until the new one is ready.
func (p *Pool) recycle(old *instance) bool {
	in, err := p.launchNext()
	if err != nil {
		if p.lifeCtx.Err() == nil {
			p.log.Error("launch replacement browser for recycling", "err", err)
		}
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateRunning {
		p.bgShutdownLocked(in, false)
		return true
	}
	p.log.Info("recycling browser", "old_gen", old.gen, "renders", old.renders, "new_gen", in.gen)
	p.restarts.Add(1)
	p.installLocked(in)
	return true
}

// relaunch replaces a browser that died on its own, retrying with backoff
// until it succeeds or the pool stops. Renders wait meanwhile (Ready is false).
func (p *Pool) relaunch(dead *instance) {
	p.mu.Lock()
	if p.cur == dead {
		p.cur = nil
		p.downSince = time.Now()
		p.notifyLocked()
	}
	if p.state == stateRunning && !dead.closeSent {
		// Kills what is left of the process group (renderers, zygote).
		p.bgShutdownLocked(dead, false)
	}
	p.mu.Unlock()
	dead.log.Error("chromium exited unexpectedly; relaunching")
	p.crashes.Add(1)

	backoff := 100 * time.Millisecond
	for {
		in, err := p.launchNext()
		if err == nil {
			p.mu.Lock()
			if p.state != stateRunning {
				p.bgShutdownLocked(in, false)
			} else {
				p.restarts.Add(1)
				p.installLocked(in)
			}
			p.mu.Unlock()
			return
		}
		if p.lifeCtx.Err() != nil {
			return
		}
		p.log.Error("relaunch chromium", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-p.stopCh:
			return
		}
		backoff = min(2*backoff, maxRelaunchBackoff)
	}
}

// checkHealth pings the browser and kills it if it does not answer, which
// turns a hang into a crash the supervisor recovers from.
func (p *Pool) checkHealth(in *instance) {
	ctx, cancel := context.WithTimeout(in.ctx, healthTimeout)
	defer cancel()
	_, _, _, _, _, err := browser.GetVersion().Do(cdp.WithExecutor(ctx, in.browser))
	if err == nil || !in.alive() || in.closing.Load() {
		return
	}
	in.log.Error("browser did not answer health check; killing it", "err", err)
	in.kill()
}

// kill sends SIGKILL to the browser's process group.
func (in *instance) kill() {
	if in.pid > 0 {
		_ = syscall.Kill(-in.pid, syscall.SIGKILL)
	}
}
