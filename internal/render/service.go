// Package render turns pages into files: it merges a page's values with the
// request's tweaks, executes the page's template, has the browser pool
// capture the result, stores the bytes and records the render.
package render

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
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
	// Queue receives the post-render callbacks (store, log, credits). Nil
	// disables them: renders are then neither stored, logged nor billed,
	// which only the benchmark's baseline wants.
	Queue Enqueuer
	// Notify sends webhooks for finished renders; nil sends none.
	Notify Notifier
	// RateLimitRefresh is how long a node trusts a space's limit as last
	// read; default DefaultRateLimitRefresh.
	RateLimitRefresh time.Duration
	// Limits bound each render's template executions (HTML size, steps,
	// time, for all its pages together).
	Limits Limits
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
}

// NewService validates cfg and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Browser == nil || cfg.Bucket == nil || cfg.Signer == nil {
		return nil, errors.New("render: Store, Browser, Bucket and Signer are required")
	}
	if err := cfg.Limits.validate(); err != nil {
		return nil, err
	}
	cfg.Limits = cfg.Limits.withDefaults()
	return &Service{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), checks: make(chan struct{}, runtime.GOMAXPROCS(0))}, nil
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

// Output is a finished render: the record, the bytes and the timings.
type Output struct {
	Render  *store.Render
	Data    []byte
	FileURL string
}

// Notifier fans a render's outcome out to webhooks, in a transaction.
type Notifier interface {
	EnqueueTx(ctx context.Context, tx store.Tx, spaceID, webhookURL, event string, r *store.Render, payload []byte) ([]string, error)
}

// prepared is a render ready for the browser: its pages are loaded and
// their values checked; their templates run once the pool admits the
// render (see browserRequest).
type prepared struct {
	pages     []browser.Page // sizes only; build fills in the HTML
	runs      []*pageRun
	first     *store.Template
	firstPage string
}

// pageRun is one page's template execution, ready to run.
type pageRun struct {
	t    *compiled
	data map[string]any
}

// prepare builds every page of a render; an anonymous caller gets only
// pages whose template, in the version rendered, needs no token.
func (s *Service) prepare(ctx context.Context, spaceID string, o *Options, caller Caller) (*prepared, error) {
	p := &prepared{pages: make([]browser.Page, 0, len(o.Pages))}
	for _, ref := range o.Pages {
		tpl, run, err := s.buildPage(ctx, spaceID, ref, o, caller == CallerAnonymous)
		if err != nil {
			return nil, err
		}
		if p.first == nil {
			p.first, p.firstPage = tpl, ref.PageID
		}
		p.pages = append(p.pages, browser.Page{Width: tpl.Width, Height: tpl.Height})
		p.runs = append(p.runs, run)
	}
	return p, nil
}

// build executes the pages' templates within the service's limits (for
// all pages together) and ctx. Errors wrap ErrTemplate
// (ErrTemplateTooLarge past a limit).
func (s *Service) build(ctx context.Context, p *prepared) ([]browser.Page, error) {
	pages := make([]browser.Page, len(p.pages))
	b := newBudget(s.cfg.Limits)
	for i, run := range p.runs {
		html, err := run.t.execute(ctx, b, run.data)
		if err != nil {
			return nil, err
		}
		pages[i] = p.pages[i]
		pages[i].HTML = html
	}
	return pages, nil
}

// browserRequest is the pool request of a prepared render: the templates
// are executed by Build once the pool has given the render its slot, so
// --max-renders and the queue bound template work as they bound captures.
func (s *Service) browserRequest(p *prepared, o *Options, spaceID string) browser.Request {
	return browser.Request{
		Pages: p.pages, Format: o.Format, Quality: o.Quality, SpaceID: spaceID,
		Build: func(ctx context.Context) ([]browser.Page, error) { return s.build(ctx, p) },
	}
}

