package browser

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/renderhook/renderhook/internal/egress"
)

// pollInterval is how often a URL render re-checks page state it waits on
// (load, network quiet, a selector). Events arrive on chromedp's goroutine,
// where no CDP call may be made, so waiting is done by polling what they
// recorded.
const pollInterval = 25 * time.Millisecond

// quietPeriod is how long the network must stay (almost) idle for
// requestsfinished / mostrequestsfinished, like Chromium's own networkIdle.
const quietPeriod = 500 * time.Millisecond

// cleanupTimeout bounds closing a URL render's target and browser context.
const cleanupTimeout = 5 * time.Second

// errPageCrashed is the cause set when the render's renderer process dies
// (out of memory, a Chromium bug) while the browser lives on.
var errPageCrashed = errors.New("page crashed")

// URLRenderer renders clients' URLs and HTML (RenderURL), each in a fresh
// incognito browser context of the current browser whose proxy is an
// egress.Proxy of its own, with Config.URLSpares such contexts made ahead
// of requests (spare.go). It shares admission and render slots with the
// TemplatePool (slots.go) and the browser with it (supervisor.go).
type URLRenderer struct {
	cfg    Config
	log    *slog.Logger
	sup    *supervisor
	slots  *scheduler
	stats  *counters
	bg     sync.WaitGroup // used contexts and discarded spares being disposed of
	making sync.WaitGroup // spare contexts being made

	// jsUserGesture runs a URL render's js as a user gesture. Only tests
	// set it (before the first render), to open windows the popup blocker
	// would otherwise stop, so the renderer's own popup closing is
	// exercised.
	jsUserGesture bool

	// markClient fetches watermark images through Config.Egress; made
	// by the first render with one (urlmark.go).
	markOnce   sync.Once
	markClient *http.Client

	// mu guards the fields below (whose sizes are published in counters).
	// It may be held while calling the supervisor, never the other way
	// round.
	mu            sync.Mutex
	spares        []*urlRun // ready spare contexts, oldest first
	sparesMaking  int       // spares being made
	disposing     int       // used contexts being disposed of
	spareViewport *viewport // the latest URL render's; nil before the first
}

func newURLRenderer(cfg Config, sup *supervisor, slots *scheduler, stats *counters) *URLRenderer {
	return &URLRenderer{cfg: cfg, log: sup.log, sup: sup, slots: slots, stats: stats}
}

