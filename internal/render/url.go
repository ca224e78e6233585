package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	// HandOffAfter, when positive, is how long RenderURL waits for the
	// capture: past it the render is handed off (see handOff) and
	// RenderURL returns at once with Output.HandedOff.
	HandOffAfter time.Duration
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
	id := store.NewRenderID()
	tgt, err := s.target(ctx, req.SpaceID, id, req.Options.Request.Format, req.Options.Storage)
	if err != nil {
		return nil, err
	}
	key := req.Options.CacheKey(req.SpaceID)
	if req.Options.NoUpload {
		// Nothing is kept that a later request could be answered from,
		// nor is one answered from the cache, which serves stored files.
		key, req.CacheTTL, req.HandOffAfter = "", 0, 0
	}
	if hit, err := s.cached(ctx, req, key, 200, false); hit != nil || err != nil {
		return hit, err
	}
	if err := s.checkCredits(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	rec := urlRecord(id, req, key, start)
	if b, err := json.Marshal(withoutSecrets(req.Options)); err == nil {
		rec.Options = string(b) // for the status answer's artifacts (RenderArtifacts)
	}
	src := s.urlSource(req.SpaceID, req.Options)
	src.target = tgt
	if req.HandOffAfter <= 0 {
		return s.renderNow(ctx, src, rec, req.Log, true, start)
	}
	return s.renderOrHandOff(ctx, src, rec, req, start)
}

// captureOutcome is what a capture answered.
type captureOutcome struct {
	res *captured
	err error
}

// renderOrHandOff is renderNow for a capture that may outlast
// req.HandOffAfter. Within it, or when the client leaves first (which
// cancels the capture, as renderNow's would be), the render is recorded
// as renderNow records it. Past it, the render is recorded as rendering
// with its request's log entry (307) and a rescue job, and the capture
// goes on in the background; its outcome is recorded as an async
// render's, once (finishHandedOff).
func (s *Service) renderOrHandOff(ctx context.Context, src urlSource, rec *store.Render, req URLRenderRequest, start time.Time) (*Output, error) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan captureOutcome, 1)
	go func() {
		res, err := src.capture(cctx)
		done <- captureOutcome{res, err}
	}()
	timer := time.NewTimer(req.HandOffAfter)
	defer timer.Stop()
	wait := func() (*Output, error) {
		c := <-done
		cancel()
		return s.recordNow(ctx, src, rec, c.res, c.err, req.Log, true, start)
	}
	select {
	case c := <-done:
		cancel()
		return s.recordNow(ctx, src, rec, c.res, c.err, req.Log, true, start)
	case <-ctx.Done():
		cancel()
		return wait()
	case <-timer.C:
	}
	limit := s.handOffLimit()
	rescueAt := time.Now().Add(limit + handOffRescueMargin)
	if err := s.handOff(ctx, rec, req, start, rescueAt); err != nil {
		s.log.Error("hand off a long sync render", "render_id", rec.ID, "err", err)
		return wait() // not recorded: answer it when it ends, as renderNow does
	}
	answer := *rec
	s.handedOff.Add(1)
	go func() {
		defer s.handedOff.Done()
		defer cancel()
		stop := time.AfterFunc(limit, cancel) // ends before the rescue job may start
		defer stop.Stop()
		c := <-done
		s.finishHandedOff(src, rec, c, start)
	}()
	return &Output{Render: &answer, HandedOff: true}, nil
}

// handOffRescueMargin separates the end of a handed-off capture's time
// limit from the rescue job's start.
const handOffRescueMargin = time.Minute

// handOffLimit bounds a handed-off capture from its hand-off: an async
// render's job limit, and at least twice the longest timeout option.
func (s *Service) handOffLimit() time.Duration {
	return max(s.asyncLimit, 2*MaxV1Timeout)
}

// handOff records a sync render that is still capturing as rendering,
// with its options, its request's log entry (answered 307) and its job,
// scheduled at rescueAt: the job renders it again only if nothing
// recorded its outcome by then (a crash, a shutdown). The options keep
// the request's own credentials sealed for that job, as an async
// render's; a server that cannot seal them does not hand the render off.
func (s *Service) handOff(ctx context.Context, rec *store.Render, req URLRenderRequest, start, rescueAt time.Time) error {
	opts, err := s.sealSecrets(req.Options, rec.ID)
	if err != nil {
		return err
	}
	rec.Status, rec.StartedAt = store.RenderRendering, &start
	return s.recordWithJob(ctx, rec, opts, req.Log, http.StatusTemporaryRedirect, func(context.Context, store.Tx) (river.JobArgs, error) {
		return URLAsyncArgs{asyncJob{RenderID: rec.ID, At: rescueAt}}, nil
	})
}