// check executes the templates of a render that will run later (async),
// so a template that cannot execute is refused now. It runs outside the
// pool, so at most GOMAXPROCS such checks run at once.
func (s *Service) check(ctx context.Context, p *prepared) error {
	select {
	case s.checks <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("check template: %w", ctx.Err())
	}
	defer func() { <-s.checks }()
	_, err := s.build(ctx, p)
	return err
}

func (p *prepared) record(id, spaceID, requestID string, o *Options, at time.Time) *store.Render {
	return &store.Render{
		ID: id, SpaceID: spaceID, RequestID: requestID, PageID: p.firstPage, TemplateID: p.first.ID,
		Format: string(o.Format), Width: p.first.Width, Height: p.first.Height, WebhookURL: o.WebhookURL, CreatedAt: at.UTC(),
	}
}

// fill puts a browser result on a render record.
func (s *Service) fill(rec *store.Render, res *browser.Result, o *Options, at time.Time) {
	rec.Status = store.RenderSucceeded
	rec.Size = int64(len(res.Data))
	rec.ContentType = res.ContentType
	rec.QueueMs = res.QueueWait.Milliseconds()
	rec.RenderMs = res.RenderTime.Milliseconds()
	rec.BlobKey = fmt.Sprintf("%s/%s/%s.%s", rec.SpaceID, at.UTC().Format("2006/01/02"), rec.ID, extension(o.Format))
}

// Render checks the space's credits, renders the pages and records the
// result. A succeeded render is recorded in one transaction with its bytes
// (spooled, unless already stored), its log entry, its callback jobs and
// its webhook deliveries, before Render returns: an answered render is
// never lost. For JSON output the bytes are stored first, so the returned
// file URL works at once.
func (s *Service) Render(ctx context.Context, req Request) (*Output, error) {
	start := time.Now()
	o := req.Options
	if err := req.authorize(false); err != nil {
		return nil, err
	}
	// Authorization first (prepare refuses what the caller may not
	// render), so an anonymous caller can neither spend a space's rate
	// limit on pages it may not render nor learn from a 402 or 429 that
	// they exist. prepare only reads; the template runs inside the pool.
	p, err := s.prepare(ctx, req.SpaceID, o, req.Caller)
	if err != nil {
		return nil, err
	}
	if s.cfg.Queue != nil {
		if err := s.checkRate(ctx, req.SpaceID); err != nil {
			return nil, err
		}
		if err := s.checkCredits(ctx, req.SpaceID); err != nil {
			return nil, err
		}
	}
	rec := p.record(store.NewRenderID(), req.SpaceID, req.RequestID, o, start)
	res, err := s.cfg.Browser.Render(ctx, s.browserRequest(p, o, req.SpaceID))
	if errors.Is(err, ErrTemplate) {
		return nil, err // the request's fault, refused before any capture: nothing to record
	}
	if err != nil {
		s.recordFailed(ctx, rec, err.Error(), start)
		return nil, fmt.Errorf("render %s: %w", rec.ID, err)
	}
	s.fill(rec, res, o, start)
	out := &Output{Render: rec, Data: res.Data, FileURL: s.cfg.Signer.URL(rec.BlobKey)}
	if s.cfg.Queue == nil {
		rec.TotalMs = time.Since(start).Milliseconds()
		return out, nil
	}

	// The client has asked; finish recording even if it hangs up now.
	sctx := context.WithoutCancel(ctx)
	stored := o.Output == OutputJSON
	if stored {
		if err := s.cfg.Bucket.Put(sctx, rec.BlobKey, res.Data, res.ContentType); err != nil {
			return nil, fmt.Errorf("store render %s: %w", rec.ID, err)
		}
		now := time.Now().UTC()
		rec.StoredAt = &now
	}
	rec.TotalMs = time.Since(start).Milliseconds()
	end := time.Now().UTC()
	rec.EndedAt = &end
	if err := s.record(sctx, req, rec, res.Data, stored); err != nil {
		return nil, fmt.Errorf("record render %s: %w", rec.ID, err)
	}
	return out, nil
}

