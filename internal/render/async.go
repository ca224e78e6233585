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
	"github.com/renderhook/renderhook/internal/store"
)

// AsyncArgs is the River job that performs an async render.
type AsyncArgs struct {
	RenderID string `json:"renderId"`
	// Priority is set at insert by the space's backlog (backlogPriority);
	// River keeps it on the job row, not in the args.
	Priority int `json:"-"`
}

// JobPriority is the River priority the job is inserted with.
func (a AsyncArgs) JobPriority() int { return a.Priority }

// Kind is the River job kind.
func (AsyncArgs) Kind() string { return "render.async" }

// Enqueue records an async render as queued, with its log entry (202) and
// its job, in one transaction. The pages are loaded and their templates
// executed first, so a request that cannot render is refused now (404,
// 422) rather than failing later.
func (s *Service) Enqueue(ctx context.Context, req Request) (*store.Render, error) {
	if s.cfg.Queue == nil {
		return nil, errors.New("async renders need the job queue")
	}
	if err := req.authorize(true); err != nil {
		return nil, err
	}
	if err := s.checkRate(ctx, req.SpaceID); err != nil {
		return nil, err
	}
	if err := s.checkCredits(ctx, req.SpaceID); err != nil {
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
	opts, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode options: %w", err)
	}
	now := time.Now().UTC()
	rec := p.record(store.NewRenderID(), req.SpaceID, req.RequestID, o, now)
	rec.Status, rec.Options = store.RenderQueued, string(opts)
	l := req.Log
	if l == nil {
		l = &store.RequestLog{ID: req.RequestID, CreatedAt: now}
	}
	l.SpaceID, l.Status, l.RenderID, l.Format = req.SpaceID, 202, rec.ID, rec.Format
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
		return s.cfg.Queue.InsertTx(ctx, tx, AsyncArgs{RenderID: rec.ID, Priority: prio})
	})
	if err != nil {
		return nil, fmt.Errorf("queue render: %w", err)
	}
	return rec, nil
}

// RegisterAsync adds the async render workers (page and v1 URL renders)
// to workers.
func (s *Service) RegisterAsync(workers *river.Workers, jobTimeout time.Duration) {
	river.AddWorker(workers, &asyncWorker{s: s, timeout: jobTimeout})
	river.AddWorker(workers, &urlAsyncWorker{s: s, timeout: jobTimeout})
}

// unfinished loads an async render for its job; finished is true when an
// earlier attempt finished it but crashed before completing the job.
func (s *Service) unfinished(ctx context.Context, renderID string) (rec *store.Render, finished bool, err error) {
	rec, err = s.cfg.Store.FindRender(ctx, renderID)
	if err != nil {
		return nil, false, fmt.Errorf("load render: %w", err)
	}
	return rec, rec.Status == store.RenderSucceeded || rec.Status == store.RenderFailed, nil
}

type asyncWorker struct {
	river.WorkerDefaults[AsyncArgs]
	s       *Service
	timeout time.Duration
}

func (w *asyncWorker) Timeout(*river.Job[AsyncArgs]) time.Duration { return w.timeout }

func (w *asyncWorker) Work(ctx context.Context, job *river.Job[AsyncArgs]) error {
	s := w.s
	rec, finished, err := s.unfinished(ctx, job.Args.RenderID)
	if finished || err != nil {
		return err
	}
	var o Options
	if err := json.Unmarshal([]byte(rec.Options), &o); err != nil {
		return s.finishFailed(ctx, rec, fmt.Errorf("decode options: %w", err))
	}
	start := time.Now().UTC()
	if err := s.cfg.Store.MarkRenderStarted(ctx, rec.ID, start); err != nil {
		return fmt.Errorf("mark started: %w", err)
	}
	rec.StartedAt = &start
	// Only a token holder can queue a render (authorize): the job renders
	// what its caller could.
	p, err := s.prepare(ctx, rec.SpaceID, &o, CallerToken)
	if err != nil {
		return s.finishFailed(ctx, rec, err)
	}
	res, err := s.cfg.Browser.Render(ctx, s.browserRequest(p, &o, rec.SpaceID))
	switch {
	case errors.Is(err, browser.ErrQueueFull):
		// Sync requests have the tabs; come back shortly, at no cost to
		// the attempt count.
		return river.JobSnooze(500 * time.Millisecond)
	case errors.Is(err, browser.ErrBrowserCrashed), errors.Is(err, browser.ErrStopped), ctx.Err() != nil:
		return fmt.Errorf("render: %w", err) // not the page's fault: retry
	case err != nil:
		return s.finishFailed(ctx, rec, err)
	}
	s.fill(rec, res, &o, start)
	end := time.Now().UTC()
	rec.EndedAt = &end
	rec.TotalMs = end.Sub(start).Milliseconds()
	err = s.cfg.Store.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if err := tx.UpdateRender(ctx, rec); err != nil {
			return err
		}
		if err := tx.SetLogCallbacks(ctx, rec.ID, callback.InitialStates(false, end)); err != nil {
			return err
		}
		return s.followUpTx(ctx, tx, rec, res.Data, false)
	})
	if err != nil {
		return fmt.Errorf("record render: %w", err)
	}
	return nil
}

// finishFailed records an async render as failed and notifies its webhooks.
func (s *Service) finishFailed(ctx context.Context, rec *store.Render, cause error) error {
	end := time.Now().UTC()
	rec.Status, rec.Error, rec.EndedAt = store.RenderFailed, cause.Error(), &end
	err := s.cfg.Store.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if err := tx.UpdateRender(ctx, rec); err != nil {
			return err
		}
		if err := tx.SetLogCallbacks(ctx, rec.ID, nil); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, rec)
	})
	if err != nil {
		return fmt.Errorf("record failed render: %w", err)
	}
	return nil
}