// RenderURL renders a client's URL or HTML in a fresh incognito browser
// context: nothing (cookies, storage, cache) is shared with any other render,
// and the context is disposed of afterwards. Every connection the page makes
// goes through a proxy that dials with Config.Egress, so forbidden
// destinations are refused on the address they resolve to; refused
// subresources are listed in URLResult.Blocked and the render goes on, while
// a refused main frame fails with ErrBlockedURL. Downloads are denied and
// windows the page opens are closed.
//
// RenderURL shares Render's concurrency limit and queue (ErrQueueFull), and
// is bounded by req.Timeout or the pool's RenderTimeout. Errors wrap
// ErrBadRequest, ErrBlockedURL, ErrNavigation, ErrPageStatus (as a
// *PageStatusError), ErrSelectorNotFound, ErrPageScript, ErrQueueFull,
// ErrRenderTimeout, ErrBrowserCrashed or ErrStopped, or are ctx's error.
func (u *URLRenderer) RenderURL(ctx context.Context, req URLRequest) (*URLResult, error) {
	req = req.withDefaults()
	if err := req.validate(); err != nil {
		return nil, err
	}
	if u.cfg.Egress == nil || req.URL != "" {
		if err := u.checkMainURL(req.URL); err != nil {
			return nil, err
		}
	}
	if req.BaseURL != "" {
		// The HTML's relative URLs are fetched from there.
		if err := u.checkMainURL(req.BaseURL); err != nil {
			return nil, fmt.Errorf("base_url: %w", err)
		}
	}
	if err := u.checkProxy(req.Proxy); err != nil {
		return nil, err
	}
	done, err := u.slots.enter(ctx, req.SpaceID, "render url")
	if err != nil {
		return nil, err
	}
	defer done()
	if req.Watermark.ImageURL != "" {
		// Once admitted (before a tab is taken): the fetched and decoded
		// images held at once are bounded by the renders admitted, not by
		// how many requests arrive.
		if req.mark, err = u.fetchMark(ctx, req.Watermark.ImageURL); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	in, err := u.acquireBrowser(ctx, req.SpaceID)
	if err != nil {
		return nil, err
	}
	got := time.Now()
	res, r, err := u.renderIn(ctx, in, req)
	took := time.Since(got)
	u.finish(in, r, req.SpaceID)
	if err != nil {
		return nil, u.sup.stoppedOr(err)
	}
	u.stats.renders.Add(1)
	res.ContentType = req.Format.ContentType()
	res.QueueWait = got.Sub(start)
	res.RenderTime = took
	return res, nil
}

// finish gives back the render's slot and disposes of its context r (if
// any) in the background. The answer does not wait for the disposal: the
// slot is free now, and the browser counts the render until its context is
// gone (a retired browser closes only then). Replacements for the spare
// this render took are made now, not while it ran: making one costs CPU
// the render would have had to share.
func (u *URLRenderer) finish(in *instance, r *urlRun, space string) {
	u.stats.busy.Add(-1)
	u.mu.Lock()
	u.refillSparesLocked(in)
	u.disposing++
	u.stats.background.Add(1)
	u.mu.Unlock()
	u.slots.releaseSlot(space)
	u.bg.Go(func() {
		if r != nil {
			r.cleanup()
		}
		u.sup.release(in)
		u.mu.Lock()
		u.disposing--
		u.stats.background.Add(-1)
		u.mu.Unlock()
	})
}

// acquireBrowser takes a render slot for space, like TemplatePool.acquire,
// but then only the current browser rather than one of its warm tabs: a
// URL render opens its own tab in its own browser context. It waits for a
// relaunch as takeTab does.
func (u *URLRenderer) acquireBrowser(ctx context.Context, space string) (*instance, error) {
	if err := u.slots.takeSlot(ctx, space); err != nil {
		return nil, err
	}
	in, err := u.claimBrowser(ctx)
	if err != nil {
		u.slots.releaseSlot(space)
		return nil, err
	}
	u.stats.busy.Add(1)
	return in, nil
}

// claimBrowser waits for a live current browser and claims it.
func (u *URLRenderer) claimBrowser(ctx context.Context) (*instance, error) {
	var w downWait
	defer w.stop()
	for {
		if !u.sup.running() {
			return nil, ErrStopped
		}
		in, changed, down, err := u.sup.watch(&w, true)
		switch {
		case err != nil:
			return nil, err
		case in != nil:
			return in, nil
		}
		if err := u.sup.await(ctx, "browser", changed, down, nil); err != nil {
			return nil, err
		}
	}
}

// renderIn runs one URL render in browser in, in a spare context if one
// is ready, and classifies its error. It returns the run, whose cleanup is
// the caller's, whenever a browser context was (or may have been) made.
func (u *URLRenderer) renderIn(ctx context.Context, in *instance, req URLRequest) (*URLResult, *urlRun, error) {
	timeout := u.renderTimeout(req)
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errRenderDeadline)
	defer cancel()
	// The page's renderer dying (Inspector.targetCrashed) ends the render
	// at once, with errPageCrashed as the cause.
	rctx, crash := context.WithCancelCause(tctx)
	defer crash(nil)
	// A dead browser never answers; stop waiting as soon as it is gone.
	stop := context.AfterFunc(in.ctx, cancel)
	defer stop()

	r := u.takeSpare(in, req)
	var err error
	if r == nil {
		r = newURLRun(u, in)
		err = r.setup(rctx, nil)
	}
	var res *URLResult
	if err == nil {
		r.claim(req, crash)
		res, err = r.render(rctx)
	}
	if err == nil {
		return res, r, nil
	}
	var domain error
	switch {
	case errors.Is(err, ErrBlockedURL), errors.Is(err, ErrNavigation), errors.Is(err, ErrPageStatus),
		errors.Is(err, ErrSelectorNotFound), errors.Is(err, ErrPageScript), errors.Is(err, ErrBadRequest),
		errors.Is(err, ErrSelectorMissing), errors.Is(err, ErrSelectorPresent), errors.Is(err, ErrArtifactTooLarge),
		errors.Is(err, ErrCaptcha):
		domain = err
	}
	switch {
	case !in.alive():
		return nil, r, fmt.Errorf("render url in chromium pid %d: %w", in.pid, ErrBrowserCrashed)
	case domain != nil:
		return nil, r, domain
	case ctx.Err() != nil:
		return nil, r, fmt.Errorf("render url: %w", ctx.Err())
	case errors.Is(context.Cause(rctx), errPageCrashed):
		return nil, r, fmt.Errorf("render url: the page's renderer crashed: %w", ErrBrowserCrashed)
	case errors.Is(context.Cause(rctx), errRenderDeadline):
		return nil, r, fmt.Errorf("render url: %w after %s (in %v)", ErrRenderTimeout, timeout, err)
	}
	return nil, r, fmt.Errorf("render url: %w", err)
}

