// Package takumi renders HTML to images without a browser, with takumi
// (https://github.com/kane50613/takumi) run natively in a supervised Node
// helper process (helper/helper.js), spoken to over a pipe. It is supervised
// like the browser: bounded concurrency, a timeout per render, restart on a
// crash, recycling after a number of renders, and sentinel errors.
package takumi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// Version is the takumi release the helper pins (helper/package.json).
const Version = "2.16.3"

// A render's failure wraps the renderers' one set of sentinels
// (browser/errors.go) through takumi's own: a helper that died with the
// render in flight is ErrCrashed (browser.ErrBrowserCrashed), a render
// past Config.Timeout ErrTimeout (browser.ErrRenderTimeout), a renderer
// not started or stopped ErrStopped (browser.ErrStopped), input takumi
// rejects ErrRender (browser.ErrBadRequest). Callers that treat both
// renderers alike (retries) test the browser's; reply's table words
// takumi's first.
var (
	ErrCrashed = fmt.Errorf("takumi: helper crashed: %w", browser.ErrBrowserCrashed)
	ErrTimeout = fmt.Errorf("takumi: %w", browser.ErrRenderTimeout)
	ErrRender  = fmt.Errorf("takumi: %w", browser.ErrBadRequest)
	ErrStopped = fmt.Errorf("takumi: %w", browser.ErrStopped)
	// ErrUnsupported: takumi cannot produce this (a format such as PDF).
	ErrUnsupported = errors.New("takumi: unsupported")
	// ErrUnavailable: node or the helper's npm packages are missing.
	ErrUnavailable = errors.New("takumi: helper unavailable")
)

// Config configures a Renderer. The zero value, after WithDefaults, works
// on a machine where scripts/install-deps.sh has run.
type Config struct {
	// Node is the node binary (default: "node" on PATH).
	Node string
	// HelperDir holds helper.js and its node_modules (default: the
	// directory of this package's source, then ./internal/takumi/helper).
	HelperDir string
	// MaxConcurrent bounds renders in flight (default: twice GOMAXPROCS,
	// at least 4). takumi renders off Node's JS thread, on libuv's thread
	// pool, which the helper is given as many threads as this: with more
	// renders in flight than cores, one's drawing overlaps another's
	// framing and PNG encoding, and the helper never waits on the pipe.
	MaxConcurrent int
	// Timeout bounds one render, queueing excluded (default 10s).
	Timeout time.Duration
	// RecycleAfter replaces the helper after this many renders (default 5000).
	RecycleAfter int
	// StartTimeout bounds the helper's start, fonts included (default 30s).
	StartTimeout time.Duration
	// Fonts are font files registered at start (default: DefaultFonts()).
	Fonts []string
	// Fetch fetches the http(s) images a render's HTML references; it
	// must be the egress guard's client (egress.Guard.HTTPClient). Nil
	// fetches none: such images are left out, as a refused one is.
	Fetch *http.Client
	// MaxImages bounds the images fetched per render (default 16);
	// MaxImageBytes each one's size (default 8 MiB). Past either the
	// image is left out.
	MaxImages     int
	MaxImageBytes int64
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Node == "" {
		c.Node = "node"
	}
	if c.HelperDir == "" {
		c.HelperDir = defaultHelperDir()
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = max(2*runtime.GOMAXPROCS(0), 4)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RecycleAfter <= 0 {
		c.RecycleAfter = 5000
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.Fonts == nil {
		c.Fonts = DefaultFonts()
	}
	if c.MaxImages <= 0 {
		c.MaxImages = 16
	}
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = 8 << 20
	}
	return c
}

func defaultHelperDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "helper")
		if _, err := os.Stat(filepath.Join(d, "helper.js")); err == nil {
			return d
		}
	}
	return filepath.Join("internal", "takumi", "helper")
}

