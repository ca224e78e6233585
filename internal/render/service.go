// Package render turns pages into files: it merges a page's values with the
// request's tweaks, executes the page's template, has the browser pool
// capture the result, stores the bytes and records the render.
package render

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
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
)

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
	Logger *slog.Logger
}

// Service renders pages.
type Service struct {
	cfg   Config
	log   *slog.Logger
	cache templateCache
}

// NewService validates cfg and returns a service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Browser == nil || cfg.Bucket == nil || cfg.Signer == nil {
		return nil, errors.New("render: Store, Browser, Bucket and Signer are required")
	}
	return &Service{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default())}, nil
}

// Request is one render to perform for a space.
type Request struct {
	SpaceID   string
	RequestID string
	Options   *Options
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

// prepared is a render ready for the browser.
type prepared struct {
	pages     []browser.Page
	first     *store.Template
	firstPage string
}

func (s *Service) prepare(ctx context.Context, spaceID string, o *Options) (*prepared, error) {
	p := &prepared{pages: make([]browser.Page, 0, len(o.Pages))}
	for _, ref := range o.Pages {
		tpl, html, err := s.buildPage(ctx, spaceID, ref, o)
		if err != nil {
			return nil, err
		}
		if p.first == nil {
			p.first, p.firstPage = tpl, ref.PageID
		}
		p.pages = append(p.pages, browser.Page{HTML: html, Width: tpl.Width, Height: tpl.Height})
	}
	return p, nil
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
	if s.cfg.Queue != nil {
		if err := s.checkCredits(ctx, req.SpaceID); err != nil {
			return nil, err
		}
	}
	p, err := s.prepare(ctx, req.SpaceID, o)
	if err != nil {
		return nil, err
	}
	rec := p.record(store.NewRenderID(), req.SpaceID, req.RequestID, o, start)
	res, err := s.cfg.Browser.Render(ctx, browser.Request{Pages: p.pages, Format: o.Format, Quality: o.Quality, SpaceID: rec.SpaceID})
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

// buildPage loads one page and its template and returns the HTML to render.
func (s *Service) buildPage(ctx context.Context, spaceID string, ref PageRef, o *Options) (*store.Template, string, error) {
	page, err := s.cfg.Store.GetPage(ctx, spaceID, ref.PageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("%w: %s", ErrPageNotFound, truncate(ref.PageID))
	}
	if err != nil {
		return nil, "", fmt.Errorf("load page: %w", err)
	}
	version := page.Published
	if o.Draft {
		version = &page.Draft
	}
	if version == nil {
		return nil, "", fmt.Errorf("%w: page %s has no published version; publish it or pass draft=true", ErrNotPublished, page.ID)
	}
	if o.TemplateID != "" && o.TemplateID != version.TemplateID {
		return nil, "", fmt.Errorf("%w: page %s uses template %s, not %s", ErrTemplateMismatch, page.ID, version.TemplateID, truncate(o.TemplateID))
	}
	tpl, err := s.cfg.Store.GetTemplate(ctx, spaceID, version.TemplateID)
	if err != nil {
		return nil, "", fmt.Errorf("load template %s: %w", version.TemplateID, err)
	}
	data, err := ApplyValues(tpl, version.Values, ref.Tweaks)
	if err != nil {
		return nil, "", err
	}
	t, err := s.cache.get(tpl)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return tpl, buf.String(), nil
}

// ParseTemplate parses template HTML the way renders will execute it.
func ParseTemplate(html string) (*template.Template, error) {
	t, err := template.New("page").Option("missingkey=zero").Parse(html)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return t, nil
}

func extension(f browser.Format) string {
	if f == browser.FormatJPEG {
		return "jpg"
	}
	return string(f)
}

// templateCache keeps parsed templates by id and version, so hot pages are
// not re-parsed on every render.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*template.Template
}

func (c *templateCache) get(tpl *store.Template) (*template.Template, error) {
	key := tpl.HTML // the source itself: correct across edits, whatever the clock
	c.mu.Lock()
	t, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := ParseTemplate(tpl.HTML)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]*template.Template{}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}
