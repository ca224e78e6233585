// Package queue runs renderhook's durable background work on River
// (github.com/riverqueue/river), in the same database as the rest of the
// data, so jobs are inserted in the transaction that creates their reason
// to exist. Workers are registered by the domain packages that own them.
//
// The database is the store's: SQLite through River's riversqlite driver
// (jobs found by polling), or PostgreSQL through riverpgxv5 on the store's
// pgx pool (jobs announced with LISTEN/NOTIFY, so they start at once on
// whichever node is listening). Callers do not see the difference.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/store"
)

// Config configures the queue.
type Config struct {
	// Store is the store whose database the queue shares (SQLite's
	// single-writer handle or PostgreSQL's pool); required.
	Store store.Store
	// Workers holds every registered worker. Job kinds are checked against
	// it on insert, so an insert-only queue registers them too.
	Workers *river.Workers
	// InsertOnly makes Start build a client that inserts jobs but never
	// works them: no queues are polled or listened to, no leader is
	// elected, and neither periodic nor maintenance work (rescuing stuck
	// jobs, pruning finished ones) runs here. The API role of a node uses
	// it; the nodes that work jobs do all of that.
	InsertOnly bool
	// ID names this client in River's job attempts (attempted_by) and
	// leader election; it must be unique among running processes on the
	// database. Default: River's own (host name and start time).
	ID string
	// NodeID is this node's stable identity on PostgreSQL (the same
	// across its restarts, unique among nodes): with it, a restarted node
	// resumes the jobs its previous process was working at once, instead
	// of after RescueAfter (resume.go). "" turns that off there. SQLite
	// needs none: every job running at start was its own.
	NodeID string
	// PeriodicJobs are enqueued on their schedules by the elected leader.
	PeriodicJobs []*river.PeriodicJob
	// MaxWorkers bounds concurrently worked jobs; default
	// DefaultMaxWorkers.
	MaxWorkers int
	// RetryBase is the first retry delay, doubled per attempt up to
	// RetryMax; defaults DefaultRetryBase and DefaultRetryMax.
	RetryBase, RetryMax time.Duration
	// MaxAttempts per job; default DefaultMaxAttempts (about 1.5 h of
	// retries with the default backoff).
	MaxAttempts int
	// JobTimeout bounds one attempt; default DefaultJobTimeout.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay "running" before River's
	// rescuer hands it to another worker: this is what recovers the jobs a
	// crashed process was holding. It must exceed JobTimeout (by at least
	// a second); default JobTimeout + DefaultRescueMargin. See
	// TakeoverBound for how long a takeover takes.
	RescueAfter time.Duration
	// PollInterval is how often idle workers look for jobs that came due;
	// default DefaultPollInterval. SQLite has no LISTEN/NOTIFY, so polling
	// is how it finds every job. PostgreSQL is told of new jobs at once, on
	// every node; the poll still finds retries and snoozed jobs when they
	// come due, so short retry delays keep their precision on both.
	PollInterval time.Duration
	// FinishedJobRetention caps how long finished jobs (completed,
	// cancelled, discarded) are kept, with their args (a webhook
	// delivery's carry its message: payload and URL), so they do not
	// outlive the request log's retention; 0 keeps River's own periods
	// (24 h, 24 h and 7 days).
	FinishedJobRetention time.Duration
	// Middleware wraps job inserts and work (tracing's trace context).
	Middleware []rivertype.Middleware
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Config's defaults, for flags and help text to show.
const (
	DefaultMaxWorkers   = 16
	DefaultRetryBase    = time.Second
	DefaultRetryMax     = 5 * time.Minute
	DefaultMaxAttempts  = 20
	DefaultJobTimeout   = 30 * time.Second
	DefaultPollInterval = 100 * time.Millisecond
	// DefaultRescueMargin is how much longer than JobTimeout a job may
	// run before it is rescued, unless RescueAfter says otherwise.
	DefaultRescueMargin = 15 * time.Second
)

// WithDefaults returns c with every unset field at its default: the one
// place the queue's defaults are applied.
func (c Config) WithDefaults() Config {
	c.MaxWorkers = cmp.Or(c.MaxWorkers, DefaultMaxWorkers)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.JobTimeout = cmp.Or(c.JobTimeout, DefaultJobTimeout)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.RescueAfter = cmp.Or(c.RescueAfter, c.JobTimeout+DefaultRescueMargin)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// Client is the part of River's client that does not depend on the
// database driver: listing and watching jobs, for tests and the benchmark.
type Client interface {
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	SubscribeConfig(config *river.SubscribeConfig) (<-chan *river.Event, func())
	QueuePause(ctx context.Context, name string, opts *river.QueuePauseOpts) error
	QueueResume(ctx context.Context, name string, opts *river.QueuePauseOpts) error
}

// Queue is a River client over the store's database. Workers register on
// Workers between New and Start; Start builds the client and begins work.
type Queue struct {
	cfg     Config
	db      store.QueueDB
	rc      *river.Config
	backend backend
	queues  map[string]river.QueueConfig
	working bool
	lock    *nodeLock
	stopped chan struct{} // closed by Stop: ends a wait for the node lock
	waiting chan struct{} // closed when that wait has ended
	// lockTries counts attempts at the node identity's lock, for tests to
	// wait on a retry rather than sleep through one.
	lockTries atomic.Int64
	// Workers collects the workers of every domain package.
	Workers *river.Workers
}

// backend is River on one database driver; TTx differs between drivers
// (*sql.Tx, pgx.Tx), so the generic client hides behind this.
type backend interface {
	// build makes the client (it can insert from then on); start makes it
	// work jobs.
	build(rc *river.Config) error
	start(ctx context.Context) error
	started() bool
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	insertTx(ctx context.Context, tx store.QueueTx, params []river.InsertManyParams) error
	client() Client
	// resume hands back the running jobs held picks, available now.
	resume(ctx context.Context, held func(*rivertype.JobRow) bool) (int, error)
}

type riverBackend[TTx any] struct {
	driver riverdriver.Driver[TTx]
	// txOf picks the driver's transaction out of a store transaction;
	// false when the store transaction is of another database.
	txOf func(store.QueueTx) (TTx, bool)
	c    *river.Client[TTx]
}

func (b *riverBackend[TTx]) build(rc *river.Config) error {
	c, err := river.NewClient(b.driver, rc)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	b.c = c
	return nil
}

func (b *riverBackend[TTx]) start(ctx context.Context) error {
	if err := b.c.Start(ctx); err != nil {
		return fmt.Errorf("start queue: %w", err)
	}
	return nil
}

func (b *riverBackend[TTx]) started() bool { return b.c != nil }

func (b *riverBackend[TTx]) stop(ctx context.Context) error { return b.c.Stop(ctx) }

func (b *riverBackend[TTx]) stopAndCancel(ctx context.Context) error { return b.c.StopAndCancel(ctx) }

func (b *riverBackend[TTx]) insertTx(ctx context.Context, tx store.QueueTx, params []river.InsertManyParams) error {
	t, ok := b.txOf(tx)
	if !ok {
		var want TTx
		return fmt.Errorf("queue: the transaction is not one of the queue's database (%T)", want)
	}
	// The fast insert returns no rows, which nothing here reads; on SQLite
	// it saves River's RETURNING * of every row, about a third of the job
	// insert in a render's recording transaction. Only InsertManyTx
	// resolves a unique job's conflict (by skipping the insert).
	if anyUnique(params) {
		_, err := b.c.InsertManyTx(ctx, t, params)
		return err
	}
	_, err := b.c.InsertManyFastTx(ctx, t, params)
	return err
}

// anyUnique reports whether a job of params asks River for uniqueness,
// in its kind's InsertOpts or in the params' own.
func anyUnique(params []river.InsertManyParams) bool {
	set := func(u river.UniqueOpts) bool {
		return u.ByArgs || u.ByPeriod > 0 || u.ByQueue || len(u.ByState) > 0
	}
	for _, p := range params {
		if o, ok := p.Args.(river.JobArgsWithInsertOpts); ok && set(o.InsertOpts().UniqueOpts) {
			return true
		}
		if p.InsertOpts != nil && set(p.InsertOpts.UniqueOpts) {
			return true
		}
	}
	return false
}

func (b *riverBackend[TTx]) resume(ctx context.Context, held func(*rivertype.JobRow) bool) (int, error) {
	return resume(ctx, b.driver, held)
}

func (b *riverBackend[TTx]) client() Client {
	if b.c == nil {
		return nil
	}
	return b.c
}

// newBackend picks River's driver for the store's database.
func newBackend(db store.QueueDB) (backend, error) {
	switch {
	case db.SQL != nil:
		return &riverBackend[*sql.Tx]{
			driver: riversqlite.New(db.SQL),
			txOf:   func(t store.QueueTx) (*sql.Tx, bool) { return t.SQL, t.SQL != nil },
		}, nil
	case db.Pgx != nil:
		return &riverBackend[pgx.Tx]{
			driver: riverpgxv5.New(db.Pgx),
			txOf:   func(t store.QueueTx) (pgx.Tx, bool) { return t.Pgx, t.Pgx != nil },
		}, nil
	}
	return nil, errNoDatabase
}

// errNoDatabase is returned for a store whose QueueDB has no handle.
var errNoDatabase = errors.New("queue: the store has no database River can use")

// Migrate applies River's own migrations to the store's database. On
// PostgreSQL they run holding the migration lock the store takes too, so
// nodes starting together do not race.
func Migrate(ctx context.Context, st store.Store) error {
	if st == nil {
		return errors.New("queue: Store is required")
	}
	db := st.QueueDB()
	switch {
	case db.SQL != nil:
		return migrate(ctx, riversqlite.New(db.SQL), nil)
	case db.Pgx != nil:
		return migrate(ctx, riverpgxv5.New(db.Pgx), db.MigrationLock)
	}
	return errNoDatabase
}

// migrate runs River's migrations on driver, inside lock when there is one.
func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], lock func(context.Context, func(context.Context) error) error) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	up := func(ctx context.Context) error {
		_, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	if lock != nil {
		err = lock(ctx, up)
	} else {
		err = up(ctx)
	}
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// New validates cfg and prepares the queue; register workers on
// q.Workers, then Start.
func New(cfg Config) (*Queue, error) {
	if cfg.Store == nil {
		return nil, errors.New("queue: Store is required")
	}
	db := cfg.Store.QueueDB()
	b, err := newBackend(db)
	if err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	log := cfg.Logger.With("component", "queue")
	rc := &river.Config{
		Logger:            log,
		MaxAttempts:       cfg.MaxAttempts,
		JobTimeout:        cfg.JobTimeout,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: cfg.PollInterval,
		RetryPolicy:       &backoff{base: cfg.RetryBase, max: cfg.RetryMax},
		ID:                cfg.ID,
		Middleware:        cfg.Middleware,
	}
	if r := cfg.FinishedJobRetention; r > 0 {
		rc.CompletedJobRetentionPeriod = min(r, 24*time.Hour)
		rc.CancelledJobRetentionPeriod = min(r, 24*time.Hour)
		rc.DiscardedJobRetentionPeriod = min(r, 7*24*time.Hour)
	}
	// River requires the rescue delay to exceed the job timeout.
	rc.RescueStuckJobsAfter = max(cfg.RescueAfter, rc.JobTimeout+time.Second)
	workers := cfg.Workers
	if workers == nil {
		workers = river.NewWorkers()
	}
	return &Queue{cfg: cfg, db: db, rc: rc, backend: b, Workers: workers}, nil
}

// AddPeriodic schedules a periodic job; call before Start.
func (q *Queue) AddPeriodic(j *river.PeriodicJob) { q.cfg.PeriodicJobs = append(q.cfg.PeriodicJobs, j) }

// AddQueue adds a named queue with a worker limit of its own; call before
// Start. A domain whose jobs are many, short and mostly waiting on the
// network (webhook deliveries) gets one, so it neither starves nor is
// starved by renders and callbacks in the default queue. Its jobs pick it
// with InsertOpts. River fetches a queue's jobs at most once per
// fetchCooldown, up to maxWorkers minus those running, so the two bound
// its throughput together.
func (q *Queue) AddQueue(name string, maxWorkers int, fetchCooldown time.Duration) {
	if q.queues == nil {
		q.queues = map[string]river.QueueConfig{}
	}
	q.queues[name] = river.QueueConfig{MaxWorkers: maxWorkers, FetchCooldown: fetchCooldown}
}

// RescueAfter is the effective delay after which a job still "running"
// is taken for stuck (its process gone) and rescued.
func (q *Queue) RescueAfter() time.Duration { return q.rc.RescueStuckJobsAfter }

// Rescue timings of River v0.49's maintenance, which renderhook cannot
// change: the leader's rescuer looks for stuck jobs every
// rescuerInterval; a rescued job is retryable after the first retry
// delay, and the leader's scheduler makes it available within
// schedulerInterval; a dead leader's term runs out after leaderTTL, and
// another node is elected within electInterval of that; a new leader's
// maintenance starts within maintenanceStagger.
const (
	rescuerInterval    = 30 * time.Second
	schedulerInterval  = 5 * time.Second
	leaderTTL          = 15 * time.Second
	electInterval      = 5 * time.Second
	maintenanceStagger = time.Second
)

// TakeoverBound is the longest a job held by a killed process waits
// before another node starts it again (assuming a node that works jobs
// survives): RescueAfter for the job to count as stuck, one rescuer
// interval to be noticed, the first retry delay and one scheduler
// interval to become available again. When the killed process was also
// River's leader, electing a new one (leaderTTL + electInterval) runs
// during RescueAfter, and adds only what it exceeds it by.
func (q *Queue) TakeoverBound() time.Duration {
	rescue := q.RescueAfter()
	return max(rescue, leaderTTL+electInterval+maintenanceStagger) + rescuerInterval + q.cfg.RetryBase + schedulerInterval
}

// Start builds the River client and, unless InsertOnly, begins working
// jobs. Cancelling ctx does not stop the queue: Stop does, gracefully
// (River would take a cancelled start context for a hard stop, which
// would abort running jobs the moment a shutdown signal arrives).
func (q *Queue) Start(ctx context.Context) error {
	q.rc.Workers = q.Workers
	if !q.cfg.InsertOnly {
		q.rc.PeriodicJobs = q.cfg.PeriodicJobs
		q.rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.cfg.MaxWorkers}}
		for name, qc := range q.queues {
			q.rc.Queues[name] = qc
		}
	}
	if err := q.backend.build(q.rc); err != nil {
		return err
	}
	if q.cfg.InsertOnly {
		return nil
	}
	if err := q.resumeOwn(ctx); err != nil {
		return err
	}
	if err := q.backend.start(context.WithoutCancel(ctx)); err != nil {
		q.stopResume()
		return err
	}
	q.working = true
	return nil
}