// urlRun is the state of one URL render: its proxy, browser context and
// tab, and what the page's events told about it. setup makes the context
// (ahead of time for a spare), claim hands it to one request, render does
// that request, cleanup disposes of it. A urlRun is never used twice.
type urlRun struct {
	ur  *URLRenderer
	in  *instance
	req URLRequest // set by claim; under mu for the proxy's callbacks
	// viewport is what setup set the page to; nil if nothing yet.
	viewport *viewport

	proxy     *egress.Proxy
	bctxID    cdp.BrowserContextID
	targetID  target.ID
	tab       *chromedp.Target   // set once attached
	tabCancel context.CancelFunc // closes the tab and detaches
	abort     context.CancelFunc // stops chromedp's target goroutines
	helpers   sync.WaitGroup     // popup closers and dialog dismissers

	// Written by the proxy and by chromedp's event goroutine; read by run.
	mu          sync.Mutex
	refused     map[string]bool // host:port the proxy refused
	seen        map[string]bool // URLs the page requested
	seenOrder   []string
	inspBlocked []string // refused by Network.setBlockedURLs
	reqURL      map[network.RequestID]string
	inflight    map[network.RequestID]bool
	requests    int // requests started, to notice a short one between polls
	mainFrame   cdp.FrameID
	mainURL     string // last main-frame document request (redirects included)
	status      int
	finalURL    string
	lifecycle   map[cdp.LoaderID]map[string]bool
	crashCancel context.CancelCauseFunc // set by claim
	crashed     bool                    // the page's renderer died
	closed      bool                    // cleanup began; start no more helpers
}

// viewport is a page size and device scale.
type viewport struct {
	width, height int
	scale         float64
}

func newURLRun(u *URLRenderer, in *instance) *urlRun {
	return &urlRun{ur: u, in: in, refused: make(map[string]bool), seen: make(map[string]bool),
		reqURL: make(map[network.RequestID]string), inflight: make(map[network.RequestID]bool),
		lifecycle: make(map[cdp.LoaderID]map[string]bool), crashCancel: func(error) {}}
}

// setup makes the render's proxy, incognito browser context and window,
// attaches to it and applies what every render needs; given a viewport (a
// spare's guess at the next request's), it sets that too. Whatever
// happens, cleanup undoes it.
//
// (Painting a first frame ahead, so the render's capture finds the new
// window's compositor running, did not pay: captures took as long, and
// the extra frame's CPU slowed the render that ran meanwhile.)
func (r *urlRun) setup(ctx context.Context, size *viewport) error {
	proxy, err := egress.NewProxy(egress.ProxyConfig{
		Guard:     r.ur.cfg.Egress,
		Deny:      r.deny,
		OnRefused: r.onRefused,
		Upstream:  r.upstream,
		MaxBytes:  maxRenderBytes,
		Logger:    r.ur.log,
	})
	if err != nil {
		return err
	}
	r.proxy = proxy

	bexec := cdp.WithExecutor(ctx, r.in.browser)
	// "<-loopback>" removes Chromium's implicit bypass of localhost, so
	// loopback destinations go through the guard like any other.
	r.bctxID, err = target.CreateBrowserContext().
		WithProxyServer("http://" + proxy.Addr()).
		WithProxyBypassList("<-loopback>").
		Do(bexec)
	if err != nil {
		return fmt.Errorf("create browser context: %w", err)
	}
	err = browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorDeny).WithBrowserContextID(r.bctxID).Do(bexec)
	if err != nil {
		return fmt.Errorf("deny downloads: %w", err)
	}
	// Its own window, as for warm tabs: a tab hidden behind another
	// produces no frames.
	r.targetID, err = target.CreateTarget("about:blank").WithBrowserContextID(r.bctxID).WithNewWindow(true).Do(bexec)
	if err != nil {
		return fmt.Errorf("create target: %w", err)
	}
	tgt, err := r.attach(ctx)
	if err != nil {
		return err
	}
	tctx := cdp.WithExecutor(ctx, tgt)
	tree, err := page.GetFrameTree().Do(tctx)
	if err != nil {
		return fmt.Errorf("get frame tree: %w", err)
	}
	r.mu.Lock()
	r.mainFrame = tree.Frame.ID
	r.mu.Unlock()
	for _, a := range []chromedp.Action{
		network.SetBlockedURLs(blockedSchemePatterns),
		// The client's css and js must apply even on pages whose
		// Content-Security-Policy forbids inline styles and scripts.
		page.SetBypassCSP(true),
	} {
		if err := a.Do(tctx); err != nil {
			return fmt.Errorf("prepare page: %T: %w", a, err)
		}
	}
	if size != nil {
		if err := emulation.SetDeviceMetricsOverride(int64(size.width), int64(size.height), size.scale, false).Do(tctx); err != nil {
			return fmt.Errorf("prepare page: set viewport: %w", err)
		}
		r.viewport = size
	}
	return nil
}