// finishHandedOff records a handed-off render's outcome as an async
// render's. A capture the browser could not finish (a crash, a shutdown)
// is left to the rescue job, as an async job's attempt would be retried.
func (s *Service) finishHandedOff(src source, rec *store.Render, c captureOutcome, start time.Time) {
	ctx := context.Background()
	var err error
	switch {
	case errors.Is(c.err, browser.ErrBrowserCrashed), errors.Is(c.err, browser.ErrStopped), errors.Is(c.err, browser.ErrQueueFull):
		s.log.Warn("handed-off render left to its job", "render_id", rec.ID, "err", c.err)
		return
	case c.err != nil:
		err = s.finishFailed(ctx, rec, failMessage(c.err))
	default:
		err = s.finishSucceeded(ctx, src, rec, c.res, true, start)
	}
	if err != nil {
		s.log.Error("record handed-off render; its job renders it again", "render_id", rec.ID, "err", err)
	}
}

// WaitHandedOff waits, until ctx ends, for the handed-off sync renders
// still capturing to be recorded (a graceful shutdown, before the browser
// stops).
func (s *Service) WaitHandedOff(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.handedOff.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for handed-off renders: %w", ctx.Err())
	}
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
	id := store.NewRenderID()
	if _, err := s.target(ctx, req.SpaceID, id, req.Options.Request.Format, req.Options.Storage); err != nil {
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
	// The job's copy of the options holds the request's own credentials
	// sealed, never in the clear.
	var err error
	if req.Options, err = s.sealSecrets(req.Options, id); err != nil {
		return nil, false, err
	}
	rec := urlRecord(id, req, key, time.Now())
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
		Metadata: string(o.Metadata), CustomID: o.CustomID, SkipWebhooks: o.SkipWebhooks, CreatedAt: at.UTC(),
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
	if rec.FileURL != "" && req.Options.ResponseType == ResponseBase64 {
		return nil, nil // its bytes are in the client's bucket, not renderhook's: render afresh
	}
	// The same cache key: the same Extract, so the same artifacts.
	art, err := s.artifactsOf(ctx, rec, req.Options, nil, nil)
	if err != nil {
		return nil, err
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
		// webhook, as this request's: its id, metadata, webhook_url,
		// custom_id and skip_webhooks, started and ended now.
		hit := *rec
		hit.RequestID, hit.Metadata, hit.WebhookURL = req.RequestID, string(req.Options.Metadata), req.Options.WebhookURL
		hit.CustomID, hit.SkipWebhooks = req.Options.CustomID, req.Options.SkipWebhooks
		hit.StartedAt, hit.EndedAt = &now, &now
		return s.notifyTx(wctx, tx, &hit, art)
	})
	if err != nil {
		return nil, fmt.Errorf("log cache hit: %w", err)
	}
	return &Output{Render: rec, FileURL: s.FileURL(rec), CacheHit: true, Artifacts: art}, nil
}

// OpenRender returns a succeeded render's file: from the bucket, or from
// the spool while the store callback has not moved it yet.
func (s *Service) OpenRender(ctx context.Context, rec *store.Render) ([]byte, error) {
	data, err := s.readStored(ctx, rec.BlobKey, -1)
	if errors.Is(err, blob.ErrNotFound) {
		data, err = s.cfg.Store.GetSpool(ctx, rec.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("open render %s: %w", rec.ID, err)
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
	if err := s.openSecrets(o, rec.ID); err != nil {
		return nil, false, err
	}
	src := s.urlSource(rec.SpaceID, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // one row read
	defer cancel()
	if src.target, err = s.target(ctx, rec.SpaceID, rec.ID, o.Request.Format, o.Storage); err != nil {
		return nil, false, err
	}
	return src, true, nil
}

// urlSource is a client's URL or HTML, rendered by the URL browser in a
// fresh browser context.
type urlSource struct {
	b    URLBrowser
	req  browser.URLRequest
	opts *URLOptions // which artifacts the answer names (artifacts.go)
	// target is the client's bucket the file goes to; nil for renderhook's.
	target *blob.Target
}

func (s *Service) urlSource(spaceID string, o *URLOptions) urlSource {
	req := o.Request
	req.SpaceID = spaceID
	return urlSource{b: s.cfg.URLBrowser, req: req, opts: o}
}

func (urlSource) load(context.Context) error { return nil }

func (src urlSource) capture(ctx context.Context) (*captured, error) {
	res, err := src.b.RenderURL(ctx, src.req)
	if err != nil {
		return nil, err // unwrapped: failMessage reads it for the record
	}
	return &captured{Result: &res.Result, renderer: store.RendererChromium}, nil
}
