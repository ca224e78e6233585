package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// instance is one Chromium process and the warm tabs opened in it.
//
// The fields in the first block are set by launch and read-only afterwards;
// tabs, closing and shutOnce are safe for concurrent use; warm is
// TemplatePool's; the rest are guarded by supervisor.mu.
type instance struct {
	gen     uint64 // launch number, for logs
	pid     int
	version string
	dataDir string
	log     *slog.Logger
	// tabProxy is the proxy server given to every tab's browser context
	// (Config.tabProxy); "" leaves the browser's own setting.
	tabProxy    string
	allocCancel context.CancelFunc // stops the process and waits for it
	ctx         context.Context    // chromedp browser context; done when the browser is gone
	cancel      context.CancelFunc
	browser     *chromedp.Browser

	// tabs counts live warm tabs (idle, busy or being replaced); changed by
	// TemplatePool, read by Ready and Stats.
	tabs atomic.Int64
	// closing is set before we close the browser on purpose, so the pool
	// can tell a deliberate shutdown from a crash.
	closing  atomic.Bool
	shutOnce sync.Once
	shutDone chan struct{}

	// warm holds the tabs opened by launch until TemplatePool.install
	// takes them (under its mu; nothing else touches it).
	warm []*tab

	// Guarded by supervisor.mu.
	inflight  int  // renders running in it (template or URL)
	renders   int  // renders started, for recycling
	retired   bool // replaced by a newer instance; closes when inflight hits 0
	recycling bool // a replacement has been asked for
	closeSent bool // shutdown of this retired instance has been scheduled
}

// tab is one warm page target in a browser context of its own, so that
// what a page leaves in the context (cookies, storage, HTTP cache) is seen
// only by later renders in this tab, which are all of one space (see
// TemplatePool.pickLocked). Only the render holding it touches its viewport cache
// and space, so they need no lock.
type tab struct {
	inst    *instance
	ctx     context.Context // chromedp tab context
	cancel  context.CancelFunc
	target  *chromedp.Target
	frameID cdp.FrameID
	bctxID  cdp.BrowserContextID

	// space is the space whose renders this tab serves; assigned is false
	// until a render takes it, and then it never changes: the tab is
	// closed and replaced rather than given to another space.
	space    string
	assigned bool

	width, height int  // viewport currently emulated; 0 before the first render
	scriptsOff    bool // JavaScript currently disabled by emulation
}

// launch starts a browser with n warm tabs, giving up after timeout or when
// ctx is done. On error nothing is left running.
//
// The first successful launch of a pool decides whether Chromium can be
// sandboxed here (cfg.sandbox): it launches with the sandbox on unless
// ExtraFlags hold --no-sandbox or the kernel has no user namespaces, and
// launches again with --no-sandbox only when Chromium fails to start naming
// its sandbox; a launch without the sandbox logs a warning. Later launches
// use that decision.
func launch(ctx context.Context, cfg Config, gen uint64, n int) (*instance, error) {
	cu, err := resolveChromiumUser(cfg.ChromiumUser, os.Geteuid())
	if err != nil {
		return nil, fmt.Errorf("launch chromium: %w", err)
	}
	off, decided := cfg.sandbox.get()
	var reason string
	switch {
	case decided:
	case extraNoSandbox(cfg.ExtraFlags):
		off, reason = true, "--no-sandbox is among the extra Chromium flags"
	default:
		if why := kernelCannotSandbox(); why != "" {
			off, reason = true, why
		}
	}
	in, err := launchOnce(ctx, cfg, gen, n, cu, off)
	if err != nil && !decided && !off && isSandboxFailure(err) {
		cfg.Logger.Warn("chromium could not start with its sandbox; trying again without it", "component", "browser", "gen", gen, "err", err)
		off, reason = true, "chromium could not start its sandbox: "+sandboxReason(err)
		in, err = launchOnce(ctx, cfg, gen, n, cu, off)
	}
	if err != nil || decided {
		return in, err
	}
	cfg.sandbox.decide(off, reason)
	if off {
		cfg.Logger.Warn("WARNING: Chromium runs WITHOUT its sandbox: a renderer exploit on a client page gets whatever Chromium's user can reach",
			"component", "browser", "reason", reason, "chromium_user", cu.String())
	} else {
		cfg.Logger.Info("chromium sandbox on", "component", "browser", "chromium_user", cu.String())
	}
	return in, nil
}

