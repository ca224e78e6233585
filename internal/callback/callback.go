// Package callback holds the post-render callbacks the seed describes:
// bill the space, store the bytes, and attach the file to the request's
// log entry. They are one River job per render (FollowUpArgs), inserted in
// the transaction that records the render, whose worker runs the three
// steps in that order, each keyed by the render id and idempotent, so a
// retry or a crash never loses or repeats an effect; each attempt records
// its effects and the steps' states in one transaction. The three jobs
// of earlier versions (legacy.go) still run.
package callback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/store"
)

// FollowUpArgs runs a succeeded render's callbacks: bill it, store its
// spooled bytes (unless they are stored), attach the file to its log
// entry.
type FollowUpArgs struct {
	RenderID string `json:"renderId"`
}

// Kind is the River job kind.
func (FollowUpArgs) Kind() string { return "render.followup" }

// InsertOpts puts follow-up jobs in their own queue.
func (FollowUpArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueName} }

// QueueName is the follow-up jobs' queue. It is fetched less often than
// the default queue (Config.FetchCooldown), so a fetch takes a batch: on
// SQLite, each fetch is a write transaction, and at a fetch per job it
// cost about as much CPU as the job's own work.
const QueueName = "followup"

// Defaults of Config. DefaultFetchCooldown is how often River may fetch
// follow-up jobs, and so the most a render's callbacks wait behind a
// fetch; with DefaultMaxWorkers slots, MaxWorkers per FetchCooldown is the
// ceiling on renders followed up per second on one node (640 at these
// values, above what two cores render).
const (
	DefaultFetchCooldown = 100 * time.Millisecond
	DefaultMaxWorkers    = 64
)

// Queues is what the callback workers need of the queue: a queue of their
// own.
type Queues interface {
	AddQueue(name string, maxWorkers int, fetchCooldown time.Duration)
}

// Jobs returns the callback jobs for a recorded render.
func Jobs(r *store.Render) []river.JobArgs {
	return []river.JobArgs{FollowUpArgs{RenderID: r.ID}}
}

// Kinds are the kinds of every callback job this version works, the
// earlier versions' among them.
func Kinds() []string {
	return []string{FollowUpArgs{}.Kind(), StoreArgs{}.Kind(), LogArgs{}.Kind(), CreditsArgs{}.Kind()}
}

// CreditKinds are the kinds of the callback jobs that bill a render.
func CreditKinds() []string { return []string{FollowUpArgs{}.Kind(), CreditsArgs{}.Kind()} }

// InitialStates is the callback progress a new log entry starts with.
func InitialStates(stored bool, at time.Time) map[string]store.CallbackState {
	m := map[string]store.CallbackState{
		store.CallbackStore:   {State: store.CallbackPending, UpdatedAt: at},
		store.CallbackLog:     {State: store.CallbackPending, UpdatedAt: at},
		store.CallbackCredits: {State: store.CallbackPending, UpdatedAt: at},
	}
	if stored {
		m[store.CallbackStore] = store.CallbackState{State: store.CallbackSucceeded, Attempts: 1, UpdatedAt: at}
	}
	return m
}

// Config holds the workers' dependencies.
type Config struct {
	// Store records renders, logs and credits; required.
	Store store.Store
	// Bucket keeps the rendered files; required.
	Bucket blob.Bucket
	// Logger receives the workers' log lines; default slog.Default().
	Logger *slog.Logger
	// MaxWorkers bounds the follow-up jobs worked at once on this node;
	// default DefaultMaxWorkers.
	MaxWorkers int
	// FetchCooldown is the least time between two fetches of follow-up
	// jobs; default DefaultFetchCooldown.
	FetchCooldown time.Duration
}

// WithDefaults returns c with its unset fields at their defaults.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.Default())
	c.MaxWorkers = cmp.Or(c.MaxWorkers, DefaultMaxWorkers)
	c.FetchCooldown = cmp.Or(c.FetchCooldown, DefaultFetchCooldown)
	return c
}

// Register adds the callback workers to workers and the follow-up
// queue to q (the earlier versions' jobs are in the default queue).
func Register(workers *river.Workers, q Queues, cfg Config) {
	cfg = cfg.WithDefaults()
	d := &deps{Config: cfg, log: cfg.Logger.With("component", "callback")}
	river.AddWorker(workers, &followUpWorker{d: d})
	q.AddQueue(QueueName, cfg.MaxWorkers, cfg.FetchCooldown)
	registerLegacy(workers, d)
}

