// Package render turns pages into files: it merges a page's values with the
// request's tweaks, executes the page's template, has the browser pool
// capture the result, stores the bytes and records the render.
package render

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"sync"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
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
)

// Browser is what the service needs of the browser pool.
type Browser interface {
	Render(ctx context.Context, req browser.Request) (*browser.Result, error)
}

// Config configures the render service.
type Config struct {
	Store   store.Store
	Browser Browser
	Bucket  blob.Bucket
	Signer  *blob.Signer
	Logger  *slog.Logger
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
}

// Output is a finished render: the record, the bytes and the timings.
type Output struct {
	Render  *store.Render
	Data    []byte
	FileURL string
}

// Timings returns the queue, render and total milliseconds.
func (o *Output) Timings() (queueMs, renderMs, totalMs int64) {
	return o.Render.QueueMs, o.Render.RenderMs, o.Render.TotalMs
}

// Render loads the pages, renders them and stores the result. Bytes are
// stored and the render recorded before it returns, so what the client is
// answered is never lost.
func (s *Service) Render(ctx context.Context, req Request) (*Output, error) {
	start := time.Now()
	o := req.Options
	pages := make([]browser.Page, 0, len(o.Pages))
	var first *store.Template
	var firstPage string
	for _, ref := range o.Pages {
		tpl, html, err := s.buildPage(ctx, req.SpaceID, ref, o)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first, firstPage = tpl, ref.PageID
		}
		pages = append(pages, browser.Page{HTML: html, Width: tpl.Width, Height: tpl.Height})
	}

	rec := &store.Render{
		ID:         store.NewRenderID(),
		SpaceID:    req.SpaceID,
		RequestID:  req.RequestID,
		PageID:     firstPage,
		TemplateID: first.ID,
		Format:     string(o.Format),
		Width:      first.Width,
		Height:     first.Height,
		CreatedAt:  start.UTC(),
	}
	res, err := s.cfg.Browser.Render(ctx, browser.Request{Pages: pages, Format: o.Format, Quality: o.Quality})
	if err != nil {
		rec.Status = store.RenderFailed
		rec.Error = err.Error()
		rec.TotalMs = time.Since(start).Milliseconds()
		// Record the failure on a context the client cannot cancel, so a
		// disconnect does not erase the evidence.
		if serr := s.cfg.Store.CreateRender(context.WithoutCancel(ctx), rec); serr != nil {
			s.log.Error("record failed render", "render_id", rec.ID, "err", serr)
		}
		return nil, fmt.Errorf("render %s: %w", rec.ID, err)
	}
	rec.Status = store.RenderSucceeded
	rec.Size = int64(len(res.Data))
	rec.ContentType = res.ContentType
	rec.QueueMs = res.QueueWait.Milliseconds()
	rec.RenderMs = res.RenderTime.Milliseconds()
	rec.BlobKey = fmt.Sprintf("%s/%s/%s.%s", req.SpaceID, start.UTC().Format("2006/01/02"), rec.ID, extension(o.Format))

	// The client has asked; finish storing even if it hangs up now.
	sctx := context.WithoutCancel(ctx)
	if err := s.cfg.Bucket.Put(sctx, rec.BlobKey, res.Data, res.ContentType); err != nil {
		return nil, fmt.Errorf("store render %s: %w", rec.ID, err)
	}
	rec.TotalMs = time.Since(start).Milliseconds()
	if err := s.cfg.Store.CreateRender(sctx, rec); err != nil {
		return nil, fmt.Errorf("record render %s: %w", rec.ID, err)
	}
	return &Output{Render: rec, Data: res.Data, FileURL: s.cfg.Signer.URL(rec.BlobKey)}, nil
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
