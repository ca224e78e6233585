package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/store"
)

// URLBrowser is what the v1 API needs of the browser pool: renders of a
// client's URL or HTML. *browser.Pool satisfies it.
type URLBrowser interface {
	RenderURL(ctx context.Context, req browser.URLRequest) (*browser.URLResult, error)
}

// ErrURLRendersDisabled: the service has no URLBrowser.
var ErrURLRendersDisabled = errors.New("url renders are not configured")

// URLRenderRequest is one v1 render for a space.
type URLRenderRequest struct {
	SpaceID   string
	RequestID string
	Options   *URLOptions
	// CacheTTL is how old a cached render may be to answer this request;
	// zero (or Options.Force) renders afresh. The endpoint decides it from
	// the ttl option and its own default.
	CacheTTL time.Duration
	// Log is the request's log entry as the API filled it; it is written
	// with the render (or the cache hit), in the same transaction.
	Log *store.RequestLog
}

// RenderURL renders a client's URL or HTML and records it like a page
// render (see renderNow): the file is stored before RenderURL returns (so
// FileURL works at once), and the render, its log entry, its callback jobs
// (log, credits) and its webhook deliveries commit in one transaction. A
// request that an earlier identical render answers within CacheTTL is
// served from that render's file, logged as a cache hit, and costs no
// credit.
func (s *Service) RenderURL(ctx context.Context, req URLRenderRequest) (*Output, error) {
	if s.cfg.URLBrowser == nil {
		return nil, ErrURLRendersDisabled
	}
	start := time.Now()
	if err := s.checkRate(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	key := req.Options.CacheKey(req.SpaceID)
	if hit, err := s.cached(ctx, req, key, 200, false); hit != nil || err != nil {
		return hit, err
	}
	if err := s.checkCredits(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	rec := urlRecord(store.NewRenderID(), req, key, start)
	return s.renderNow(ctx, s.urlSource(req.SpaceID, req.Options.Request), rec, req.Log, true, start)
}

// EnqueueURL records an async v1 render as queued, with its log entry
// (201) and its job, in one transaction, and returns the render. When the
// cache answers the request, it returns the cached (succeeded) render and
// true instead, and nothing is queued.
func (s *Service) EnqueueURL(ctx context.Context, req URLRenderRequest) (*store.Render, bool, error) {
	if s.cfg.URLBrowser == nil {
		return nil, false, ErrURLRendersDisabled
	}
	if err := s.checkRate(ctx, req.SpaceID); err != nil {
		return nil, false, err
	}
	key := req.Options.CacheKey(req.SpaceID)
	if hit, err := s.cached(ctx, req, key, 201, true); hit != nil || err != nil {
		if err != nil {
			return nil, false, err
		}
		return hit.Render, true, nil
	}
	if err := s.checkCredits(ctx, req.SpaceID); err != nil {
		return nil, false, err
	}
	rec := urlRecord(store.NewRenderID(), req, key, time.Now())
	job := func(prio int) river.JobArgs { return URLAsyncArgs{asyncJob{RenderID: rec.ID, Priority: prio}} }
	if err := s.enqueue(ctx, rec, req.Options, req.Log, 201, job); err != nil {
		return nil, false, err
	}
	return rec, false, nil
}

func urlRecord(id string, req URLRenderRequest, cacheKey string, at time.Time) *store.Render {
	o := req.Options
	return &store.Render{
		ID: id, SpaceID: req.SpaceID, RequestID: req.RequestID, Format: string(o.Request.Format),
		Width: o.Request.Width, Height: o.Request.Height, WebhookURL: o.WebhookURL, CacheKey: cacheKey,
		Metadata: string(o.Metadata), CreatedAt: at.UTC(),
	}
}

// cached answers req from an earlier render when the cache applies, and
// logs the request as a cache hit with the given status; notify also
// sends the render.succeeded webhook (async requests), with the request's
// own id, metadata and webhook_url. It returns nil, nil on a miss.
func (s *Service) cached(ctx context.Context, req URLRenderRequest, key string, status int, notify bool) (*Output, error) {
	if req.CacheTTL <= 0 || req.Options.Force {
		return nil, nil
	}
	now := time.Now().UTC()
	rec, err := s.cfg.Store.FindCachedRender(ctx, req.SpaceID, key, now.Add(-req.CacheTTL))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up render cache: %w", err)
	}
	l := req.Log
	if l == nil {
		l = &store.RequestLog{ID: req.RequestID, CreatedAt: now}
	}
	l = logEntry(l, rec, status, now)
	l.CacheHit, l.FileKey = true, rec.BlobKey
	l.CallbackStatus = store.CallbackNone
	wctx := context.WithoutCancel(ctx)
	err = s.cfg.Store.InTx(wctx, func(tx store.Tx) error {
		if err := tx.CreateRequestLog(wctx, l); err != nil {
			return err
		}
		if !notify {
			return nil
		}
		// An async request answered from the cache still gets its
		// webhook, as this request's: its id, metadata and webhook_url,
		// started and ended now.
		hit := *rec
		hit.RequestID, hit.Metadata, hit.WebhookURL = req.RequestID, string(req.Options.Metadata), req.Options.WebhookURL
		hit.StartedAt, hit.EndedAt = &now, &now
		return s.notifyTx(wctx, tx, &hit)
	})
	if err != nil {
		return nil, fmt.Errorf("log cache hit: %w", err)
	}
	return &Output{Render: rec, FileURL: s.cfg.Signer.URL(rec.BlobKey), CacheHit: true}, nil
}

// OpenRender returns a succeeded render's file: from the bucket, or from
// the spool while the store callback has not moved it yet.
func (s *Service) OpenRender(ctx context.Context, rec *store.Render) ([]byte, error) {
	f, _, err := s.cfg.Bucket.Open(ctx, rec.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		data, serr := s.cfg.Store.GetSpool(ctx, rec.ID)
		if serr != nil {
			return nil, fmt.Errorf("open render %s: %w", rec.ID, serr)
		}
		return data, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open render %s: %w", rec.ID, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read render %s: %w", rec.ID, err)
	}
	return data, nil
}

// open reads the queued render's options. The job's own timeout (and
// River's rescue of jobs that outlive it) bounds an async render; a longer
// timeout option is cut to fit, so a slow page fails as a timeout rather
// than being retried as stuck. A v1 render is stored before it is
// recorded.
func (URLAsyncArgs) open(s *Service, rec *store.Render, timeout time.Duration) (source, bool, error) {
	o, err := decodeOptions[URLOptions](rec)
	if err != nil {
		return nil, false, err
	}
	if s.cfg.URLBrowser == nil {
		return nil, false, ErrURLRendersDisabled
	}
	if limit := timeout - 10*time.Second; limit > 0 && o.Request.Timeout > limit {
		o.Request.Timeout = limit
	}
	return s.urlSource(rec.SpaceID, o.Request), true, nil
}

// urlSource is a client's URL or HTML, rendered by the URL browser in a
// fresh browser context.
type urlSource struct {
	b   URLBrowser
	req browser.URLRequest
}

func (s *Service) urlSource(spaceID string, req browser.URLRequest) urlSource {
	req.SpaceID = spaceID
	return urlSource{b: s.cfg.URLBrowser, req: req}
}

func (urlSource) load(context.Context) error { return nil }

func (src urlSource) capture(ctx context.Context) (*captured, error) {
	res, err := src.b.RenderURL(ctx, src.req)
	if err != nil {
		return nil, err // unwrapped: failMessage reads it for the record
	}
	return &captured{Result: &res.Result, renderer: store.RendererChromium}, nil
}
