package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
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

// URLOutput is a finished (or cached) v1 render.
type URLOutput struct {
	Render *store.Render
	// Data is the file, when it was rendered now; nil for cache hits
	// (OpenRender reads it).
	Data     []byte
	FileURL  string
	CacheHit bool
}

// RenderURL renders a client's URL or HTML and records it like a page
// render: the file is stored before RenderURL returns (so FileURL works at
// once), and the render, its log entry, its callback jobs (log, credits)
// and its webhook deliveries commit in one transaction. A request that an
// earlier identical render answers within CacheTTL is served from that
// render's file, logged as a cache hit, and costs no credit.
func (s *Service) RenderURL(ctx context.Context, req URLRenderRequest) (*URLOutput, error) {
	if s.cfg.URLBrowser == nil {
		return nil, ErrURLRendersDisabled
	}
	start := time.Now()
	o := req.Options
	if s.cfg.Queue != nil {
		if err := s.checkRate(ctx, req.SpaceID); err != nil {
			return nil, err
		}
	}
	key := o.CacheKey(req.SpaceID)
	if hit, err := s.cached(ctx, req, key, 200, false); hit != nil || err != nil {
		return hit, err
	}
	if s.cfg.Queue != nil {
		if err := s.checkCredits(ctx, req.SpaceID); err != nil {
			return nil, err
		}
	}
	rec := urlRecord(store.NewRenderID(), req, key, start)
	breq := o.Request
	breq.SpaceID = req.SpaceID
	res, err := s.cfg.URLBrowser.RenderURL(ctx, breq)
	if err != nil {
		s.recordFailed(ctx, rec, failMessage(err), start)
		return nil, fmt.Errorf("render %s: %w", rec.ID, err)
	}
	s.fill(rec, &res.Result, &Options{Format: o.Request.Format}, start)
	out := &URLOutput{Render: rec, Data: res.Data, FileURL: s.cfg.Signer.URL(rec.BlobKey)}
	if s.cfg.Queue == nil {
		rec.TotalMs = time.Since(start).Milliseconds()
		return out, nil
	}
	sctx := context.WithoutCancel(ctx)
	if err := s.cfg.Bucket.Put(sctx, rec.BlobKey, res.Data, res.ContentType); err != nil {
		return nil, fmt.Errorf("store render %s: %w", rec.ID, err)
	}
	now := time.Now().UTC()
	rec.StoredAt = &now
	rec.TotalMs = time.Since(start).Milliseconds()
	rec.EndedAt = &now
	r := Request{SpaceID: req.SpaceID, RequestID: req.RequestID, Log: req.Log}
	if err := s.record(sctx, r, rec, res.Data, true); err != nil {
		return nil, fmt.Errorf("record render %s: %w", rec.ID, err)
	}
	return out, nil
}