// claim gives the run to req. crash ends the render when the page's
// renderer dies.
func (r *urlRun) claim(req URLRequest, crash context.CancelCauseFunc) {
	r.mu.Lock()
	r.req, r.crashCancel = req, crash
	r.mu.Unlock()
}

// render does the claimed request in the set-up context.
func (r *urlRun) render(ctx context.Context) (*URLResult, error) {
	r.mu.Lock()
	tgt := r.tab
	r.mu.Unlock()
	tctx := cdp.WithExecutor(ctx, tgt)
	if err := r.prepare(tctx); err != nil {
		return nil, err
	}
	if r.req.URL != "" {
		if err := r.navigateURL(tctx); err != nil {
			return nil, err
		}
	} else if err := r.loadHTML(tctx); err != nil {
		return nil, err
	}
	if err := r.afterLoad(tctx); err != nil {
		return nil, err
	}
	ex, err := r.extract(tctx)
	if err != nil {
		return nil, err
	}
	data, err := r.capture(tctx, ex)
	if err != nil {
		return nil, err
	}
	if !r.req.Extract.any() {
		ex = nil // the file itself was all that was taken
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return &URLResult{
		Result:   Result{Data: data, Extracted: ex},
		Status:   r.status,
		FinalURL: r.finalURL,
		Blocked:  r.blockedLocked(),
	}, nil
}

// attach connects chromedp to the render's target, listening to its events
// from the start. Like newTab it bounds the attach from outside, since a
// deadline on the chromedp context would close the tab.
func (r *urlRun) attach(ctx context.Context) (*chromedp.Target, error) {
	parent, abort := context.WithCancel(r.in.ctx)
	tabCtx, tabCancel := chromedp.NewContext(parent, chromedp.WithTargetID(r.targetID))
	r.abort, r.tabCancel = abort, tabCancel
	chromedp.ListenTarget(tabCtx, r.onEvent)
	err := runBounded(ctx, abort, tabCtx, chromedp.ActionFunc(func(ctx context.Context) error {
		// chromedp enables these for its query helpers; we never use
		// them and they cost events on every DOM change.
		// Network stays on (its events drive waiting and Blocked) but
		// keeps (next to) no response bodies for DevTools, which by
		// default buffers up to 100 MB of them per tab. (0 would mean
		// the default.)
		noBodies := network.Enable().WithMaxTotalBufferSize(1024).WithMaxResourceBufferSize(1024)
		for _, a := range []chromedp.Action{dom.Disable(), css.Disable(), log.Disable(), noBodies} {
			if err := a.Do(ctx); err != nil {
				return fmt.Errorf("disable %T: %w", a, err)
			}
		}
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("attach to target: %w", err)
	}
	tgt := chromedp.FromContext(tabCtx).Target
	r.mu.Lock()
	r.tab = tgt
	r.mu.Unlock()
	return tgt, nil
}

// prepare applies the request's settings that must be in place before the
// page loads.
func (r *urlRun) prepare(ctx context.Context) error {
	req := r.req
	var actions []chromedp.Action
	if v := req.viewport(); r.viewport == nil || *r.viewport != v {
		actions = append(actions, emulation.SetDeviceMetricsOverride(int64(v.width), int64(v.height), v.scale, false))
	}
	if f := req.mediaFeatures(); len(f) > 0 {
		actions = append(actions, emulation.SetEmulatedMedia().WithFeatures(f))
	}
	if req.UserAgent != "" || req.Platform != "" {
		ua, err := r.userAgent(ctx)
		if err != nil {
			return err
		}
		actions = append(actions, emulation.SetUserAgentOverride(ua).WithPlatform(req.Platform))
	}
	h := make(network.Headers, len(req.Headers)+1)
	for k, v := range req.Headers {
		h[k] = v
	}
	if err := r.prepareExtra(ctx, h); err != nil {
		return err
	}
	if err := r.prepareConsent(ctx); err != nil {
		return err
	}
	if err := r.preparePage(ctx); err != nil {
		return err
	}
	if len(h) > 0 {
		actions = append(actions, network.SetExtraHTTPHeaders(h))
	}
	if req.Transparent && (req.Format == FormatPNG || req.Format == FormatWebP) {
		actions = append(actions, emulation.SetDefaultBackgroundColorOverride().WithColor(&cdp.RGBA{R: 0, G: 0, B: 0, A: 0}))
	}
	for _, a := range actions {
		if err := a.Do(ctx); err != nil {
			return fmt.Errorf("prepare page: %T: %w", a, err)
		}
	}
	// Cookies belong to the URL's origin; an HTML render has none.
	if req.URL != "" {
		for _, c := range req.Cookies {
			if err := network.SetCookie(c.Name, c.Value).WithURL(req.URL).Do(ctx); err != nil {
				return fmt.Errorf("set cookie %q: %w", c.Name, err)
			}
		}
	}
	return nil
}

// navigate loads the URL in the main frame and waits as WaitUntil says.
func (r *urlRun) navigate(ctx context.Context) error {
	_, loaderID, errText, isDownload, err := page.Navigate(r.req.URL).Do(ctx)
	if err == nil && errText == "" && isDownload {
		errText = "the URL is a download"
	}
	if err != nil || errText != "" {
		if ctx.Err() != nil {
			return fmt.Errorf("navigate: %w", ctx.Err())
		}
		r.mu.Lock()
		main := cmp.Or(r.mainURL, r.req.URL)
		refused := r.refused[hostPortOf(main)]
		r.mu.Unlock()
		if refused {
			return fmt.Errorf("%w: %s was refused by the egress policy", ErrBlockedURL, main)
		}
		if err == nil {
			err = &navNetError{text: errText}
		}
		return fmt.Errorf("%w: %s: %w", ErrNavigation, r.req.URL, err)
	}
	if err := r.checkStatus(); err != nil {
		return err
	}
	want := "load"
	if r.req.WaitUntil == WaitDOMLoaded {
		want = "DOMContentLoaded"
	}
	if err := r.poll(ctx, "page "+want, func() bool { return r.lifecycle[loaderID][want] }); err != nil {
		return err
	}
	// The status is surely known once the document loaded, even if its
	// event trailed the navigation's answer.
	if err := r.checkStatus(); err != nil {
		return err
	}
	return r.waitNetwork(ctx)
}

// checkStatus fails a fail_on_4xx / fail_on_5xx render on the main frame's
// status.
func (r *urlRun) checkStatus() error {
	r.mu.Lock()
	status := r.status
	r.mu.Unlock()
	if r.req.FailOn4xx && status >= 400 && status < 500 || r.req.FailOn5xx && status >= 500 && status < 600 {
		return fmt.Errorf("render url: main frame answered %d: %w", status, &PageStatusError{Status: status})
	}
	return nil
}

// loadHTML puts the request's HTML into the blank tab. Its subresources
// load through the same proxy as a URL's.
func (r *urlRun) loadHTML(ctx context.Context) error {
	if err := page.SetDocumentContent(r.mainFrame, r.req.document()).Do(ctx); err != nil {
		return fmt.Errorf("set document content: %w", err)
	}
	return r.waitNetwork(ctx)
}

// waitNetwork waits for requestsfinished (nothing in flight) or
// mostrequestsfinished (at most two) to hold for quietPeriod.
func (r *urlRun) waitNetwork(ctx context.Context) error {
	var most int
	switch r.req.WaitUntil {
	case WaitRequestsFinished:
		most = 0
	case WaitMostRequestsFinished:
		most = 2
	default:
		return nil
	}
	quietSince := time.Now()
	lastCount := -1
	return r.poll(ctx, "network to be idle", func() bool {
		// For requestsfinished, a request that started and ended between
		// two polls breaks the quiet too; for mostrequestsfinished only
		// going over two in flight does, so a page that beacons forever
		// still settles.
		started := r.requests != lastCount
		lastCount = r.requests
		if len(r.inflight) > most || most == 0 && started {
			quietSince = time.Now()
		}
		return len(r.inflight) <= most && time.Since(quietSince) >= quietPeriod
	})
}

// poll calls cond (under r.mu) every pollInterval until it holds.
func (r *urlRun) poll(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// afterLoad runs the client's css and js, waits for wait_for and the delay,
// and lets the page settle (images decoded, fonts in) before capture.
func (r *urlRun) afterLoad(ctx context.Context) error {
	req := r.req
	if err := r.cleanPage(ctx); err != nil {
		return err
	}
	if err := r.loadTailwind(ctx); err != nil {
		return err
	}
	if req.CSS != "" {
		if err := injectCSS(ctx, req.CSS); err != nil {
			return fmt.Errorf("inject css: %w", err)
		}
	}
	if req.JS != "" {
		// Awaited, so a script returning a promise finishes before capture.
		if err := evaluateGesture(ctx, req.JS, nil, r.ur.jsUserGesture); err != nil {
			return fmt.Errorf("%w: %w", ErrPageScript, err)
		}
	}
	if err := r.beforeCapture(ctx); err != nil {
		return err
	}
	if err := r.scrollThrough(ctx); err != nil {
		return err
	}
	if err := r.waits(ctx); err != nil {
		return err
	}
	if req.Delay > 0 {
		select {
		case <-time.After(req.Delay):
		case <-ctx.Done():
			return fmt.Errorf("delay: %w", ctx.Err())
		}
	}
	if err := r.killPopups(ctx); err != nil {
		return err
	}
	// domloaded promises not to wait for the rest of the page; still give
	// web fonts a moment, as text without them is wrong, not partial. Only
	// a moment: fonts.ready also waits for the document to finish loading.
	settle := readyScript
	if req.WaitUntil == WaitDOMLoaded || req.SkipWaitForImages {
		settle = `Promise.race([document.fonts && document.fonts.ready, new Promise((r) => setTimeout(r, 500))]).then(() => true, () => true)`
	}
	// skip_wait: capture the page as navigation left it.
	if !req.SkipWait {
		if err := evaluate(ctx, settle, nil); err != nil && ctx.Err() != nil {
			return fmt.Errorf("wait for page to settle: %w", err)
		}
	}
	return r.failIf(ctx)
}

// capture prints the PDF, takes the screenshot, or answers what extract
// took for the html, mhtml and md formats.
func (r *urlRun) capture(ctx context.Context, ex *Extracted) ([]byte, error) {
	req := r.req
	switch req.Format {
	case FormatPDF:
		return r.printPDF(ctx)
	case FormatHTML:
		return ex.HTML, nil
	case FormatMHTML:
		return ex.MHTML, nil
	case FormatMarkdown:
		return ex.Markdown, nil
	case FormatMP4, FormatWebM:
		return r.recordVideo(ctx)
	}
	return r.captureImage(ctx)
}

// clip returns the capture rectangle in CSS pixels of the document, or nil
// to capture the viewport.
func (r *urlRun) clip(ctx context.Context) (*page.Viewport, error) {
	req := r.req
	var x, y, w, h float64
	switch {
	case req.Selector != "":
		var box *struct{ X, Y, W, H float64 }
		js := `(() => { const e = document.querySelector(` + jsString(req.Selector) + `); if (!e) return null;
  const b = e.getBoundingClientRect();
  return {X: b.left + window.scrollX, Y: b.top + window.scrollY, W: b.width, H: b.height}; })()`
		if err := evaluate(ctx, js, &box); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("find selector: %w", err)
			}
			return nil, fmt.Errorf("%w: selector %q: %w", ErrSelectorNotFound, req.Selector, err)
		}
		if box == nil || box.W <= 0 || box.H <= 0 {
			return nil, fmt.Errorf("%w: selector %q matches no visible element", ErrSelectorNotFound, req.Selector)
		}
		// Whole pixels that cover the element.
		x, y = math.Floor(max(box.X, 0)), math.Floor(max(box.Y, 0))
		w, h = math.Ceil(box.X+box.W)-x, math.Ceil(box.Y+box.H)-y
	case req.Clip != nil:
		x, y, w, h = float64(req.Clip.X), float64(req.Clip.Y), float64(req.Clip.Width), float64(req.Clip.Height)
	case req.FullPage:
		var size struct{ W, H float64 }
		js := `({W: Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0),
  H: Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)})`
		if err := evaluate(ctx, js, &size); err != nil {
			return nil, fmt.Errorf("measure page: %w", err)
		}
		w, h = float64(req.Width), max(size.H, float64(req.Height))
		if req.FullWidth {
			w = max(size.W, w)
		}
		if req.MaxHeight > 0 {
			h = min(h, float64(req.MaxHeight))
		}
	default:
		return nil, nil
	}
	w, h = min(w, maxDimension), min(h, maxCaptureHeight)
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("%w: capture area %vx%v is empty", ErrSelectorNotFound, w, h)
	}
	return &page.Viewport{X: x, Y: y, Width: w, Height: h, Scale: 1}, nil
}

// cleanup closes the tab, disposes of the browser context (which also
// closes any window the page opened and drops its cookies and storage) and
// stops the proxy, cutting whatever connections the page still had open.
// It runs on its own deadline, since the render's may be spent.
func (r *urlRun) cleanup() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if r.tabCancel != nil {
		r.tabCancel()
		r.abort()
	}
	if r.bctxID != "" {
		r.in.disposeContext(r.bctxID, "browser context")
	}
	r.helpers.Wait()
	if r.proxy != nil {
		if err := r.proxy.Close(); err != nil {
			r.ur.log.Warn("close egress proxy", "err", err)
		}
	}
}