// resumeOwn hands back, at once, the jobs this node's previous process
// was working when it died (resume.go says how that is known).
func (q *Queue) resumeOwn(ctx context.Context) error {
	q.stopped, q.waiting = make(chan struct{}), make(chan struct{})
	switch {
	case q.db.SQL != nil:
		close(q.waiting)
		n, err := q.backend.resume(ctx, func(*rivertype.JobRow) bool { return true })
		if err != nil {
			return err
		}
		if n > 0 {
			q.log().Info("resumed the jobs the previous process was working", "jobs", n)
		}
		return nil
	case q.db.Pgx != nil && q.cfg.NodeID != "" && q.cfg.ID != "":
		return q.resumeNode(ctx)
	}
	close(q.waiting)
	return nil
}

func (q *Queue) log() *slog.Logger { return q.cfg.Logger.With("component", "queue") }

// resumeNode takes this node's identity lock on PostgreSQL and resumes the
// jobs of the node's previous client; while another session holds the
// identity, it keeps trying in the background until Stop.
func (q *Queue) resumeNode(ctx context.Context) error {
	l, err := q.tryNodeLock(ctx)
	if err != nil {
		close(q.waiting)
		return err
	}
	if l != nil {
		close(q.waiting)
		q.lock = l
		return q.claimNode(ctx)
	}
	// Another session holds this identity: a process that is still
	// running, or one whose death PostgreSQL has not noticed yet. Its
	// jobs are not ours to take until the lock is free.
	q.log().Warn("another process holds this node's identity; its jobs are left to River's rescuer until it is gone", "node_id", q.cfg.NodeID)
	bg := context.WithoutCancel(ctx) // the wait outlives Start
	go func() {
		defer close(q.waiting)
		t := time.NewTicker(resumeRetry)
		defer t.Stop()
		for {
			select {
			case <-q.stopped:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(bg, 30*time.Second)
			l, err := q.tryNodeLock(ctx)
			if err == nil && l != nil {
				q.lock = l
				err = q.claimNode(ctx)
			}
			cancel()
			if err != nil {
				q.log().Error("resume the node's jobs", "err", err)
			}
			if l != nil {
				return
			}
		}
	}()
	return nil
}

// claimNode records this client as the node's and resumes the running
// jobs of the client recorded before it.
func (q *Queue) claimNode(ctx context.Context) error {
	prev, err := q.cfg.Store.SwapQueueNode(ctx, q.cfg.NodeID, q.cfg.ID)
	if err != nil {
		return fmt.Errorf("record the node's queue client: %w", err)
	}
	if prev == "" {
		return nil
	}
	n, err := q.backend.resume(ctx, lastAttemptBy(prev))
	if err != nil {
		return err
	}
	if n > 0 {
		q.log().Info("resumed the jobs this node's previous process was working", "jobs", n, "node_id", q.cfg.NodeID, "previous_client_id", prev)
	}
	return nil
}

// stopResume ends a wait for the node lock and releases the lock.
func (q *Queue) stopResume() {
	if q.stopped == nil {
		return
	}
	select {
	case <-q.stopped:
	default:
		close(q.stopped)
	}
	<-q.waiting
	q.lock.release(context.Background())
	q.lock = nil
}

// Working reports whether this queue works jobs (started, not InsertOnly).
func (q *Queue) Working() bool { return q.working }

// Stop stops fetching new jobs and waits for running ones to finish until
// ctx is done; then it cancels the jobs still running (River records them
// as failed attempts, to be retried by any node) and waits for them to
// return, for at most hardStop more. A caller with a deadline to keep
// passes a ctx that ends hardStop before it.
func (q *Queue) Stop(ctx context.Context, hardStop time.Duration) error {
	if !q.working {
		return nil
	}
	err := q.backend.stop(ctx)
	if err != nil && ctx.Err() != nil {
		q.cfg.Logger.Warn("jobs still running at the shutdown deadline: cancelling them for a retry", "component", "queue")
		cctx, cancel := context.WithTimeout(context.Background(), hardStop)
		defer cancel()
		err = q.backend.stopAndCancel(cctx)
	}
	q.stopResume()
	if err != nil {
		return fmt.Errorf("stop queue: %w", err)
	}
	return nil
}

// InsertTx inserts jobs in the store transaction tx, so they exist exactly
// when what tx records exists.
func (q *Queue) InsertTx(ctx context.Context, tx store.Tx, args ...river.JobArgs) error {
	if !q.backend.started() {
		return errors.New("queue: not started")
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
		var opts river.InsertOpts
		if p, ok := a.(Prioritized); ok && p.JobPriority() > 0 {
			opts.Priority = p.JobPriority()
		}
		if sc, ok := a.(Scheduled); ok {
			opts.ScheduledAt = sc.JobScheduledAt()
		}
		if opts.Priority > 0 || !opts.ScheduledAt.IsZero() {
			params[i].InsertOpts = &opts
		}
	}
	if err := q.backend.insertTx(ctx, tx.QueueTx(), params); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// Prioritized is job args that choose their River priority per job (1,
// fetched first, to 4); River works available jobs by priority, then by
// when they were scheduled. 0 keeps the kind's default.
type Prioritized interface{ JobPriority() int }

// Scheduled is job args that choose when their job may first run; the
// zero time is now.
type Scheduled interface{ JobScheduledAt() time.Time }

// Client exposes the River client, for tests and subscriptions; nil
// before Start.
func (q *Queue) Client() Client { return q.backend.client() }

// backoff retries after base, 2×base, 4×base, … capped at max.
type backoff struct{ base, max time.Duration }

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := max(job.Attempt-1, 0)
	d := time.Duration(float64(b.base) * math.Pow(2, float64(min(n, 30))))
	if d > b.max || d <= 0 {
		d = b.max
	}
	return time.Now().Add(d)
}
