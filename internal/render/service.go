// Package render turns pages, and clients' URLs and HTML (the v1 API),
// into files: for a page it merges the page's values with the request's
// tweaks and executes the page's template; the browser pool captures the
// result; one pipeline (pipeline.go) stores the bytes, records the render
// and queues what follows it, sync or async, whatever the source.
package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/store"
)

// Errors the HTTP layer maps to statuses.
var (
	// ErrPageNotFound: a page id is unknown in the space (404).
	ErrPageNotFound = errors.New("page not found")
	// ErrNotPublished: the page has no published version and draft was not asked for (422).
	ErrNotPublished = errors.New("page is not published")
	// ErrTemplateMismatch: templateId does not match the page's template (422).
	ErrTemplateMismatch = errors.New("templateId does not match the page")
	// ErrTemplate: the template failed to parse or execute (422).
	ErrTemplate = errors.New("template error")
	// ErrCreditLimit: the space has spent its credits (402).
	ErrCreditLimit = errors.New("credit limit reached")
	// ErrTokenRequired: an anonymous caller asked for something only a
	// token (or a capability) may render: a page whose template requires
	// a token in the version rendered, a page that does not exist, or an
	// async render (401, alike for all, so ids do not leak).
	ErrTokenRequired = errors.New("an API token is required")
)

// Caller is how the caller of a render was authorised. The service
// decides on it, against the page versions it actually renders, what the
// caller may have.
type Caller int

const (
	// CallerAnonymous has neither a token nor a capability (a public GET):
	// it may render only pages whose template, in every version rendered,
	// has RequireGetRenderToken false, synchronously and without a
	// webhook_url. It is the zero value, so a forgotten field refuses.
	CallerAnonymous Caller = iota
	// CallerToken holds an API token (or a console session) of the space.
	CallerToken
	// CallerSignedLink holds a page link signed with the space's render
	// secret: the signer chose every parameter, webhook_url included.
	CallerSignedLink
	// CallerGetToken holds the space's GET-render token (?gt=): any page
	// of the space, synchronously and without a webhook_url.
	CallerGetToken
)

// authorize refuses what the caller may not ask for whatever it renders;
// the per-template check is made in buildPage on the template used.
func (r Request) authorize(async bool) error {
	if async && r.Caller != CallerToken {
		return fmt.Errorf("%w: async renders need an API token", ErrTokenRequired)
	}
	if r.Options.WebhookURL != "" && r.Caller != CallerToken && r.Caller != CallerSignedLink {
		return fmt.Errorf("%w: webhook_url needs an API token or a signed link", ErrInvalidInput)
	}
	return nil
}

// Enqueuer inserts jobs in a store transaction.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx store.Tx, args ...river.JobArgs) error
}

// Browser is what the service needs of the browser pool.
type Browser interface {
	Render(ctx context.Context, req browser.Request) (*browser.Result, error)
}

// Config configures the render service.
type Config struct {
	Store   store.Store
	Browser Browser
	// URLBrowser renders clients' URLs and HTML (the v1 API); nil refuses
	// such renders.
	URLBrowser URLBrowser
	Bucket     blob.Bucket
	Signer     *blob.Signer
	// Queue receives, in the transaction that records a render, its job
	// (async renders) and its post-render callbacks (store, log, credits).
	// Required.
	Queue Enqueuer
	// Notify queues the webhooks of finished renders, in the same
	// transaction. Required.
	Notify Notifier
	// RateLimitRefresh is how long a node trusts a space's limit as last
	// read; default DefaultRateLimitRefresh.
	RateLimitRefresh time.Duration
	// Limits bound each render's template executions (HTML size, steps,
	// time, for all its pages together).
	Limits Limits
	// Egress dials the uploads to clients' own buckets (v1 use_s3); nil
	// refuses use_s3.
	Egress *egress.Guard
	// Sealer opens the spaces' sealed storage secrets and seals an async
	// render's own; nil (or empty) has no key: spaces cannot keep
	// secrets, and async renders cannot carry their own.
	Sealer *sealed.Ring
	// Takumi renders page renders whose render type picks it (takumi.go);
	// nil renders every page with Browser.
	Takumi Takumi
	Logger *slog.Logger
}