// deny is the proxy's extra refusal: the ad blocklist, when asked for.
func (r *urlRun) deny(host string) error {
	r.mu.Lock()
	blockAds := r.req.BlockAds
	r.mu.Unlock()
	if blockAds && isAdHost(host) {
		return errors.New("on the ad blocklist")
	}
	return nil
}

// onRefused records a destination the proxy refused.
func (r *urlRun) onRefused(hostport string, _ error) {
	r.mu.Lock()
	r.refused[strings.ToLower(hostport)] = true
	r.mu.Unlock()
}

// blockedLocked lists what the render went on without: URLs blocked by
// scheme, and every URL the page asked for whose destination the proxy
// refused. A refused destination no recorded URL explains (a request from
// a cross-origin frame, whose events go to another session) is listed as
// host:port.
func (r *urlRun) blockedLocked() []string {
	var out []string
	listed := make(map[string]bool)
	add := func(s string) {
		if !listed[s] {
			listed[s] = true
			out = append(out, s)
		}
	}
	for _, u := range r.inspBlocked {
		add(u)
	}
	explained := make(map[string]bool)
	for _, u := range r.seenOrder {
		if hp := hostPortOf(u); r.refused[hp] {
			add(u)
			explained[hp] = true
		}
	}
	var unexplained []string
	for hp := range r.refused {
		if !explained[hp] {
			unexplained = append(unexplained, hp)
		}
	}
	slices.Sort(unexplained)
	for _, hp := range unexplained {
		add(hp)
	}
	return out
}

