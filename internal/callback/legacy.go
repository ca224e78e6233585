package callback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/store"
)

// The callback jobs of earlier versions, one per callback: a render
// recorded by one of them has these queued, and they still run after an
// upgrade. New renders queue FollowUpArgs instead.

// StoreArgs uploads a render's spooled bytes to the blob store.
type StoreArgs struct {
	RenderID string `json:"renderId"`
}

// Kind is the River job kind.
func (StoreArgs) Kind() string { return "render.store" }

// LogArgs attaches the stored file to the render's request log entry.
type LogArgs struct {
	RenderID string `json:"renderId"`
}

// Kind is the River job kind.
func (LogArgs) Kind() string { return "render.log" }

// CreditsArgs bills one credit for a succeeded render.
type CreditsArgs struct {
	RenderID string `json:"renderId"`
	SpaceID  string `json:"spaceId"`
}

// Kind is the River job kind.
func (CreditsArgs) Kind() string { return "render.credits" }

// registerLegacy adds the earlier versions' workers to workers.
func registerLegacy(workers *river.Workers, d *deps) {
	river.AddWorker(workers, &tracked[StoreArgs]{d: d, name: store.CallbackStore, work: d.storeFile})
	river.AddWorker(workers, &tracked[LogArgs]{d: d, name: store.CallbackLog, work: d.attachLogFile})
	river.AddWorker(workers, &tracked[CreditsArgs]{d: d, name: store.CallbackCredits, work: d.addCredit})
}

// tracked is a callback's worker: work runs one attempt, and track
// records its outcome on the render's log entry.
type tracked[A interface {
	river.JobArgs
	renderID() string
}] struct {
	river.WorkerDefaults[A]
	d    *deps
	name string
	work func(ctx context.Context, job *river.Job[A]) error
}

func (w *tracked[A]) Work(ctx context.Context, job *river.Job[A]) error {
	return w.d.track(ctx, w.name, job.Args.renderID(), job.JobRow, w.work(ctx, job))
}

func (a StoreArgs) renderID() string   { return a.RenderID }
func (a LogArgs) renderID() string     { return a.RenderID }
func (a CreditsArgs) renderID() string { return a.RenderID }

// track records the outcome of one attempt on the render's log entry, so
// a callback that keeps failing is visible with its error.
func (d *deps) track(ctx context.Context, name, renderID string, job *rivertype.JobRow, err error) error {
	st := store.CallbackState{State: store.CallbackSucceeded, Attempts: job.Attempt, UpdatedAt: time.Now().UTC()}
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
	case errors.As(err, &snooze):
		return err
	case job.Attempt >= job.MaxAttempts:
		st.State, st.Error = store.CallbackFailed, err.Error()
	default:
		st.State, st.Error = store.CallbackRetrying, err.Error()
	}
	if err != nil {
		d.log.Warn("callback failed", "callback", name, "render_id", renderID, "attempt", job.Attempt, "err", err)
	}
	// The state is bookkeeping; the callback's own outcome decides the job.
	if serr := d.Store.SetCallbackState(context.WithoutCancel(ctx), renderID, name, st); serr != nil && !errors.Is(serr, store.ErrNotFound) {
		d.log.Error("record callback state", "callback", name, "render_id", renderID, "err", serr)
		if err == nil {
			return fmt.Errorf("record callback state: %w", serr)
		}
	}
	return err
}

// storeFile uploads the spooled bytes of a render.
func (d *deps) storeFile(ctx context.Context, job *river.Job[StoreArgs]) error {
	renderID := job.Args.RenderID
	r, err := d.Store.FindRender(ctx, renderID)
	if err != nil {
		return fmt.Errorf("load render: %w", err)
	}
	if r.StoredAt != nil {
		return nil // a previous attempt got this far
	}
	if err := d.upload(ctx, r); err != nil {
		return err
	}
	if err := d.Store.MarkRenderStored(ctx, renderID, time.Now().UTC()); err != nil {
		return fmt.Errorf("mark stored: %w", err)
	}
	return nil
}

// waitForStore is how long the log callback politely waits (snoozing) for
// the store callback before it counts the wait as failed attempts.
const waitForStore = 10 * time.Minute

// attachLogFile records the stored file's key on the render's log entry.
func (d *deps) attachLogFile(ctx context.Context, job *river.Job[LogArgs]) error {
	r, err := d.Store.FindRender(ctx, job.Args.RenderID)
	if err != nil {
		return fmt.Errorf("load render: %w", err)
	}
	if r.StoredAt == nil {
		if time.Since(job.CreatedAt) < waitForStore {
			return river.JobSnooze(500 * time.Millisecond)
		}
		return errors.New("the file is not stored yet (see the store callback)")
	}
	if err := d.Store.AttachLogFile(ctx, r.ID, r.BlobKey); err != nil {
		return fmt.Errorf("attach file to log: %w", err)
	}
	return nil
}

// addCredit bills the render once (the ledger's key is the render id).
func (d *deps) addCredit(ctx context.Context, job *river.Job[CreditsArgs]) error {
	if _, err := d.Store.AddCredit(ctx, job.Args.SpaceID, job.Args.RenderID, 1, time.Now().UTC()); err != nil {
		return fmt.Errorf("add credit: %w", err)
	}
	return nil
}