// failMessage is what a failed render's record and webhook say.
func failMessage(err error) string {
	var ps *browser.PageStatusError
	if errors.As(err, &ps) {
		return fmt.Sprintf("page answered %d and fail_on_%dxx was true", ps.Status, ps.Status/100)
	}
	return err.Error()
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
// sends the render.succeeded webhook (async requests). It returns nil, nil
// on a miss.
func (s *Service) cached(ctx context.Context, req URLRenderRequest, key string, status int, notify bool) (*URLOutput, error) {
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
	l.SpaceID, l.Status, l.CacheHit = req.SpaceID, status, true
	l.DurationMs = now.Sub(l.CreatedAt).Milliseconds()
	l.RenderID, l.Format, l.Size, l.FileKey = rec.ID, rec.Format, rec.Size, rec.BlobKey
	l.CallbackStatus = store.CallbackNone
	fileURL := s.cfg.Signer.URL(rec.BlobKey)
	wctx := context.WithoutCancel(ctx)
	err = s.cfg.Store.InTx(wctx, func(tx store.Tx) error {
		if err := tx.CreateRequestLog(wctx, l); err != nil {
			return err
		}
		if !notify || s.cfg.Notify == nil {
			return nil
		}
		// An async request answered from the cache still gets its
		// webhook, with its own metadata and request id.
		x := delivery.Extra{RequestID: req.RequestID, Format: rec.Format, Metadata: req.Options.Metadata}
		payload := delivery.SucceededPayload(rec.ID, fileURL, rec.Size, now, now, x)
		_, err := s.cfg.Notify.EnqueueTx(wctx, tx, req.SpaceID, req.Options.WebhookURL, delivery.EventRenderSucceeded, rec, payload)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("log cache hit: %w", err)
	}
	return &URLOutput{Render: rec, FileURL: fileURL, CacheHit: true}, nil
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

// URLAsyncArgs is the River job that performs an async v1 render.
type URLAsyncArgs struct {
	RenderID string `json:"renderId"`
	// Priority: see AsyncArgs.Priority.
	Priority int `json:"-"`
}

// JobPriority is the River priority the job is inserted with.
func (a URLAsyncArgs) JobPriority() int { return a.Priority }

// Kind is the River job kind.
func (URLAsyncArgs) Kind() string { return "render.url" }

// EnqueueURL records an async v1 render as queued, with its log entry
// (201) and its job, in one transaction, and returns the render. When the
// cache answers the request, it returns the cached (succeeded) render and
// true instead, and nothing is queued.
func (s *Service) EnqueueURL(ctx context.Context, req URLRenderRequest) (*store.Render, bool, error) {
	if s.cfg.URLBrowser == nil || s.cfg.Queue == nil {
		return nil, false, ErrURLRendersDisabled
	}
	if err := s.checkRate(ctx, req.SpaceID); err != nil {
		return nil, false, err
	}
	o := req.Options
	key := o.CacheKey(req.SpaceID)
	if hit, err := s.cached(ctx, req, key, 201, true); hit != nil || err != nil {
		if err != nil {
			return nil, false, err
		}
		return hit.Render, true, nil
	}
	if err := s.checkCredits(ctx, req.SpaceID); err != nil {
		return nil, false, err
	}
	opts, err := json.Marshal(o)
	if err != nil {
		return nil, false, fmt.Errorf("encode options: %w", err)
	}
	now := time.Now().UTC()
	rec := urlRecord(store.NewRenderID(), req, key, now)
	rec.Status, rec.Options = store.RenderQueued, string(opts)
	l := req.Log
	if l == nil {
		l = &store.RequestLog{ID: req.RequestID, CreatedAt: now}
	}
	l.SpaceID, l.Status, l.RenderID, l.Format = req.SpaceID, 201, rec.ID, rec.Format
	l.DurationMs = now.Sub(l.CreatedAt).Milliseconds()
	l.CallbackStatus = store.CallbackPending
	err = s.cfg.Store.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if err := tx.CreateRender(ctx, rec); err != nil {
			return err
		}
		if err := tx.CreateRequestLog(ctx, l); err != nil {
			return err
		}
		prio, err := backlogPriority(ctx, tx, req.SpaceID)
		if err != nil {
			return err
		}
		return s.cfg.Queue.InsertTx(ctx, tx, URLAsyncArgs{RenderID: rec.ID, Priority: prio})
	})
	if err != nil {
		return nil, false, fmt.Errorf("queue render: %w", err)
	}
	return rec, false, nil
}

type urlAsyncWorker struct {
	river.WorkerDefaults[URLAsyncArgs]
	s       *Service
	timeout time.Duration
}

func (w *urlAsyncWorker) Timeout(*river.Job[URLAsyncArgs]) time.Duration { return w.timeout }

func (w *urlAsyncWorker) Work(ctx context.Context, job *river.Job[URLAsyncArgs]) error {
	s := w.s
	rec, finished, err := s.unfinished(ctx, job.Args.RenderID)
	if finished || err != nil {
		return err
	}
	var o URLOptions
	if err := json.Unmarshal([]byte(rec.Options), &o); err != nil {
		return s.finishFailed(ctx, rec, fmt.Errorf("decode options: %w", err))
	}
	if s.cfg.URLBrowser == nil {
		return s.finishFailed(ctx, rec, ErrURLRendersDisabled)
	}
	start := time.Now().UTC()
	if err := s.cfg.Store.MarkRenderStarted(ctx, rec.ID, start); err != nil {
		return fmt.Errorf("mark started: %w", err)
	}
	rec.StartedAt = &start
	// The job's own timeout (and River's rescue of jobs that outlive it)
	// bounds an async render; a longer timeout option is cut to fit, so a
	// slow page fails as a timeout rather than being retried as stuck.
	if limit := w.timeout - 10*time.Second; limit > 0 && o.Request.Timeout > limit {
		o.Request.Timeout = limit
	}
	o.Request.SpaceID = rec.SpaceID
	res, err := s.cfg.URLBrowser.RenderURL(ctx, o.Request)
	switch {
	case errors.Is(err, browser.ErrQueueFull):
		return river.JobSnooze(500 * time.Millisecond)
	case errors.Is(err, browser.ErrBrowserCrashed), errors.Is(err, browser.ErrStopped), ctx.Err() != nil:
		return fmt.Errorf("render: %w", err) // not the page's fault: retry
	case err != nil:
		return s.finishFailed(ctx, rec, errors.New(failMessage(err)))
	}
	s.fill(rec, &res.Result, &Options{Format: o.Request.Format}, start)
	sctx := context.WithoutCancel(ctx)
	if err := s.cfg.Bucket.Put(sctx, rec.BlobKey, res.Data, res.ContentType); err != nil {
		return fmt.Errorf("store render: %w", err)
	}
	end := time.Now().UTC()
	rec.StoredAt, rec.EndedAt = &end, &end
	rec.TotalMs = end.Sub(start).Milliseconds()
	err = s.cfg.Store.InTx(sctx, func(tx store.Tx) error {
		if err := tx.UpdateRender(sctx, rec); err != nil {
			return err
		}
		if err := tx.SetLogCallbacks(sctx, rec.ID, callback.InitialStates(true, end)); err != nil {
			return err
		}
		return s.followUpTx(sctx, tx, rec, res.Data, true)
	})
	if err != nil {
		return fmt.Errorf("record render: %w", err)
	}
	return nil
}
