// Package queue runs renderhook's durable background work on River
// (github.com/riverqueue/river), in the same database as the rest of the
// data, so jobs are inserted in the transaction that creates their reason
// to exist. Workers are registered by the domain packages that own them.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/store"
)

// Config configures the queue.
type Config struct {
	// DB is the SQLite handle shared with the store (single writer).
	DB *sql.DB
	// Workers holds every registered worker; nil runs an insert-only client.
	Workers *river.Workers
	// PeriodicJobs are enqueued on their schedules by the elected leader.
	PeriodicJobs []*river.PeriodicJob
	// MaxWorkers bounds concurrently worked jobs; default 16.
	MaxWorkers int
	// RetryBase is the first retry delay, doubled per attempt up to
	// RetryMax; defaults 1s and 5m.
	RetryBase, RetryMax time.Duration
	// MaxAttempts per job; default 20 (about 1.5 h of retries with the
	// default backoff).
	MaxAttempts int
	// JobTimeout bounds one attempt; default 30s.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay "running" before River's
	// rescuer hands it to another worker: this is what recovers the jobs a
	// crashed process was holding. It must exceed JobTimeout; default
	// JobTimeout + 15s. The rescuer looks every 30 s, so a crashed job is
	// picked up again within RescueAfter + 30 s.
	RescueAfter time.Duration
	// PollInterval is how often idle workers look for new jobs on SQLite,
	// which has no LISTEN/NOTIFY; default 100ms.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Queue is a River client over the store's database. Workers register on
// Workers between New and Start; Start builds the client and begins work.
type Queue struct {
	cfg     Config
	rc      *river.Config
	client  *river.Client[*sql.Tx]
	working bool
	// Workers collects the workers of every domain package.
	Workers *river.Workers
}

// Migrate applies River's own migrations to the database.
func Migrate(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// New validates cfg and prepares the queue; register workers on
// q.Workers, then Start.
func New(cfg Config) (*Queue, error) {
	if cfg.DB == nil {
		return nil, errors.New("queue: DB is required")
	}
	log := cmp.Or(cfg.Logger, slog.Default()).With("component", "queue")
	rc := &river.Config{
		Logger:            log,
		MaxAttempts:       cmp.Or(cfg.MaxAttempts, 20),
		JobTimeout:        cmp.Or(cfg.JobTimeout, 30*time.Second),
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: cmp.Or(cfg.PollInterval, 100*time.Millisecond),
		RetryPolicy:       &backoff{base: cmp.Or(cfg.RetryBase, time.Second), max: cmp.Or(cfg.RetryMax, 5*time.Minute)},
	}
	// River requires the rescue delay to exceed the job timeout.
	rc.RescueStuckJobsAfter = max(cmp.Or(cfg.RescueAfter, rc.JobTimeout+15*time.Second), rc.JobTimeout+time.Second)
	workers := cfg.Workers
	if workers == nil {
		workers = river.NewWorkers()
	}
	return &Queue{cfg: cfg, rc: rc, Workers: workers, working: true}, nil
}

// AddPeriodic schedules a periodic job; call before Start.
func (q *Queue) AddPeriodic(j *river.PeriodicJob) { q.cfg.PeriodicJobs = append(q.cfg.PeriodicJobs, j) }

// Start builds the River client and begins working jobs.
func (q *Queue) Start(ctx context.Context) error {
	q.rc.Workers = q.Workers
	q.rc.PeriodicJobs = q.cfg.PeriodicJobs
	q.rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(q.cfg.MaxWorkers, 16)}}
	client, err := river.NewClient(riversqlite.New(q.cfg.DB), q.rc)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	q.client = client
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start queue: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for running ones to finish, until
// ctx is done; then running jobs are cancelled and retried later.
func (q *Queue) Stop(ctx context.Context) error {
	if q.client == nil {
		return nil
	}
	err := q.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = q.client.StopAndCancel(cctx)
	}
	return err
}

// InsertTx inserts jobs in the store transaction tx, so they exist exactly
// when what tx records exists.
func (q *Queue) InsertTx(ctx context.Context, tx store.Tx, args ...river.JobArgs) error {
	if q.client == nil {
		return errors.New("queue: not started")
	}
	sqlTx, ok := tx.Driver().(*sql.Tx)
	if !ok {
		return fmt.Errorf("queue: transaction of type %T is not SQLite's", tx.Driver())
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := q.client.InsertManyTx(ctx, sqlTx, params); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// Client exposes the River client, for tests and subscriptions.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

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