type deps struct {
	Config
	log *slog.Logger
}

// followUpWorker works FollowUpArgs.
type followUpWorker struct {
	river.WorkerDefaults[FollowUpArgs]
	d *deps
}

// Work runs one attempt: the credit is billed whatever becomes of the
// store step; the log step waits for the file to be stored. A failed
// store step fails the attempt, so the job retries it (the credit is not
// billed again, and its record stands).
func (w *followUpWorker) Work(ctx context.Context, job *river.Job[FollowUpArgs]) error {
	d := w.d
	r, err := d.Store.FindRender(ctx, job.Args.RenderID)
	if err != nil {
		return d.record(ctx, job, store.FollowUp{RenderID: job.Args.RenderID}, nil, fmt.Errorf("load render: %w", err))
	}
	f := store.FollowUp{RenderID: r.ID, SpaceID: r.SpaceID, Credit: true}
	var storeErr error
	// No blob key and not stored: a no_upload render, its file stored
	// nowhere, so nothing to store (and nothing spooled).
	if r.StoredAt == nil && r.BlobKey != "" {
		storeErr = d.upload(ctx, r)
		f.Stored = storeErr == nil
	}
	if storeErr == nil {
		f.AttachFile, f.FileKey = true, r.BlobKey
	}
	return d.record(ctx, job, f, storeErr, nil)
}

// upload puts a render's spooled bytes in the bucket.
func (d *deps) upload(ctx context.Context, r *store.Render) error {
	data, err := d.Store.GetSpool(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("read spooled bytes: %w", err)
	}
	if err := d.Bucket.Put(ctx, r.BlobKey, data, r.ContentType); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// errNotStored is the log step's error while the store step has not
// succeeded.
var errNotStored = errors.New("the file is not stored yet (see the store callback)")

// record writes what an attempt did (f's effects) with the steps' states
// in one transaction: storeErr is the store step's failure, failErr one
// that stopped every step not done (the credit's too). If that
// transaction fails, the states alone are recorded with its error, and
// the attempt fails.
func (d *deps) record(ctx context.Context, job *river.Job[FollowUpArgs], f store.FollowUp, storeErr, failErr error) error {
	ctx = context.WithoutCancel(ctx) // the effects happened: record them
	f.At = time.Now().UTC()
	f.Callbacks = d.states(job, f.At, failErr, cmp.Or(failErr, storeErr))
	_, err := d.Store.RecordFollowUp(ctx, f)
	if err != nil {
		err = fmt.Errorf("record follow-up: %w", err)
		states := store.FollowUp{RenderID: f.RenderID, At: f.At, Callbacks: d.states(job, f.At, err, err)}
		if _, serr := d.Store.RecordFollowUp(ctx, states); serr != nil {
			d.log.Error("record callback states", "render_id", f.RenderID, "err", serr)
		}
	}
	failed := cmp.Or(err, storeErr, failErr)
	if failed != nil {
		d.log.Warn("callback failed", "callback", "followup", "render_id", f.RenderID, "attempt", job.Attempt, "err", failed)
	}
	return failed
}

// states are the steps' states after an attempt: creditErr is the credit
// step's failure, storeErr the store step's (the log step is pending
// behind it, and fails with it on the last attempt).
func (d *deps) states(job *river.Job[FollowUpArgs], at time.Time, creditErr, storeErr error) map[string]store.CallbackState {
	last := job.Attempt >= job.MaxAttempts
	state := func(err error) store.CallbackState {
		st := store.CallbackState{State: store.CallbackSucceeded, Attempts: job.Attempt, UpdatedAt: at}
		switch {
		case err == nil:
		case last:
			st.State, st.Error = store.CallbackFailed, err.Error()
		default:
			st.State, st.Error = store.CallbackRetrying, err.Error()
		}
		return st
	}
	m := map[string]store.CallbackState{
		store.CallbackCredits: state(creditErr),
		store.CallbackStore:   state(storeErr),
		store.CallbackLog:     state(nil),
	}
	switch {
	case storeErr == nil:
	case last:
		m[store.CallbackLog] = state(errNotStored)
	default:
		m[store.CallbackLog] = store.CallbackState{State: store.CallbackPending, Attempts: job.Attempt, UpdatedAt: at}
	}
	return m
}