// onEvent records what the page does. It runs on chromedp's event
// goroutine, so it must not block or call CDP itself.
func (r *urlRun) onEvent(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.sawLocked(ev.Request.URL)
		r.reqURL[ev.RequestID] = ev.Request.URL
		r.inflight[ev.RequestID] = true
		r.requests++
		if ev.Type == network.ResourceTypeDocument && ev.FrameID == r.mainFrame {
			r.mainURL = ev.Request.URL
		}
	case *network.EventWebSocketCreated:
		r.sawLocked(ev.URL)
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.FrameID == r.mainFrame && ev.Response != nil {
			r.status = int(ev.Response.Status)
			r.finalURL = ev.Response.URL
		}
	case *network.EventLoadingFinished:
		delete(r.inflight, ev.RequestID)
	case *network.EventLoadingFailed:
		delete(r.inflight, ev.RequestID)
		// Only our own blocking (setBlockedURLs); the page's CSP or mixed
		// content rules are its business, not a refusal.
		if ev.BlockedReason == network.BlockedReasonInspector {
			if u := r.reqURL[ev.RequestID]; u != "" {
				r.inspBlocked = append(r.inspBlocked, u)
			}
		}
	case *page.EventLifecycleEvent:
		if ev.FrameID == r.mainFrame {
			m := r.lifecycle[ev.LoaderID]
			if m == nil {
				m = make(map[string]bool)
				r.lifecycle[ev.LoaderID] = m
			}
			m[ev.Name] = true
		}
	case *fetch.EventRequestPaused:
		r.onPausedLocked(ev)
	case *inspector.EventTargetCrashed:
		r.crashed = true
		r.crashCancel(errPageCrashed)
	case *target.EventTargetCreated:
		// A window the page opened (window.open, target=_blank): close it.
		// Its requests would pass the proxy anyway, but it costs a renderer
		// and nobody sees it.
		if info := ev.TargetInfo; !r.closed && info != nil && info.BrowserContextID == r.bctxID && info.TargetID != r.targetID && info.Type == "page" {
			r.helpers.Go(func() { r.closeTarget(info.TargetID) })
		}
	case *page.EventJavascriptDialogOpening:
		// alert(), confirm() and prompt() stop the page's script until
		// answered, which would stall the render until its deadline.
		// They are dismissed unless AcceptDialogs.
		if !r.closed && r.tab != nil {
			tgt, accept, text := r.tab, r.req.AcceptDialogs, ev.DefaultPrompt
			r.helpers.Go(func() { r.answerDialog(tgt, accept, text) })
		}
	}
}