// Service renders pages.
type Service struct {
	cfg   Config
	log   *slog.Logger
	cache templateCache
	rates rateLimits
	// checks bounds the template executions that run outside the pool's
	// admission control (the up-front check of async renders).
	checks chan struct{}
	// asyncLimit is an async render job's time limit (RegisterAsync).
	asyncLimit time.Duration
	// handedOff counts the handed-off sync renders still capturing.
	handedOff sync.WaitGroup
	// storageRT carries uploads to clients' buckets: the egress guard's
	// transport (every connection dialled by the guard, no proxy from the
	// environment, which would hide the destination from it), each answer
	// awaited at most storageTimeout; nil without Config.Egress.
	storageRT http.RoundTripper
	// fidelity caches, per template version, whether auto picks takumi.
	fidelity fidelityCache
}

// NewService validates cfg and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Browser == nil || cfg.Bucket == nil || cfg.Signer == nil || cfg.Queue == nil || cfg.Notify == nil {
		return nil, errors.New("render: Store, Browser, Bucket, Signer, Queue and Notify are required")
	}
	if err := cfg.Limits.validate(); err != nil {
		return nil, err
	}
	cfg.Limits = cfg.Limits.withDefaults()
	cfg.Sealer = sealer(cfg.Sealer)
	s := &Service{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), checks: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if cfg.Egress != nil {
		s.storageRT = cfg.Egress.HTTPClient(egress.ClientOptions{Timeout: storageTimeout}).Transport
	}
	return s, nil
}

// Request is one render to perform for a space.
type Request struct {
	SpaceID   string
	RequestID string
	Options   *Options
	// Caller is how the request was authorised (see Caller).
	Caller Caller
	// Log is the request's log entry as the API filled it (method, path,
	// sanitised query and body, token prefix); a succeeded render writes
	// it, completed, in the transaction that records the render.
	Log *store.RequestLog
}

// Output is a finished render (page or v1): the record with its timings,
// the bytes and the file's URL.
type Output struct {
	Render *store.Render
	// Data is the file, when it was rendered now; nil for v1 cache hits
	// (OpenRender reads it).
	Data    []byte
	FileURL string
	// CacheHit: a v1 request answered from an earlier render's file.
	CacheHit bool
	// HandedOff: a sync render that outlasted URLRenderRequest.HandOffAfter
	// goes on in the background; Render is its record as rendering (no
	// file yet).
	HandedOff bool
	// Artifacts are a v1 render's stored artifacts and page metadata;
	// nil when it asked for none.
	Artifacts *Artifacts
	// Renderer is which renderer made the file (store.RendererChromium
	// or store.RendererTakumi); "" for a cache hit.
	Renderer string
}

// URLOutput is the Output of a v1 render (the name RenderURL's answer had
// before both sources shared one pipeline).
type URLOutput = Output

// Notifier fans a render's outcome out to webhooks, in a transaction;
// payload is called only when the event has somewhere to go.
type Notifier interface {
	EnqueueTx(ctx context.Context, tx store.Tx, spaceID, webhookURL, event string, r *store.Render, payload func() []byte) ([]string, error)
}

// MaxTemplateSourceBytes bounds a template's own HTML: the source is
// executed statement by statement, and its length bounds the work between
// two of the execution's checks.
const MaxTemplateSourceBytes = 1 << 20

// ParseTemplate parses template HTML the way renders will execute it: with
// the builtins that make strings bounded, a step action in every range and
// template body (see instrument), and ranges over huge number literals
// refused. Executed directly, as tests do, its steps are not counted.
func ParseTemplate(html string) (*template.Template, error) {
	if len(html) > MaxTemplateSourceBytes {
		return nil, fmt.Errorf("%w: the template's HTML is %d bytes, over %d", ErrTemplate, len(html), MaxTemplateSourceBytes)
	}
	t, err := template.New("page").Option("missingkey=zero").Funcs((&execState{}).funcs()).Parse(html)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	if err := checkLiteralRanges(t); err != nil {
		return nil, err
	}
	instrument(t)
	return t, nil
}

func extension(f browser.Format) string {
	if f == browser.FormatJPEG {
		return "jpg"
	}
	return string(f)
}

// templateCache keeps parsed templates, so hot pages are not re-parsed on
// every render. The key is the template's HTML itself, not its id or a
// version or timestamp: an edit changes the key, so a stale parse is never
// used, and templates with the same source share one parse (safe: a parse
// holds no values, and each execution takes its own instance). At more
// than 1000 sources the cache starts afresh.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*compiled
}

func (c *templateCache) get(tpl *store.Template) (*compiled, error) {
	key := tpl.HTML
	c.mu.Lock()
	t, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	master, err := ParseTemplate(tpl.HTML)
	if err != nil {
		return nil, err
	}
	t = &compiled{master: master}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]*compiled{}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}