// DefaultFonts lists the font files Chromium uses here (Debian's
// fonts-liberation, fonts-noto-cjk, fonts-noto-color-emoji), those present.
func DefaultFonts() []string {
	candidates := []string{
		"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSans-Italic.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSans-BoldItalic.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
		"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
	}
	out := []string{}
	for _, f := range candidates {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// Available reports why the helper cannot run here (nil when it can).
func Available(cfg Config) error {
	cfg = cfg.WithDefaults()
	if _, err := exec.LookPath(cfg.Node); err != nil {
		return fmt.Errorf("%w: %s not found: %w", ErrUnavailable, cfg.Node, err)
	}
	for _, p := range []string{"helper.js", "node_modules/@takumi-rs/core", "node_modules/@takumi-rs/helpers"} {
		if _, err := os.Stat(filepath.Join(cfg.HelperDir, p)); err != nil {
			return fmt.Errorf("%w: %w (run scripts/install-deps.sh)", ErrUnavailable, err)
		}
	}
	return nil
}

// Request is one render.
type Request struct {
	HTML          string
	Width, Height int
	// Format is png, jpeg or webp; anything else is ErrUnsupported.
	Format string
	// Quality is for jpeg and lossy webp (0: takumi's default).
	Quality int
	// Images are the bytes of the images HTML references, by src
	// (takumi fetches nothing itself). Render adds those it fetches
	// with Config.Fetch.
	Images []Image
}

// Image is an image's bytes for the src that references it.
type Image struct {
	Src  string `json:"src"`
	Data []byte `json:"data"` // base64 in the helper's JSON
}

// Stats are counters since Start.
type Stats struct {
	Renders, Failures, Restarts, Recycles int64
	// PeakInFlight is the most renders the helper reported in flight at once.
	PeakInFlight int64
	// ImagesRefused counts images left out: refused by the egress guard,
	// failed, or too large.
	ImagesRefused int64
}

// Renderer renders with a supervised takumi helper. Use New, Start, Render, Stop.
type Renderer struct {
	cfg   Config
	slots chan struct{}

	mu      sync.Mutex
	cur     *proc
	stopped bool
	started bool

	renders, failures, restarts, recycles, peak, fetchFailures atomic.Int64
}

// New returns a Renderer for cfg (defaults applied); call Start.
func New(cfg Config) *Renderer {
	cfg = cfg.WithDefaults()
	return &Renderer{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}
}

// Start launches the helper and waits until its fonts are registered.
func (r *Renderer) Start(ctx context.Context) error {
	if err := Available(r.cfg); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrStopped
	}
	p, err := r.spawn(ctx)
	if err != nil {
		return err
	}
	r.cur, r.started = p, true
	return nil
}

// Stop ends the helper; renders in flight fail with browser.ErrBrowserCrashed or browser.ErrStopped.
func (r *Renderer) Stop() {
	r.mu.Lock()
	p := r.cur
	r.cur, r.stopped = nil, true
	r.mu.Unlock()
	if p != nil {
		p.kill()
		<-p.dead
	}
}

// Stats returns the counters.
func (r *Renderer) Stats() Stats {
	return Stats{Renders: r.renders.Load(), Failures: r.failures.Load(), Restarts: r.restarts.Load(),
		Recycles: r.recycles.Load(), PeakInFlight: r.peak.Load(), ImagesRefused: r.fetchFailures.Load()}
}

// Fonts reports how many of Config.Fonts the current helper registered,
// and why the others failed (file: error).
func (r *Renderer) Fonts() (registered int, failed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return 0, nil
	}
	return r.cur.fonts.Registered, r.cur.fonts.Failed
}

// PID is the current helper's process id (0 when none runs), for
// operators and the bench to read its CPU time and memory.
func (r *Renderer) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil || r.cur.cmd.Process == nil {
		return 0
	}
	return r.cur.cmd.Process.Pid
}

// Kill kills the current helper process, as a crash would (for tests and
// operators); the next render starts a new one.
func (r *Renderer) Kill() {
	r.mu.Lock()
	p := r.cur
	r.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Render renders req. Waiting for a slot honours ctx; the render itself is
// bounded by Config.Timeout (and ctx).
func (r *Renderer) Render(ctx context.Context, req Request) ([]byte, error) {
	switch strings.ToLower(req.Format) {
	case "png", "jpeg", "webp":
		req.Format = strings.ToLower(req.Format)
	case "jpg":
		req.Format = "jpeg"
	default:
		return nil, fmt.Errorf("%w: format %q", ErrUnsupported, req.Format)
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("takumi: waiting for a slot: %w", ctx.Err())
	}
	defer func() { <-r.slots }()
	// Fetching waits in the slot too: it is part of the render's work, and
	// is bounded by the render's timeout like the rest.
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req.Images = append(req.Images, r.fetchImages(rctx, req.HTML, req.Images)...)
	if rctx.Err() != nil && ctx.Err() == nil {
		r.failures.Add(1)
		return nil, fmt.Errorf("%w after %s, fetching images", ErrTimeout, r.cfg.Timeout)
	}
	p, err := r.proc(ctx)
	if err != nil {
		r.failures.Add(1)
		return nil, err
	}
	raw := req.Format == "png" && req.Width > 0 && req.Height > 0 && req.Width*req.Height <= maxRawPixels
	if raw {
		req.Format = "raw" // encoded here (png.go)
	}
	img, err := r.renderOn(ctx, p, req)
	if err == nil && raw {
		pix := img
		img, err = encodePNG(pix, req.Width, req.Height)
		putFrame(pix)
	}
	if err != nil {
		r.failures.Add(1)
		return nil, err
	}
	r.renders.Add(1)
	return img, nil
}

// proc returns a live helper, starting one after a crash and replacing one
// that has done Config.RecycleAfter renders.
func (r *Renderer) proc(ctx context.Context) (*proc, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || !r.started {
		return nil, ErrStopped
	}
	if r.cur != nil && !r.cur.isDead() && r.cur.used.Load() < int64(r.cfg.RecycleAfter) {
		r.cur.used.Add(1)
		return r.cur, nil
	}
	if r.cur != nil {
		if r.cur.isDead() {
			r.restarts.Add(1)
		} else {
			r.recycles.Add(1)
			r.cur.retire() // finishes what it has in flight, then exits
		}
	}
	p, err := r.spawn(ctx)
	if err != nil {
		r.cur = nil
		return nil, err
	}
	r.cur = p
	p.used.Add(1)
	return p, nil
}