// recordFailed records a sync render that failed in the browser, with its
// render.failed webhooks, on a context the client cannot cancel, so a
// disconnect does not erase the evidence. A failure to record is logged:
// the caller answers with the render's own error.
func (s *Service) recordFailed(ctx context.Context, rec *store.Render, msg string, start time.Time) {
	rec.Status, rec.Error = store.RenderFailed, msg
	rec.TotalMs = time.Since(start).Milliseconds()
	end := time.Now().UTC()
	rec.EndedAt = &end
	if s.cfg.Queue == nil {
		return
	}
	fctx := context.WithoutCancel(ctx)
	if err := s.cfg.Store.InTx(fctx, func(tx store.Tx) error {
		if err := tx.CreateRender(fctx, rec); err != nil {
			return err
		}
		return s.notifyTx(fctx, tx, rec)
	}); err != nil {
		s.log.Error("record failed render", "render_id", rec.ID, "err", err)
	}
}

// record commits the render, its spooled bytes, its log entry, its
// callback jobs and its webhook deliveries together.
func (s *Service) record(ctx context.Context, req Request, rec *store.Render, data []byte, stored bool) error {
	now := time.Now().UTC()
	l := req.Log
	if l == nil {
		l = &store.RequestLog{ID: req.RequestID, CreatedAt: rec.CreatedAt}
	}
	l.SpaceID, l.Status = req.SpaceID, 200
	l.DurationMs = now.Sub(l.CreatedAt).Milliseconds()
	l.RenderID, l.Format, l.Size = rec.ID, rec.Format, rec.Size
	l.QueueMs, l.RenderMs, l.TotalMs = rec.QueueMs, rec.RenderMs, rec.TotalMs
	l.CallbackStatus = store.CallbackPending
	l.Callbacks = callback.InitialStates(stored, now)
	if stored {
		l.FileKey = rec.BlobKey
	}
	return s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateRender(ctx, rec); err != nil {
			return err
		}
		if err := s.followUpTx(ctx, tx, rec, data, stored); err != nil {
			return err
		}
		if err := tx.CreateRequestLog(ctx, l); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		return nil
	})
}