func (r *urlRun) sawLocked(u string) {
	if !r.seen[u] {
		r.seen[u] = true
		r.seenOrder = append(r.seenOrder, u)
	}
}

func (r *urlRun) closeTarget(id target.ID) {
	ctx, cancel := context.WithTimeout(r.in.ctx, cleanupTimeout)
	defer cancel()
	if err := target.CloseTarget(id).Do(cdp.WithExecutor(ctx, r.in.browser)); err != nil {
		r.in.log.Debug("close popup", "err", err)
	}
}

// answerDialog accepts (a prompt with text) or dismisses the open dialog.
func (r *urlRun) answerDialog(tgt *chromedp.Target, accept bool, text string) {
	ctx, cancel := context.WithTimeout(r.in.ctx, cleanupTimeout)
	defer cancel()
	a := page.HandleJavaScriptDialog(accept)
	if accept {
		a = a.WithPromptText(text)
	}
	if err := a.Do(cdp.WithExecutor(ctx, tgt)); err != nil {
		r.in.log.Debug("answer dialog", "err", err)
	}
}

// evaluate runs js in the page, awaiting a promise, and decodes its value
// into out (if not nil). A thrown exception is an error.
func evaluate(ctx context.Context, js string, out any) error {
	return evaluateGesture(ctx, js, out, false)
}

