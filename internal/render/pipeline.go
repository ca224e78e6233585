package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/store"
)

// The one render pipeline. A render has a source: pages of the space
// (page.go) or a client's URL or HTML (url.go). A sync render captures now
// (renderNow); an async one is recorded as queued with its job (enqueue)
// and captured by the job (asyncWorker). Either way a finished render is
// written with what follows it in one transaction (commit): its spooled
// bytes and callback jobs (followUpTx), its webhook deliveries (notifyTx).
// Every write that records a render runs on a context the client cannot
// cancel: once the work is done or decided, its record is not lost.

// source is what a render captures.
type source interface {
	// load gets what the capture needs once a queued render is marked
	// started (a page render's pages and templates); an error fails the
	// render. Sync renders arrive loaded.
	load(ctx context.Context) error
	// capture has a renderer (the browser, or takumi for a page render
	// that may use it) make the file. Its error is what the render's
	// record says (see failMessage).
	capture(ctx context.Context) (*captured, error)
}

// captured is a file a renderer made, and which renderer
// (store.RendererChromium or store.RendererTakumi).
type captured struct {
	*browser.Result
	renderer string
}

// admit takes one request from the space's rate limit and refuses a space
// whose credits are spent.
func (s *Service) admit(ctx context.Context, spaceID string) error {
	if err := s.checkRate(ctx, spaceID); err != nil {
		return err
	}
	return s.checkCredits(ctx, spaceID)
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

// renderNow captures a sync render and records it. A succeeded render is
// recorded in one transaction with its bytes (spooled, unless stored), its
// log entry, its callback jobs and its webhook deliveries before renderNow
// returns; stored puts the file in the bucket first, so the answer's file
// URL works at once. A failed capture is recorded with its render.failed
// webhooks, except a template error: the request's fault, refused before
// any capture, with nothing to record.
func (s *Service) renderNow(ctx context.Context, src source, rec *store.Render, l *store.RequestLog, stored bool, start time.Time) (*Output, error) {
	res, err := src.capture(ctx)
	return s.recordNow(ctx, src, rec, res, err, l, stored, start)
}

// recordNow records a sync render once its capture has answered res or
// err (see renderNow).
func (s *Service) recordNow(ctx context.Context, src source, rec *store.Render, res *captured, err error, l *store.RequestLog, stored bool, start time.Time) (*Output, error) {
	if errors.Is(err, ErrTemplate) {
		return nil, err
	}
	if err != nil {
		s.recordFailed(ctx, rec, failMessage(err), start)
		return nil, fmt.Errorf("render %s: %w", rec.ID, err)
	}
	s.fill(rec, res.Result, start)

	// The client has asked; finish recording even if it hangs up now.
	sctx := context.WithoutCancel(ctx)
	if discards(src) {
		// no_upload: the file is in the answer only, neither stored nor
		// spooled for the store callback.
		rec.BlobKey, stored = "", true
	} else if stored {
		if err := s.storeFile(sctx, src, rec, res.Result); errors.Is(err, ErrStorage) {
			// The client's bucket refused the file: a failed render, the
			// request's log entry pointing at it, no credit.
			s.recordFailed(ctx, rec, err.Error(), start)
			if l != nil {
				l.RenderID, l.Format = rec.ID, rec.Format
			}
			return nil, err
		} else if err != nil {
			return nil, err
		}
	}
	// Named once the file is stored: one in the client's bucket has no
	// blob key (artifactKey).
	art, err := s.sourceArtifacts(sctx, rec, src, res.Result)
	if err != nil {
		return nil, err
	}
	out := &Output{Render: rec, Data: res.Data, FileURL: s.FileURL(rec), Artifacts: art, Renderer: res.renderer}
	rec.TotalMs = time.Since(start).Milliseconds()
	end := time.Now().UTC()
	rec.EndedAt = &end
	l = logEntry(l, rec, 200, end)
	l.QueueMs, l.RenderMs, l.TotalMs = rec.QueueMs, rec.RenderMs, rec.TotalMs
	l.Renderer = res.renderer
	l.CallbackStatus = store.CallbackPending
	l.Callbacks = callback.InitialStates(stored, end)
	if stored {
		l.FileKey = rec.BlobKey
	}
	err = s.commit(sctx, rec, res.Data, stored, art, func(tx store.Tx) error {
		if err := tx.CreateRender(sctx, rec); err != nil {
			return err
		}
		if err := tx.CreateRequestLog(sctx, l); err != nil {
			return fmt.Errorf("log: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record render %s: %w", rec.ID, err)
	}
	return out, nil
}

// recordFailed records a sync render that failed in the browser, with its
// render.failed webhooks, on a context the client cannot cancel, so a
// disconnect does not erase the evidence. A failure to record is logged:
// the caller answers with the render's own error.
func (s *Service) recordFailed(ctx context.Context, rec *store.Render, msg string, start time.Time) {
	rec.Status, rec.Error, rec.BlobKey = store.RenderFailed, msg, ""
	rec.TotalMs = time.Since(start).Milliseconds()
	end := time.Now().UTC()
	rec.EndedAt = &end
	fctx := context.WithoutCancel(ctx)
	if err := s.commit(fctx, rec, nil, false, nil, func(tx store.Tx) error { return tx.CreateRender(fctx, rec) }); err != nil {
		s.log.Error("record failed render", "render_id", rec.ID, "err", err)
	}
}

// fill puts a browser result on a render record.
func (s *Service) fill(rec *store.Render, res *browser.Result, at time.Time) {
	rec.Status = store.RenderSucceeded
	rec.Size = int64(len(res.Data))
	rec.ContentType = res.ContentType
	rec.QueueMs = res.QueueWait.Milliseconds()
	rec.RenderMs = res.RenderTime.Milliseconds()
	rec.BlobKey = fmt.Sprintf("%s/%s/%s.%s", rec.SpaceID, at.UTC().Format("2006/01/02"), rec.ID, extension(browser.Format(rec.Format)))
}

// storeFile puts a render's artifacts in renderhook's bucket, and its
// file in the client's own when the source names one (ErrStorage when it
// refuses), else in renderhook's.
func (s *Service) storeFile(ctx context.Context, src source, rec *store.Render, res *browser.Result) error {
	u, ok := src.(urlSource)
	inTarget := ok && u.target != nil
	if inTarget {
		rec.BlobKey = "" // the file is not renderhook's; its artifacts are (artifactKey)
	}
	if err := s.storeArtifacts(ctx, rec, res.Extracted); err != nil {
		return err
	}
	if inTarget {
		return s.storeInTarget(ctx, u.target, rec, res)
	}
	if err := s.cfg.Bucket.Put(ctx, rec.BlobKey, res.Data, res.ContentType); err != nil {
		return fmt.Errorf("store render %s: %w", rec.ID, err)
	}
	now := time.Now().UTC()
	rec.StoredAt = &now
	return nil
}

// discards reports whether src's file is stored nowhere (no_upload).
func discards(src source) bool {
	u, ok := src.(urlSource)
	return ok && u.opts != nil && u.opts.NoUpload
}

// failMessage is what a failed render's record and webhook say.
func failMessage(err error) string {
	var ps *browser.PageStatusError
	if errors.As(err, &ps) {
		return fmt.Sprintf("page answered %d and fail_on_%dxx was true", ps.Status, ps.Status/100)
	}
	return err.Error()
}

// logEntry is the request's log entry as the API filled it (or a bare one
// for callers that fill none), completed with the render's outcome.
func logEntry(l *store.RequestLog, rec *store.Render, status int, now time.Time) *store.RequestLog {
	if l == nil {
		l = &store.RequestLog{ID: rec.RequestID, CreatedAt: rec.CreatedAt}
	}
	l.SpaceID, l.Status = rec.SpaceID, status
	l.DurationMs = now.Sub(l.CreatedAt).Milliseconds()
	l.RenderID, l.Format, l.Size = rec.ID, rec.Format, rec.Size
	return l
}

// commit writes a finished render and what follows it in one transaction:
// write puts the render's row (and its log entry); a succeeded render's
// bytes are spooled (unless stored) and its callback jobs queued; every
// finished render's webhooks are queued (with art, a v1 render's
// artifacts, in a render.succeeded).
func (s *Service) commit(ctx context.Context, rec *store.Render, data []byte, stored bool, art *Artifacts, write func(tx store.Tx) error) error {
	return s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		if rec.Status != store.RenderSucceeded {
			return s.notifyTx(ctx, tx, rec, nil)
		}
		return s.followUpTx(ctx, tx, rec, data, stored, art)
	})
}

// followUpTx queues what follows a succeeded render: its spooled bytes,
// the callback jobs and the webhook deliveries.
func (s *Service) followUpTx(ctx context.Context, tx store.Tx, rec *store.Render, data []byte, stored bool, art *Artifacts) error {
	if !stored {
		if err := tx.SpoolRender(ctx, rec.ID, data, time.Now().UTC()); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if err := s.cfg.Queue.InsertTx(ctx, tx, callback.Jobs(rec)...); err != nil {
		return fmt.Errorf("queue callbacks: %w", err)
	}
	return s.notifyTx(ctx, tx, rec, art)
}

// notifyTx queues the webhook deliveries of a finished render: to the
// space's endpoints and to rec.WebhookURL, with rec's request id,
// metadata and custom_id (none for a render with skip_webhooks); a
// render.succeeded names art's URLs and page metadata.
func (s *Service) notifyTx(ctx context.Context, tx store.Tx, rec *store.Render, art *Artifacts) error {
	if rec.SkipWebhooks {
		return nil // skip_webhooks: the callbacks still run, no webhook is sent
	}
	start := rec.CreatedAt
	if rec.StartedAt != nil {
		start = *rec.StartedAt
	}
	end := time.Now().UTC()
	if rec.EndedAt != nil {
		end = *rec.EndedAt
	}
	x := delivery.Extra{RequestID: rec.RequestID, PageID: rec.PageID, Format: rec.Format, CustomID: rec.CustomID}
	if rec.Metadata != "" {
		x.Metadata = json.RawMessage(rec.Metadata)
	}
	if art != nil {
		x.HTMLURL, x.MHTMLURL, x.MarkdownURL, x.MetadataURL = art.HTMLURL, art.MHTMLURL, art.MarkdownURL, art.MetadataURL
		x.PageMetadata, x.CustomData = art.Metadata, art.CustomData
	}
	event := delivery.EventRenderSucceeded
	payload := func() []byte { return delivery.SucceededPayload(rec.ID, s.FileURL(rec), rec.Size, start, end, x) }
	if rec.Status != store.RenderSucceeded {
		event = delivery.EventRenderFailed
		payload = func() []byte { return delivery.FailedPayload(rec.ID, rec.Error, start, end, x) }
	}
	if _, err := s.cfg.Notify.EnqueueTx(ctx, tx, rec.SpaceID, rec.WebhookURL, event, rec, payload); err != nil {
		return fmt.Errorf("queue webhooks: %w", err)
	}
	return nil
}

// enqueue records an async render as queued, with its options, its log
// entry (status: 202 for pages, 201 for the v1 API) and its job, in one
// transaction, at the River priority the space's backlog gives it
// (backlogPriority).
func (s *Service) enqueue(ctx context.Context, rec *store.Render, opts any, l *store.RequestLog, status int, job func(priority int) river.JobArgs) error {
	rec.Status = store.RenderQueued
	return s.recordWithJob(ctx, rec, opts, l, status, func(ctx context.Context, tx store.Tx) (river.JobArgs, error) {
		prio, err := backlogPriority(ctx, tx, rec.SpaceID)
		if err != nil {
			return nil, err
		}
		return job(prio), nil
	})
}

// recordWithJob records an unfinished render (queued, or a handed-off
// sync render rendering) with its options, its log entry (answered
// status) and the job job makes, in one transaction.
func (s *Service) recordWithJob(ctx context.Context, rec *store.Render, opts any, l *store.RequestLog, status int,
	job func(ctx context.Context, tx store.Tx) (river.JobArgs, error)) error {
	b, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("encode options: %w", err)
	}
	rec.Options = string(b)
	l = logEntry(l, rec, status, time.Now().UTC())
	l.CallbackStatus = store.CallbackPending
	wctx := context.WithoutCancel(ctx)
	err = s.cfg.Store.InTx(wctx, func(tx store.Tx) error {
		if err := tx.CreateRender(wctx, rec); err != nil {
			return err
		}
		if err := tx.CreateRequestLog(wctx, l); err != nil {
			return err
		}
		args, err := job(wctx, tx)
		if err != nil {
			return err
		}
		return s.cfg.Queue.InsertTx(wctx, tx, args)
	})
	if err != nil {
		return fmt.Errorf("queue render: %w", err)
	}
	return nil
}

// RegisterAsync adds the async render workers (page and v1 URL renders)
// to workers.
func (s *Service) RegisterAsync(workers *river.Workers, jobTimeout time.Duration) {
	s.asyncLimit = jobTimeout
	river.AddWorker(workers, &asyncWorker[AsyncArgs]{s: s, timeout: jobTimeout})
	river.AddWorker(workers, &asyncWorker[URLAsyncArgs]{s: s, timeout: jobTimeout})
}

// asyncJob is what the job of an async render carries, whatever its
// source: its args are AsyncArgs (pages) or URLAsyncArgs (v1).
type asyncJob struct {
	RenderID string `json:"renderId"`
	// Priority is set at insert by the space's backlog (backlogPriority);
	// River keeps it on the job row, not in the args.
	Priority int `json:"-"`
	// At, when set, is when the job may first run (the rescue of a
	// handed-off sync render).
	At time.Time `json:"-"`
}

// JobPriority is the River priority the job is inserted with.
func (a asyncJob) JobPriority() int { return a.Priority }

// JobScheduledAt is when the job may first run (zero: now).
func (a asyncJob) JobScheduledAt() time.Time { return a.At }

func (a asyncJob) renderID() string { return a.RenderID }

// AsyncArgs is the River job that performs an async page render.
type AsyncArgs struct{ asyncJob }

// URLAsyncArgs is the River job that performs an async v1 render.
type URLAsyncArgs struct{ asyncJob }

// Kind is the River job kind.
func (AsyncArgs) Kind() string { return "render.async" }

// Kind is the River job kind.
func (URLAsyncArgs) Kind() string { return "render.url" }

// decodeOptions reads the options a queued render was recorded with.
func decodeOptions[T Options | URLOptions](rec *store.Render) (*T, error) {
	var o T
	if err := json.Unmarshal([]byte(rec.Options), &o); err != nil {
		return nil, fmt.Errorf("decode options: %w", err)
	}
	return &o, nil
}

// asyncArgs are the args of an async render's job, one kind per source.
type asyncArgs interface {
	river.JobArgs
	renderID() string
	// open reads the queued render's options into its source, and whether
	// its file is put in the bucket before it is recorded; an error fails
	// the render. timeout is the job's own.
	open(s *Service, rec *store.Render, timeout time.Duration) (src source, stored bool, err error)
}

// asyncWorker performs the async renders of one source.
type asyncWorker[T asyncArgs] struct {
	river.WorkerDefaults[T]
	s       *Service
	timeout time.Duration
}

func (w *asyncWorker[T]) Timeout(*river.Job[T]) time.Duration { return w.timeout }

func (w *asyncWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	s := w.s
	rec, err := s.cfg.Store.FindRender(ctx, job.Args.renderID())
	if err != nil {
		return fmt.Errorf("load render: %w", err)
	}
	if rec.Status == store.RenderSucceeded || rec.Status == store.RenderFailed {
		return nil // an earlier attempt finished it but crashed before completing the job
	}
	src, stored, err := job.Args.open(s, rec, w.timeout)
	if err != nil {
		return s.finishFailed(ctx, rec, err.Error())
	}
	start := time.Now().UTC()
	if err := s.cfg.Store.MarkRenderStarted(ctx, rec.ID, start); err != nil {
		return fmt.Errorf("mark started: %w", err)
	}
	rec.StartedAt = &start
	if err := src.load(ctx); err != nil {
		return s.finishFailed(ctx, rec, err.Error())
	}
	res, err := src.capture(ctx)
	switch {
	case errors.Is(err, browser.ErrQueueFull):
		// Sync requests have the tabs; come back shortly, at no cost to
		// the attempt count.
		s.delayed(rec.ID)
		return river.JobSnooze(500 * time.Millisecond)
	case errors.Is(err, browser.ErrBrowserCrashed), errors.Is(err, browser.ErrStopped), retryable(err), ctx.Err() != nil:
		s.delayed(rec.ID)
		return fmt.Errorf("render: %w", err) // not the page's fault: retry
	case err != nil:
		return s.finishFailed(ctx, rec, failMessage(err))
	}
	return s.finishSucceeded(ctx, src, rec, res, stored, start)
}

// finishSucceeded records a recorded (queued or handed-off) render whose
// capture succeeded: its file stored (when stored) or spooled, its row
// updated, its callbacks and webhooks queued, in one transaction. An
// error leaves the render to be rendered again by its job.
func (s *Service) finishSucceeded(ctx context.Context, src source, rec *store.Render, res *captured, stored bool, start time.Time) error {
	s.fill(rec, res.Result, start)
	sctx := context.WithoutCancel(ctx)
	if stored {
		if err := s.storeFile(sctx, src, rec, res.Result); errors.Is(err, ErrStorage) {
			rec.BlobKey = ""
			return s.finishFailed(ctx, rec, err.Error()) // the client's bucket refused: no retry
		} else if err != nil {
			return err // retried
		}
	}
	art, err := s.sourceArtifacts(sctx, rec, src, res.Result) // once stored, as recordNow's
	if err != nil {
		return err // retried
	}
	end := time.Now().UTC()
	rec.EndedAt = &end
	rec.TotalMs = end.Sub(start).Milliseconds()
	err = s.commit(sctx, rec, res.Data, stored, art, func(tx store.Tx) error {
		if err := tx.UpdateRender(sctx, rec); err != nil {
			return err
		}
		return tx.SetLogCallbacks(sctx, rec.ID, res.renderer, callback.InitialStates(stored, end))
	})
	if err != nil {
		return fmt.Errorf("record render: %w", err)
	}
	return nil
}

// delayed records that a render's attempt was snoozed or is to be
// retried (the v1 status "delayed"). Failing to is logged: the render
// still runs again.
func (s *Service) delayed(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.MarkRenderDelayed(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("mark render delayed", "render_id", id, "err", err)
	}
}

// finishFailed records an async render as failed and notifies its webhooks.
func (s *Service) finishFailed(ctx context.Context, rec *store.Render, msg string) error {
	end := time.Now().UTC()
	rec.Status, rec.Error, rec.EndedAt = store.RenderFailed, msg, &end
	fctx := context.WithoutCancel(ctx)
	err := s.commit(fctx, rec, nil, false, nil, func(tx store.Tx) error {
		if err := tx.UpdateRender(fctx, rec); err != nil {
			return err
		}
		return tx.SetLogCallbacks(fctx, rec.ID, "", nil)
	})
	if err != nil {
		return fmt.Errorf("record failed render: %w", err)
	}
	return nil
}