// followUpTx queues what follows a succeeded render: its spooled bytes,
// the callback jobs and the webhook deliveries.
func (s *Service) followUpTx(ctx context.Context, tx store.Tx, rec *store.Render, data []byte, stored bool) error {
	if !stored {
		if err := tx.SpoolRender(ctx, rec.ID, data, time.Now().UTC()); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if err := s.cfg.Queue.InsertTx(ctx, tx, callback.Jobs(rec, stored)...); err != nil {
		return err
	}
	return s.notifyTx(ctx, tx, rec)
}

// notifyTx queues the webhook deliveries of a finished render.
func (s *Service) notifyTx(ctx context.Context, tx store.Tx, rec *store.Render) error {
	if s.cfg.Notify == nil {
		return nil
	}
	start := rec.CreatedAt
	if rec.StartedAt != nil {
		start = *rec.StartedAt
	}
	end := time.Now().UTC()
	if rec.EndedAt != nil {
		end = *rec.EndedAt
	}
	x := delivery.Extra{RequestID: rec.RequestID, PageID: rec.PageID, Format: rec.Format}
	if rec.Metadata != "" {
		x.Metadata = json.RawMessage(rec.Metadata)
	}
	event, payload := delivery.EventRenderSucceeded, []byte(nil)
	if rec.Status == store.RenderSucceeded {
		payload = delivery.SucceededPayload(rec.ID, s.cfg.Signer.URL(rec.BlobKey), rec.Size, start, end, x)
	} else {
		event = delivery.EventRenderFailed
		payload = delivery.FailedPayload(rec.ID, rec.Error, start, end, x)
	}
	_, err := s.cfg.Notify.EnqueueTx(ctx, tx, rec.SpaceID, rec.WebhookURL, event, rec, payload)
	return err
}

// checkCredits refuses a render once the space's credits are spent. Spent
// counts renders already billed plus succeeded renders the credits callback
// has not billed yet, so the limit can be overshot only by renders that
// pass this check at the same moment: at most the renders in flight.
func (s *Service) checkCredits(ctx context.Context, spaceID string) error {
	c, err := s.cfg.Store.CreditStatus(ctx, spaceID)
	if err != nil {
		return fmt.Errorf("check credits: %w", err)
	}
	if c.Limit > 0 && c.Used+c.Pending >= c.Limit {
		return fmt.Errorf("%w: the space has used %d of its %d credits", ErrCreditLimit, c.Used+c.Pending, c.Limit)
	}
	return nil
}

// buildPage loads one page and its template and returns the execution
// that makes its HTML. When public, the caller is anonymous: the template
// of the very version rendered must need no token, and every refusal
// before that check (unknown page, no published version) is
// ErrTokenRequired, so an anonymous caller learns nothing about pages it
// may not render.
func (s *Service) buildPage(ctx context.Context, spaceID string, ref PageRef, o *Options, public bool) (*store.Template, *pageRun, error) {
	page, err := s.cfg.Store.GetPage(ctx, spaceID, ref.PageID)
	if errors.Is(err, store.ErrNotFound) {
		if public {
			return nil, nil, ErrTokenRequired
		}
		return nil, nil, fmt.Errorf("%w: %s", ErrPageNotFound, truncate(ref.PageID))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load page: %w", err)
	}
	version := page.Published
	if o.Draft {
		version = &page.Draft
	}
	if version == nil {
		if public {
			return nil, nil, ErrTokenRequired
		}
		return nil, nil, fmt.Errorf("%w: page %s has no published version; publish it or pass draft=true", ErrNotPublished, page.ID)
	}
	tpl, err := s.cfg.Store.GetTemplate(ctx, spaceID, version.TemplateID)
	if err != nil {
		return nil, nil, fmt.Errorf("load template %s: %w", version.TemplateID, err)
	}
	// An anonymous caller renders only pages public in every version, the
	// one not asked for included: whatever spelling of draft it sends, it
	// can reach nothing a token would be needed for.
	if public && (tpl.RequireGetRenderToken || !s.publicVersions(ctx, spaceID, page)) {
		return nil, nil, ErrTokenRequired
	}
	if o.TemplateID != "" && o.TemplateID != version.TemplateID {
		return nil, nil, fmt.Errorf("%w: page %s uses template %s, not %s", ErrTemplateMismatch, page.ID, version.TemplateID, truncate(o.TemplateID))
	}
	data, err := ApplyValues(tpl, version.Values, ref.Tweaks)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.cache.get(tpl)
	if err != nil {
		return nil, nil, err
	}
	return tpl, &pageRun{t: t, data: data}, nil
}

// PublicPage reports whether an anonymous caller may render the page:
// every version of it (published and draft) uses a template that needs no
// token. Only then may it learn more about the page than a token-only or
// unknown one would tell, such as why its request is malformed.
func (s *Service) PublicPage(ctx context.Context, spaceID, pageID string) bool {
	page, err := s.cfg.Store.GetPage(ctx, spaceID, pageID)
	if err != nil {
		return false
	}
	return s.publicVersions(ctx, spaceID, page)
}

// publicVersions reports whether every version of page uses a template
// that needs no token.
func (s *Service) publicVersions(ctx context.Context, spaceID string, page *store.Page) bool {
	versions := []*store.PageVersion{&page.Draft}
	if page.Published != nil {
		versions = append(versions, page.Published)
	}
	for _, v := range versions {
		tpl, err := s.cfg.Store.GetTemplate(ctx, spaceID, v.TemplateID)
		if err != nil || tpl.RequireGetRenderToken {
			return false
		}
	}
	return true
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

// templateCache keeps parsed templates by source, so hot pages are not
// re-parsed on every render.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*compiled
}

func (c *templateCache) get(tpl *store.Template) (*compiled, error) {
	key := tpl.HTML // the source itself: correct across edits, whatever the clock
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