// evaluateGesture is evaluate, run as if the user had clicked when gesture
// is set (which lets the script open windows, as tests need to).
func evaluateGesture(ctx context.Context, js string, out any, gesture bool) error {
	res, exc, err := runtime.Evaluate(js).WithAwaitPromise(true).WithReturnByValue(true).WithUserGesture(gesture).Do(ctx)
	if err != nil {
		return err
	}
	if exc != nil {
		msg := exc.Text
		if exc.Exception != nil && exc.Exception.Description != "" {
			msg = exc.Exception.Description
		}
		return fmt.Errorf("script threw: %s", firstLine(msg))
	}
	if out != nil && res != nil && len(res.Value) > 0 {
		if err := json.Unmarshal(res.Value, out); err != nil {
			return fmt.Errorf("decode script result: %w", err)
		}
	}
	return nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// maxToolOutput is how much of an encoder's output (ffmpeg, avifenc) is
// kept for its error message.
const maxToolOutput = 4 << 10

// toolOutput keeps the first maxToolOutput bytes an encoder writes and
// drops the rest, so a chatty run cannot grow the server's memory. Give
// the same one as a command's Stdout and Stderr: exec then copies both
// from one pipe, never concurrently.
type toolOutput struct{ b []byte }

func (o *toolOutput) Write(p []byte) (int, error) {
	if room := maxToolOutput - len(o.b); room > 0 {
		o.b = append(o.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (o *toolOutput) String() string { return string(o.b) }