// sandboxReason is the first line of err's message that names the sandbox, or
// its first line, for a short log reason.
func sandboxReason(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		if isSandboxFailure(errors.New(l)) {
			return strings.TrimSpace(l)
		}
	}
	return lines[0]
}

// launchOnce is one launch attempt: as cu (nil: our own user), with the
// sandbox off when noSandbox.
func launchOnce(ctx context.Context, cfg Config, gen uint64, n int, cu *chromiumUser, noSandbox bool) (_ *instance, err error) {
	start := time.Now()
	ctx, cancelStart := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancelStart()

	dataDir, err := os.MkdirTemp("", "renderhook-chromium-")
	if err != nil {
		return nil, fmt.Errorf("create profile dir: %w", err)
	}
	if cu != nil {
		// Chromium's user owns its profile (MkdirTemp made it 0700, ours).
		if err := os.Chown(dataDir, int(cu.uid), int(cu.gid)); err != nil {
			_ = os.RemoveAll(dataDir)
			return nil, fmt.Errorf("hand profile dir to chromium user %s: %w", cu, err)
		}
	}
	in := &instance{
		gen:      gen,
		dataDir:  dataDir,
		tabProxy: cfg.tabProxy,

		shutDone: make(chan struct{}),
		log:      cfg.Logger.With("component", "browser", "gen", gen),
	}

	procOpt, procPID := processOptions(cu)
	opts := allocatorOptions(cfg.ChromiumPath, dataDir, cfg.ExtraFlags, noSandbox)
	opts = append(opts, procOpt,
		chromedp.WSURLReadTimeout(cfg.StartTimeout),
		// Chromium's own temp files (its singleton socket dir, and the shared
		// memory files --disable-dev-shm-usage moves out of /dev/shm) go in
		// the profile dir, so removing that cleans up after a killed browser.
		// HOME too, for anything it writes there (crashpad, fontconfig
		// cache): Chromium's user may have no home, and must not use ours.
		chromedp.Env("TMPDIR="+dataDir, "HOME="+dataDir),
	)
	// The allocator and browser contexts live as long as the browser, not as
	// long as the Start call, so they hang off Background.
	baseCtx, abort := context.WithCancel(context.Background())
	allocCtx, allocCancel := chromedp.NewExecAllocator(baseCtx, opts...)
	in.allocCancel = func() { abort(); allocCancel() }
	debugf := func(format string, args ...any) {
		cfg.Logger.Debug(fmt.Sprintf(format, args...), "component", "chromedp", "gen", gen)
	}
	in.ctx, in.cancel = chromedp.NewContext(allocCtx,
		chromedp.WithLogf(debugf), chromedp.WithErrorf(debugf))
	defer func() {
		if err != nil {
			in.shutdown(false)
		}
	}()

	// The first Run allocates the browser. It must run on the browser
	// context itself (a deadline on it would later kill the browser), so it
	// is bounded from the outside. On timeout, wait for it to give up before
	// cleaning up: until then the process may be starting with an unknown pid,
	// writing into dataDir.
	err = runBounded(ctx, abort, in.ctx)
	in.pid = procPID()
	in.log = in.log.With("pid", in.pid)
	if err != nil {
		return nil, fmt.Errorf("launch chromium %s: %w", cfg.ChromiumPath, err)
	}
	c := chromedp.FromContext(in.ctx)
	in.browser = c.Browser

	bexec := cdp.WithExecutor(ctx, c.Browser)
	_, product, _, _, _, err := browser.GetVersion().Do(bexec)
	if err != nil {
		return nil, fmt.Errorf("get browser version: %w", err)
	}
	in.version = product
	initialTarget := c.Target.TargetID

	tabs := make([]*tab, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range tabs {
		wg.Go(func() { tabs[i], errs[i] = in.newTab(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("open warm tabs: %w", err)
	}
	in.tabs.Store(int64(n))
	// The tab Chromium opened at start-up is not one of ours; close it so its
	// renderer does not sit idle taking memory.
	if err := target.CloseTarget(initialTarget).Do(bexec); err != nil {
		in.log.Debug("close initial tab", "err", err)
	}
	in.log.Info("chromium started", "version", in.version, "tabs", n, "took", time.Since(start).Round(time.Millisecond))
	in.warm = tabs
	return in, nil
}

// newTab opens a blank page target in a new browser context and prepares it
// for renders.
func (in *instance) newTab(ctx context.Context) (*tab, error) {
	bexec := cdp.WithExecutor(ctx, in.browser)
	// A created context is an in-memory (incognito) profile of its own:
	// cookies, storage and HTTP cache start empty and are seen by no other
	// context. It does not inherit --proxy-server for certain, so the
	// template proxy is given again; "<-loopback>" removes Chromium's
	// implicit bypass of localhost.
	create := target.CreateBrowserContext()
	if in.tabProxy != "" {
		create = create.WithProxyServer(in.tabProxy).WithProxyBypassList("<-loopback>")
	}
	bctxID, err := create.Do(bexec)
	if err != nil {
		return nil, fmt.Errorf("create browser context: %w", err)
	}
	dispose := func() {
		closeCtx, cancel := context.WithTimeout(in.ctx, time.Second)
		_ = target.DisposeBrowserContext(bctxID).Do(cdp.WithExecutor(closeCtx, in.browser))
		cancel()
	}
	// Each tab gets its own window. Tabs sharing a window are hidden behind
	// the active one, and a hidden tab produces no frames, so its screenshots
	// stall until it happens to be shown.
	id, err := target.CreateTarget("about:blank").WithBrowserContextID(bctxID).WithNewWindow(true).Do(bexec)
	if err != nil {
		dispose()
		return nil, fmt.Errorf("create target: %w", err)
	}
	// abort cancels without waiting; chromedp's cancel also closes the target
	// and waits for that.
	parent, abort := context.WithCancel(in.ctx)
	tctx, tcancel := chromedp.NewContext(parent, chromedp.WithTargetID(id))
	t := &tab{inst: in, ctx: tctx, cancel: func() { tcancel(); abort() }, bctxID: bctxID}

	// The first Run attaches to the target. Like the browser's, it is
	// bounded from outside, since a deadline on tctx would close the tab.
	err = runBounded(ctx, abort, tctx, chromedp.ActionFunc(func(ctx context.Context) error {
		// chromedp enables these domains to track the DOM for its query
		// helpers. We never query, and each would cost events (and, for
		// DOM, a getDocument round-trip) on every render.
		for _, a := range []chromedp.Action{
			dom.Disable(), css.Disable(), network.Disable(), log.Disable(),
			page.SetLifecycleEventsEnabled(false),
		} {
			if err := a.Do(ctx); err != nil {
				return fmt.Errorf("disable %T: %w", a, err)
			}
		}
		// setDocumentContent keeps the frame, so its id is fetched once.
		tree, err := page.GetFrameTree().Do(ctx)
		if err != nil {
			return fmt.Errorf("get frame tree: %w", err)
		}
		t.frameID = tree.Frame.ID
		return nil
	}))
	if err != nil {
		t.cancel()
		dispose() // closes the target too, in case it was never attached
		return nil, fmt.Errorf("attach to target: %w", err)
	}
	t.target = chromedp.FromContext(tctx).Target
	return t, nil
}

// close closes the tab's page target and disposes of its browser context. It
// is cheap if the browser is gone.
func (t *tab) close() {
	t.cancel()
	t.inst.disposeContext(t.bctxID, "tab's browser context")
}

// disposeContext disposes of browser context id (and every window in it),
// unless the browser is gone. If that fails while the browser lives on, the
// browser is killed, so the supervisor replaces it: a context left behind
// would keep a space's cookies, storage and cache in a browser we could no
// longer trust to keep renders apart.
func (in *instance) disposeContext(id cdp.BrowserContextID, what string) {
	if !in.alive() {
		return
	}
	ctx, cancel := context.WithTimeout(in.ctx, cleanupTimeout)
	err := target.DisposeBrowserContext(id).Do(cdp.WithExecutor(ctx, in.browser))
	cancel()
	if err != nil && in.alive() && !in.closing.Load() {
		in.log.Error("dispose "+what+" failed; killing browser", "err", err)
		in.kill()
	}
}

// runBounded runs actions on the chromedp context cctx (the first Run on a
// context allocates its browser or attaches to its target) and waits for it
// or for ctx. A deadline on cctx itself would later close its browser or
// tab, so the run is bounded from outside: when ctx ends first, abort
// cancels cctx without waiting, and runBounded waits for the run to give up
// (until then a browser may be starting with an unknown pid) and returns
// ctx's error.
func runBounded(ctx context.Context, abort context.CancelFunc, cctx context.Context, actions ...chromedp.Action) error {
	var err error
	ran := make(chan struct{})
	go func() { err = chromedp.Run(cctx, actions...); close(ran) }()
	select {
	case <-ran:
		return err
	case <-ctx.Done():
		abort()
		<-ran // its error says only that it was cancelled
		return ctx.Err()
	}
}

// kill sends SIGKILL to the browser's process group.
func (in *instance) kill() {
	if in.pid > 0 {
		_ = syscall.Kill(-in.pid, syscall.SIGKILL)
	}
}

// alive reports whether the browser is still connected.
func (in *instance) alive() bool {
	return in.ctx.Err() == nil
}

// shutdown closes the browser, gracefully if asked and possible, then kills
// whatever is left of its process group and removes its profile. It is safe
// to call more than once and from several goroutines.
func (in *instance) shutdown(graceful bool) {
	in.closing.Store(true)
	in.shutOnce.Do(func() {
		defer close(in.shutDone)
		if graceful && in.browser != nil && in.alive() {
			// Browser.close lets Chromium reap its own children, which matters
			// when nobody else reaps orphans (we might be PID 1).
			ctx, cancel := context.WithTimeout(in.ctx, 2*time.Second)
			if err := chromedp.Cancel(ctx); err != nil {
				in.log.Debug("close chromium gracefully", "err", err)
			}
			cancel()
		}
		if in.pid > 0 {
			// The group id is the browser's pid (Setpgid). ESRCH just means
			// everything is already gone.
			if err := syscall.Kill(-in.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				in.log.Warn("kill chromium process group", "err", err)
			}
		}
		in.cancel()
		in.allocCancel() // waits for the browser process to be reaped
		if in.pid > 0 && !waitGroupGone(in.pid, groupExitTimeout) {
			// Killed helpers that outlive the browser are reparented to
			// PID 1; if that never reaps them they stay as zombies.
			in.log.Warn("chromium helper processes still present after kill; is an init process (e.g. tini) reaping zombies?", "pgid", in.pid)
		}
		if err := os.RemoveAll(in.dataDir); err != nil {
			in.log.Warn("remove chromium profile", "dir", in.dataDir, "err", err)
		}
		in.log.Info("chromium stopped")
	})
	<-in.shutDone
}

// groupExitTimeout bounds how long shutdown waits for the killed process
// group to disappear.
const groupExitTimeout = 3 * time.Second

// waitGroupGone polls until no process of group pgid exists, or timeout.
// Killed helpers are orphans; init normally reaps them. If we are init (PID 1
// in a container) they are our children, so reap them here: waiting on the
// group cannot steal another child's exit status, and it fails harmlessly
// with ECHILD when they are not ours.
func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for syscall.Kill(-pgid, 0) == nil {
		var ws syscall.WaitStatus
		for {
			pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
