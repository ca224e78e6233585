package metrics

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobCount is how many River jobs of a kind in a queue are in a state.
type JobCount struct {
	Queue, Kind, State string
	N                  int64
}

// JobCounter counts River's jobs by queue, kind and state.
type JobCounter func(ctx context.Context) ([]JobCount, error)

// jobStates are the states exported; every queue and kind seen gets all
// of them, zeros included, so a series does not vanish when it drains.
var jobStates = []string{"available", "running", "retryable", "scheduled", "discarded"}

const countJobsSQL = `SELECT queue, kind, state, count(*) FROM river_job GROUP BY queue, kind, state`

// JobCounts counts the jobs in st's database: SQLite's read pool (never
// the single writer the renders record through) or PostgreSQL's pool. It
// returns nil for a store with neither.
func JobCounts(st any) JobCounter {
	switch h := st.(type) {
	case interface{ ReadDB() *sql.DB }:
		db := h.ReadDB()
		return countJobs(func(ctx context.Context) (*sql.Rows, error) { return db.QueryContext(ctx, countJobsSQL) },
			func(rows *sql.Rows) { _ = rows.Close() })
	case interface{ Pool() *pgxpool.Pool }:
		pool := h.Pool()
		return countJobs(func(ctx context.Context) (pgx.Rows, error) { return pool.Query(ctx, countJobsSQL) }, pgx.Rows.Close)
	}
	return nil
}

// countJobs is a JobCounter running query, scanning its rows and closing
// them with closeRows: the same steps for either driver's rows.
func countJobs[R countRows](query func(context.Context) (R, error), closeRows func(R)) JobCounter {
	return func(ctx context.Context) ([]JobCount, error) {
		rows, err := query(ctx)
		if err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		defer closeRows(rows)
		return scanCounts(rows)
	}
}

// countRows is what database/sql's and pgx's rows have in common.
type countRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

func scanCounts(rows countRows) ([]JobCount, error) {
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Queue, &c.Kind, &c.State, &c.N); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// jobsCollector serves the last count of River's jobs. A scrape finding
// it older than ttl starts one refresh (bounded by countTimeout) and waits
// for it at most scrapeWait; otherwise it serves the older count, so a
// slow database never holds a scrape, and scrapes never pile up queries.
type jobsCollector struct {
	count JobCounter
	ttl   time.Duration
	desc  *prometheus.Desc

	mu         sync.Mutex
	last       []JobCount
	at         time.Time
	refreshing chan struct{} // closed when the refresh under way ends
}

const (
	countTimeout = 2 * time.Second
	scrapeWait   = 100 * time.Millisecond
)

func newJobsCollector(count JobCounter, ttl time.Duration) *jobsCollector {
	return &jobsCollector{count: count, ttl: cmp.Or(ttl, 5*time.Second), desc: prometheus.NewDesc(
		"renderhook_river_jobs", "River jobs by queue, kind and state (counted at most every few seconds).",
		[]string{"queue", "kind", "state"}, nil)}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > c.ttl && c.refreshing == nil {
		c.refreshing = make(chan struct{})
		go c.refresh(c.refreshing)
	}
	wait := c.refreshing
	c.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-time.After(scrapeWait):
		}
	}
	c.mu.Lock()
	counts := c.last
	c.mu.Unlock()
	type qk struct{ queue, kind string }
	byKey := map[qk]map[string]int64{}
	for _, n := range counts {
		k := qk{n.Queue, n.Kind}
		if byKey[k] == nil {
			byKey[k] = map[string]int64{}
		}
		byKey[k][n.State] += n.N
	}
	for k, states := range byKey {
		for _, s := range jobStates {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(states[s]), k.queue, k.kind, s)
		}
	}
}

func (c *jobsCollector) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	counts, err := c.count(ctx)
	cancel()
	c.mu.Lock()
	if err == nil {
		c.last = counts
	}
	c.at = time.Now() // a failing count is retried after ttl too
	c.refreshing = nil
	c.mu.Unlock()
	close(done)
}

// Subscriber is River's event subscription (queue.Client has it).
type Subscriber interface {
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// WatchJobs counts, from River's events, the credits billed (completed
// jobs of creditKinds) and the callback attempts that failed and will be
// retried (failed jobs of callbackKinds left retryable), until stop is
// called. Only a client that works jobs has events.
func (m *Metrics) WatchJobs(sub Subscriber, creditKinds []string, callbackKinds ...string) (stop func()) {
	events, cancel := sub.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	credits := map[string]bool{}
	for _, k := range creditKinds {
		credits[k] = true
	}
	callbacks := map[string]bool{}
	for _, k := range callbackKinds {
		callbacks[k] = true
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				m.jobEvent(e, credits, callbacks)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		cancel()
	}
}

func (m *Metrics) jobEvent(e *river.Event, credits, callbacks map[string]bool) {
	if e == nil || e.Job == nil {
		return
	}
	switch {
	case e.Kind == river.EventKindJobCompleted && credits[e.Job.Kind]:
		m.credits.Inc()
	case e.Kind == river.EventKindJobFailed && callbacks[e.Job.Kind] && e.Job.State == rivertype.JobStateRetryable:
		m.cbRetried.WithLabelValues(e.Job.Kind).Inc()
	}
}
