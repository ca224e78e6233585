package render

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/store"
)

// The page source: a render of pages of the space, each executed from its
// template with its values and the request's tweaks. What the caller may
// render is decided here, on the page versions actually rendered.

// Render checks what the caller may render, the space's rate limit and
// its credits, renders the pages and records the result (see renderNow):
// an answered render is never lost. For JSON output the bytes are stored
// first, so the returned file URL works at once.
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
	if err := s.admit(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	rec := p.record(store.NewRenderID(), req.SpaceID, req.RequestID, o, start)
	src := &pageSource{s: s, o: o, spaceID: req.SpaceID, p: p}
	return s.renderNow(ctx, src, rec, req.Log, o.Output == OutputJSON, start)
}

// Enqueue records an async render as queued, with its log entry (202) and
// its job, in one transaction. The pages are loaded and their templates
// executed first, so a request that cannot render is refused now (404,
// 422) rather than failing later.
func (s *Service) Enqueue(ctx context.Context, req Request) (*store.Render, error) {
	if err := req.authorize(true); err != nil {
		return nil, err
	}
	if err := s.admit(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	o := req.Options
	p, err := s.prepare(ctx, req.SpaceID, o, req.Caller)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, p); err != nil {
		return nil, err
	}
	rec := p.record(store.NewRenderID(), req.SpaceID, req.RequestID, o, time.Now())
	job := func(prio int) river.JobArgs { return AsyncArgs{asyncJob{RenderID: rec.ID, Priority: prio}} }
	if err := s.enqueue(ctx, rec, o, req.Log, 202, job); err != nil {
		return nil, err
	}
	return rec, nil
}

// open reads the queued render's options. Only a token holder can queue
// a render (authorize): the job renders what its caller could. The pages
// are loaded once the render is marked started (load); an async page
// render spools its bytes.
func (AsyncArgs) open(s *Service, rec *store.Render, _ time.Duration) (source, bool, error) {
	o, err := decodeOptions[Options](rec)
	if err != nil {
		return nil, false, err
	}
	return &pageSource{s: s, o: o, spaceID: rec.SpaceID}, false, nil
}

// pageSource is a page render: prepared by the sync path, or loaded by
// its job (load).
type pageSource struct {
	s       *Service
	o       *Options
	spaceID string
	p       *prepared
}

func (src *pageSource) load(ctx context.Context) error {
	p, err := src.s.prepare(ctx, src.spaceID, src.o, CallerToken)
	src.p = p
	return err
}

func (src *pageSource) capture(ctx context.Context) (*captured, error) {
	if src.s.useTakumi(ctx, src.p, src.o) {
		return src.s.captureTakumi(ctx, src.p, src.o)
	}
	res, err := src.s.cfg.Browser.Render(ctx, src.s.browserRequest(src.p, src.o, src.spaceID))
	if err != nil {
		return nil, err // unwrapped: the browser's error is what the render's record says
	}
	return &captured{Result: res, renderer: store.RendererChromium}, nil
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
