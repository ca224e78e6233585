package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/webhook"
)

// Target for what callbacks cost.
const targetCallbacksMs = 5.0 // PNG sequential p50 with callbacks minus without, below

// The fairness phase: deliveries hanging on a neighbour's receiver, and
// quiet deliveries sent one at a time meanwhile (the shape).
const (
	fairHanging = 600
	fairQuiet   = 20
)

// Backends the webhook phases run on.
const (
	backendSQLite   = "SQLite"
	backendPostgres = "PostgreSQL"
)

// deliveryTarget is what webhook delivery should reach on one backend.
type deliveryTarget struct {
	PerSec float64 // deliveries per second to one receiver, at least
	P99Ms  float64 // p99 from enqueue to receipt at the offered rate, at most
}

// deliveryTargets are the issues' targets on a 2-core machine.
var deliveryTargets = map[string]deliveryTarget{
	backendSQLite:   {PerSec: 2000, P99Ms: 100},
	backendPostgres: {PerSec: 5000, P99Ms: 50},
}

const (
	// enqueueBatch is how many deliveries the throughput phase queues per
	// transaction.
	enqueueBatch = 100
	// throughputTimeout bounds the throughput phase, from the first enqueue.
	throughputTimeout = 120 * time.Second
	// drainTimeout bounds the wait for the latency phase's last deliveries.
	drainTimeout = 60 * time.Second
	// queueDrainLimit bounds the wait for an earlier phase's jobs before a
	// webhook phase starts.
	queueDrainLimit = 2 * time.Minute
)

// webhookResults are the two delivery phases.
type webhookResults struct {
	// Backend is the database the server ran on.
	Backend string `json:"backend"`
	// LoadStart is the load average when the webhook phases began.
	LoadStart  [3]float64         `json:"loadStart"`
	Throughput deliveryThroughput `json:"throughput"`
	// ThroughputCapsOff is the same phase run with the per-endpoint
	// in-flight cap raised to the number of workers (off), right after.
	ThroughputCapsOff *deliveryThroughput `json:"throughputCapsOff,omitempty"`
	Latency           deliveryLatency     `json:"latency"`
	Fairness          *deliveryFairness   `json:"fairness,omitempty"`
}

// deliveryFairness is the fairness phase: a neighbour's receiver hangs
// with many deliveries queued to it while a quiet space sends one
// delivery at a time.
type deliveryFairness struct {
	// Hanging is how many deliveries the neighbour has queued.
	Hanging int `json:"hanging"`
	// Cap is the per-endpoint in-flight cap in force.
	Cap int `json:"cap"`
	// HeldByNeighbour is how many POSTs the hung receiver held when the
	// quiet space began.
	HeldByNeighbour int `json:"heldByNeighbour"`
	Quiet           int `json:"quiet"`
	// Latency is each quiet delivery's enqueue-to-receipt time.
	Latency stats `json:"latencyMs"`
}

// targetFairP99Ms is the quiet space's p99 while a neighbour hangs.
const targetFairP99Ms = 250.0

// fairness queues hanging deliveries to a receiver that never answers
// (until the phase ends), then sends quiet deliveries to another one, one
// at a time, timing each from its enqueue to its receipt.
func (d *deliveryBench) fairness(ctx context.Context, hanging, quiet int) (*deliveryFairness, error) {
	if err := d.drain(ctx); err != nil {
		return nil, err
	}
	release := make(chan struct{})
	var inFlight int64
	var mu sync.Mutex
	hungRc := newReceiver(hanging) // counts the neighbour's arrivals once released
	defer hungRc.srv.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		hungRc.serve(w, r)
	}))
	released := false
	unhang := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer func() { unhang(); hung.Close() }()
	for i := 0; i < hanging; i += enqueueBatch {
		err := d.rh.srv.Store.InTx(ctx, func(tx store.Tx) error {
			for range min(enqueueBatch, hanging-i) {
				if _, err := d.enqueue(ctx, tx, hung.URL+"/hook"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	capN := d.rh.srv.Notify.MaxInFlightPerEndpoint()
	if _, err := pollUntil(ctx, time.Now().Add(10*time.Second), 10*time.Millisecond, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return inFlight >= int64(min(capN, hanging)), nil
	}); err != nil {
		return nil, err
	}
	mu.Lock()
	res := &deliveryFairness{Hanging: hanging, Cap: capN, HeldByNeighbour: int(inFlight), Quiet: quiet}
	mu.Unlock()
	rc := newReceiver(quiet)
	defer rc.srv.Close()
	lat := make([]float64, 0, quiet)
	for range quiet {
		start := time.Now()
		var id string
		err := d.rh.srv.Store.InTx(ctx, func(tx store.Tx) error {
			var err error
			id, err = d.enqueue(ctx, tx, rc.srv.URL+"/hook")
			return err
		})
		if err != nil {
			return nil, err
		}
		ok, err := pollUntil(ctx, time.Now().Add(30*time.Second), time.Millisecond, func() (bool, error) {
			got, _ := rc.arrivals()
			_, ok := got[id]
			return ok, nil
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			lat = append(lat, 30_000)
			continue
		}
		got, _ := rc.arrivals()
		lat = append(lat, ms(got[id].Sub(start)))
	}
	res.Latency = summarize(lat)
	unhang()
	if all, err := hungRc.wait(ctx, time.Now().Add(drainTimeout)); err != nil || !all {
		d.progress("warning: the neighbour's deliveries did not all arrive within %v after its receiver answered", drainTimeout)
	}
	return res, nil
}

// deliveryThroughput is the throughput phase: a backlog queued while the
// delivery queue is paused, then released and drained by the workers.
type deliveryThroughput struct {
	Queued     int `json:"queued"`
	Received   int `json:"received"`
	Duplicates int `json:"duplicates"`
	// EnqueueSec is how long queueing the backlog took, and EnqueuePerSec
	// the rate: deliveries recorded and their jobs inserted, nothing sent.
	EnqueueSec    float64 `json:"enqueueSec"`
	EnqueuePerSec float64 `json:"enqueuePerSec"`
	// WallSec is from releasing the backlog to the last delivery received
	// (to the timeout if not all were); PerSec is Received over it.
	WallSec  float64 `json:"wallSec"`
	PerSec   float64 `json:"deliveriesPerSec"`
	TimedOut bool    `json:"timedOut"`
	// CPUMsPerDelivery is the CPU time (user + system) of the whole bench
	// process, server and receiver, per delivery while draining: a figure
	// less swayed than PerSec by other work on a shared machine.
	CPUMsPerDelivery float64 `json:"cpuMsPerDelivery"`
	// PostgresCPUMsPerDelivery is the same for the PostgreSQL server's
	// processes, when it runs on this machine (0 otherwise, and on SQLite).
	PostgresCPUMsPerDelivery float64 `json:"postgresCpuMsPerDelivery,omitempty"`
	// MachineBusyPct is how much of all cores' time was busy while
	// draining (user, system, interrupts), IdlePct idle and StealPct taken
	// by the hypervisor for other guests: a drain with idle cores was not
	// bound by CPU.
	MachineBusyPct  float64 `json:"machineBusyPct"`
	MachineIdlePct  float64 `json:"machineIdlePct"`
	MachineStealPct float64 `json:"machineStealPct"`
	// Latency is from the start of each delivery's enqueue transaction to
	// its receipt: mostly time spent in the backlog, paused time included.
	Latency stats        `json:"latencyMs"`
	Jobs    jobBreakdown `json:"jobsMs"`
}

// deliveryLatency is the latency phase: one delivery per transaction at a
// steady offered rate.
type deliveryLatency struct {
	OfferedPerSec float64 `json:"offeredPerSec"`
	// AchievedPerSec is the rate at which enqueues started, which falls
	// short of OfferedPerSec only when the bench itself cannot keep time.
	AchievedPerSec float64 `json:"achievedPerSec"`
	Seconds        float64 `json:"seconds"`
	Queued         int     `json:"queued"`
	Received       int     `json:"received"`
	Duplicates     int     `json:"duplicates"`
	// Latency is from the start of each delivery's enqueue transaction to
	// its receipt by the receiver.
	Latency stats `json:"latencyMs"`
	// EnqueueTx is how long each enqueue transaction took, waiting for
	// SQLite's single write connection included.
	EnqueueTx stats        `json:"enqueueTxMs"`
	Jobs      jobBreakdown `json:"jobsMs"`
	Samples   []float64    `json:"samplesMs,omitempty"`
}

// jobBreakdown is River's own account of the delivery jobs of a phase:
// waiting to be fetched, in the worker (database reads, the POST, recording
// the attempt) and being marked completed.
type jobBreakdown struct {
	QueueWait stats `json:"queueWait"`
	Run       stats `json:"run"`
	Complete  stats `json:"complete"`
}

// receiver is the webhook endpoint: a loopback HTTP server that answers
// 200 at once and records when each message (webhook-id) first arrived.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	first  map[string]time.Time
	dups   int
	want   int
	done   chan struct{} // closed once want distinct messages arrived
	sample *receivedHook
}

type receivedHook struct {
	header http.Header
	body   []byte
}

func newReceiver(want int) *receiver {
	rc := &receiver{first: make(map[string]time.Time, want), want: want, done: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get(webhook.HeaderID)
	rc.mu.Lock()
	if _, seen := rc.first[id]; seen {
		rc.dups++
	} else {
		rc.first[id] = at
		if len(rc.first) == rc.want {
			close(rc.done)
		}
	}
	if rc.sample == nil {
		rc.sample = &receivedHook{r.Header.Clone(), body}
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// wait returns true once every expected message arrived, false at deadline.
func (rc *receiver) wait(ctx context.Context, deadline time.Time) (bool, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-rc.done:
		return true, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// arrivals returns the first receipt of each message and the duplicates.
func (rc *receiver) arrivals() (map[string]time.Time, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]time.Time, len(rc.first))
	for id, at := range rc.first {
		out[id] = at
	}
	return out, rc.dups
}

// verify checks the Standard Webhooks signature of one received message,
// so the figures are known to be of real, signed deliveries.
func (rc *receiver) verify(secret string) error {
	rc.mu.Lock()
	h := rc.sample
	rc.mu.Unlock()
	if h == nil {
		return errors.New("the receiver got nothing")
	}
	if err := webhook.VerifyStandard(h.body, h.header, secret, 5*time.Minute); err != nil {
		return fmt.Errorf("a received webhook does not verify: %w", err)
	}
	return nil
}

// jobStats collects River's timings of the delivery jobs completed while
// it listens.
type jobStats struct {
	mu                       sync.Mutex
	queueWait, run, complete []float64
	cancel                   func()
	done                     chan struct{}
	deliverKind              string
}

func listenJobStats(rh *renderhookSide) *jobStats {
	const chanSize = 50_000 // more than a phase completes: no event dropped
	ch, cancel := rh.srv.Queue.Client().SubscribeConfig(&river.SubscribeConfig{
		Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: chanSize,
	})
	js := &jobStats{cancel: cancel, done: make(chan struct{}), deliverKind: delivery.DeliverArgs{}.Kind()}
	go func() {
		defer close(js.done)
		for ev := range ch {
			if ev.Job == nil || ev.JobStats == nil || ev.Job.Kind != js.deliverKind {
				continue
			}
			js.mu.Lock()
			js.queueWait = append(js.queueWait, ms(ev.JobStats.QueueWaitDuration))
			js.run = append(js.run, ms(ev.JobStats.RunDuration))
			js.complete = append(js.complete, ms(ev.JobStats.CompleteDuration))
			js.mu.Unlock()
		}
	}()
	return js
}

// stop waits (briefly: River marks jobs completed in batches) for n
// completions, then stops listening and summarises.
func (js *jobStats) stop(ctx context.Context, n int) jobBreakdown {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		js.mu.Lock()
		got := len(js.run)
		js.mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	js.cancel()
	<-js.done
	return jobBreakdown{QueueWait: summarize(js.queueWait), Run: summarize(js.run), Complete: summarize(js.complete)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// deliveryBench queues render.succeeded deliveries of one real, stored
// render on the server with callbacks, to a receiver of its own per phase.
type deliveryBench struct {
	rh       *renderhookSide
	render   *store.Render
	payload  []byte
	secret   string
	progress func(format string, a ...any)
}

// newDeliveryBench renders the page once and waits for its bytes to be
// stored: a render.succeeded delivery waits for that before it is sent.
func newDeliveryBench(ctx context.Context, rh *renderhookSide, progress func(string, ...any)) (*deliveryBench, error) {
	res, err := rh.render(ctx, 0, formatPNG)
	if err != nil {
		return nil, err
	}
	st := rh.srv.Store
	var rec *store.Render
	stored, err := pollUntil(ctx, time.Now().Add(30*time.Second), 20*time.Millisecond, func() (bool, error) {
		r, err := st.FindRender(ctx, res.renderID)
		if err != nil {
			return false, fmt.Errorf("look up render %s: %w", res.renderID, err)
		}
		rec = r
		return rec.StoredAt != nil, nil
	})
	if err != nil {
		return nil, err
	}
	if !stored {
		return nil, fmt.Errorf("render %s was not stored within 30s", rec.ID)
	}
	sp, err := st.GetSpace(ctx, rh.spaceID)
	if err != nil {
		return nil, fmt.Errorf("look up space: %w", err)
	}
	start, end := rec.CreatedAt, time.Now()
	if rec.StartedAt != nil {
		start = *rec.StartedAt
	}
	if rec.EndedAt != nil {
		end = *rec.EndedAt
	}
	payload := delivery.SucceededPayload(rec.ID, rh.srv.Signer.URL(rec.BlobKey), rec.Size, start, end,
		delivery.Extra{RequestID: rec.RequestID, PageID: rec.PageID, Format: rec.Format})
	return &deliveryBench{rh: rh, render: rec, payload: payload, secret: sp.WebhookSecret, progress: progress}, nil
}

// enqueue queues one delivery to url in tx, as a render with a webhook_url
// does, and returns its id (the receiver's webhook-id).
func (d *deliveryBench) enqueue(ctx context.Context, tx store.Tx, url string) (string, error) {
	ids, err := d.rh.srv.Notify.EnqueueTx(ctx, tx, d.rh.spaceID, url, delivery.EventRenderSucceeded, d.render, func() []byte { return d.payload })
	if err != nil {
		return "", fmt.Errorf("enqueue delivery: %w", err)
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("enqueue delivery: got %d deliveries, want 1 (the space has endpoints?)", len(ids))
	}
	return ids[0], nil
}

// drain waits for jobs left by earlier work, so a phase starts on an empty
// queue.
func (d *deliveryBench) drain(ctx context.Context) error {
	done, err := d.rh.settle(ctx, queueDrainLimit)
	if err != nil {
		return err
	}
	if !done {
		d.progress("warning: jobs still queued after %v; the next phase starts anyway", queueDrainLimit)
	}
	return nil
}

// throughput queues a backlog of n deliveries, in transactions of
// enqueueBatch, while the delivery queue is paused, then resumes it and
// measures how fast the workers drain it: from the resume to the last
// receipt. Enqueueing is timed on its own.
func (d *deliveryBench) throughput(ctx context.Context, n int) (deliveryThroughput, error) {
	if err := d.drain(ctx); err != nil {
		return deliveryThroughput{}, err
	}
	rc := newReceiver(n)
	defer rc.srv.Close()
	qc := d.rh.srv.Queue.Client()
	if err := qc.QueuePause(ctx, delivery.QueueName, nil); err != nil {
		return deliveryThroughput{}, fmt.Errorf("pause the delivery queue: %w", err)
	}
	paused := true
	defer func() {
		if paused {
			_ = qc.QueueResume(context.WithoutCancel(ctx), delivery.QueueName, nil)
		}
	}()
	url := rc.srv.URL + "/hook"
	queuedAt := make(map[string]time.Time, n)
	start := time.Now()
	for i := 0; i < n; i += enqueueBatch {
		t0 := time.Now()
		ids := make([]string, 0, enqueueBatch)
		err := d.rh.srv.Store.InTx(ctx, func(tx store.Tx) error {
			ids = ids[:0]
			for range min(enqueueBatch, n-i) {
				id, err := d.enqueue(ctx, tx, url)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return deliveryThroughput{}, err
		}
		for _, id := range ids {
			queuedAt[id] = t0
		}
	}
	enqueued := time.Since(start)
	js := listenJobStats(d.rh)
	cpu0, pg0, m0 := processCPU(), postgresCPU(), readMachineCPU()
	released := time.Now()
	if err := qc.QueueResume(ctx, delivery.QueueName, nil); err != nil {
		js.stop(ctx, 0)
		return deliveryThroughput{}, fmt.Errorf("resume the delivery queue: %w", err)
	}
	paused = false
	all, err := rc.wait(ctx, released.Add(throughputTimeout))
	if err != nil {
		js.stop(ctx, 0)
		return deliveryThroughput{}, err
	}
	cpu, pg, m := processCPU()-cpu0, postgresCPU()-pg0, readMachineCPU().since(m0)
	got, dups := rc.arrivals()
	res := deliveryThroughput{
		Queued: n, Received: len(got), Duplicates: dups, TimedOut: !all,
		CPUMsPerDelivery:         round2(ms(cpu) / float64(max(len(got), 1))),
		PostgresCPUMsPerDelivery: round2(ms(pg) / float64(max(len(got), 1))),
		MachineBusyPct:           m.busyPct,
		MachineIdlePct:           m.idlePct,
		MachineStealPct:          m.stealPct,
		EnqueueSec:               round2(enqueued.Seconds()),
		EnqueuePerSec:            round2(float64(n) / enqueued.Seconds()),
	}
	lat, last := latencies(queuedAt, got)
	res.Latency = summarize(lat)
	wall := throughputTimeout
	if all {
		wall = last.Sub(released)
	}
	res.WallSec = round2(wall.Seconds())
	res.PerSec = round2(float64(len(got)) / wall.Seconds())
	res.Jobs = js.stop(ctx, len(got))
	if err := rc.verify(d.secret); err != nil {
		return res, err
	}
	return res, nil
}

// latency offers one delivery per transaction every 1/rate seconds for dur,
// each from its own goroutine as renders would, so a slow transaction does
// not hold the next ones back, and measures each from the start of its
// enqueue (waiting for the database included) to its receipt.
func (d *deliveryBench) latency(ctx context.Context, rate int, dur time.Duration) (deliveryLatency, error) {
	if err := d.drain(ctx); err != nil {
		return deliveryLatency{}, err
	}
	n := int(dur.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	rc := newReceiver(n)
	defer rc.srv.Close()
	js := listenJobStats(d.rh)
	url := rc.srv.URL + "/hook"
	var (
		mu       sync.Mutex
		queuedAt = make(map[string]time.Time, n)
		txMs     = make([]float64, 0, n)
		errs     []error
		wg       sync.WaitGroup
	)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			t0 := time.Now()
			var id string
			err := d.rh.srv.Store.InTx(ctx, func(tx store.Tx) error {
				var err error
				id, err = d.enqueue(ctx, tx, url)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			txMs = append(txMs, ms(time.Since(t0)))
			queuedAt[id] = t0
		})
	}
	span := time.Since(start)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		js.stop(ctx, 0)
		return deliveryLatency{}, err
	}
	if _, err := rc.wait(ctx, time.Now().Add(drainTimeout)); err != nil {
		js.stop(ctx, 0)
		return deliveryLatency{}, err
	}
	got, dups := rc.arrivals()
	lat, _ := latencies(queuedAt, got)
	res := deliveryLatency{
		OfferedPerSec: float64(rate), AchievedPerSec: round2(float64(n) / span.Seconds()),
		Seconds: dur.Seconds(), Queued: n, Received: len(got), Duplicates: dups,
		Latency: summarize(lat), EnqueueTx: summarize(txMs), Samples: lat,
	}
	res.Jobs = js.stop(ctx, len(got))
	if err := rc.verify(d.secret); err != nil {
		return res, err
	}
	return res, nil
}

// latencies pairs enqueue and receipt times, in enqueue order, and returns
// the last receipt.
func latencies(queuedAt, got map[string]time.Time) ([]float64, time.Time) {
	type pair struct{ queued, received time.Time }
	pairs := make([]pair, 0, len(got))
	var last time.Time
	for id, at := range got {
		q, ok := queuedAt[id]
		if !ok {
			continue // not one of this phase's
		}
		pairs = append(pairs, pair{q, at})
		if at.After(last) {
			last = at
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return a.queued.Compare(b.queued) })
	out := make([]float64, len(pairs))
	for i, p := range pairs {
		out[i] = ms(p.received.Sub(p.queued))
	}
	return out, last
}

// measureWebhooks runs the throughput phase, then the latency phase.
func measureWebhooks(ctx context.Context, d *deliveryBench, p plan, backend string) (*webhookResults, error) {
	res := &webhookResults{Backend: backend, LoadStart: loadAvg()}
	// Caps off first, then on: a first phase warms caches and
	// connections, so this order does not favour the figure with caps on.
	capOn := d.rh.srv.Notify.MaxInFlightPerEndpoint()
	d.rh.srv.Notify.SetMaxInFlightPerEndpoint(delivery.DefaultWorkers)
	d.progress("webhooks on %s: throughput with the per-endpoint cap off (%d, default %d), %d deliveries queued in transactions of %d", backend, delivery.DefaultWorkers, capOn, p.WebhookDeliveries, enqueueBatch)
	off, err := d.throughput(ctx, p.WebhookDeliveries)
	d.rh.srv.Notify.SetMaxInFlightPerEndpoint(capOn)
	if err != nil {
		return nil, fmt.Errorf("webhook throughput, caps off: %w", err)
	}
	res.ThroughputCapsOff = &off
	d.progress("webhooks on %s: throughput with the cap on, %d deliveries", backend, p.WebhookDeliveries)
	if res.Throughput, err = d.throughput(ctx, p.WebhookDeliveries); err != nil {
		return nil, fmt.Errorf("webhook throughput: %w", err)
	}
	t := res.Throughput
	d.progress("webhooks: drained %d in %.2f s (%.0f/s), CPU ms per delivery %.2f (bench process) + %.2f (PostgreSQL); cores busy %.0f%%, idle %.0f%%, stolen %.0f%%; enqueued at %.0f/s",
		t.Received, t.WallSec, t.PerSec, t.CPUMsPerDelivery, t.PostgresCPUMsPerDelivery, t.MachineBusyPct, t.MachineIdlePct, t.MachineStealPct, t.EnqueuePerSec)
	if res.Throughput.TimedOut {
		d.progress("warning: only %d of %d deliveries arrived within %v", res.Throughput.Received, res.Throughput.Queued, throughputTimeout)
	}
	d.progress("webhooks: caps on %.0f/s, caps off %.0f/s", t.PerSec, off.PerSec)
	d.progress("webhooks on %s: latency, %d deliveries/s offered for %d s", backend, p.WebhookRate, p.WebhookSeconds)
	if res.Latency, err = d.latency(ctx, p.WebhookRate, time.Duration(p.WebhookSeconds)*time.Second); err != nil {
		return nil, fmt.Errorf("webhook latency: %w", err)
	}
	d.progress("webhooks on %s: fairness, %d deliveries hanging on one receiver, %d quiet ones one at a time", backend, fairHanging, fairQuiet)
	if res.Fairness, err = d.fairness(ctx, fairHanging, fairQuiet); err != nil {
		return nil, fmt.Errorf("webhook fairness: %w", err)
	}
	f := res.Fairness
	d.progress("webhooks: quiet p50 %.1f ms, p99 %.1f ms while %d POSTs hung (cap %d)", f.Latency.P50, f.Latency.P99, f.HeldByNeighbour, f.Cap)
	return res, nil
}

// profileWebhooks records a CPU profile of this process during an extra,
// unmeasured throughput phase: the whole delivery path (enqueue, River,
// the worker, SQLite, the receiver) runs in it.
func profileWebhooks(ctx context.Context, d *deliveryBench, n int, path string) error {
	f, err := os.Create(path) //nolint:gosec // path is the operator's -webhook-cpuprofile flag
	if err != nil {
		return fmt.Errorf("create webhook cpu profile: %w", err)
	}
	defer f.Close()
	if err := d.drain(ctx); err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("start webhook cpu profile: %w", err)
	}
	_, err = d.throughput(ctx, n)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	return f.Close()
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureWebhooks runs the webhook phases on a second server whose database
// is PostgreSQL at baseURL, in a fresh schema dropped afterwards. Like the
// SQLite one it renders once, so its deliveries carry a real, stored render.
//
// A non-empty profile path gets a CPU profile of an extra, unmeasured
// throughput phase.
func measureWebhooksPostgres(ctx context.Context, baseURL string, p plan, profile string, progress func(string, ...any), logger *slog.Logger) (*webhookResults, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	dbURL, err := pgtest.WithSearchPath(baseURL, schema)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, baseURL)
		if err != nil {
			progress("warning: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(cctx)
		if _, err := conn.Exec(cctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			progress("warning: drop schema %s: %v", schema, err)
		}
	}()
	progress("starting renderhook on PostgreSQL (schema %s) for the webhook phases", schema)
	pg, err := startRenderhook(ctx, 1, false, dbURL, logger)
	if err != nil {
		return nil, fmt.Errorf("renderhook on PostgreSQL: %w", err)
	}
	defer pg.close()
	d, err := newDeliveryBench(ctx, pg, progress)
	if err != nil {
		return nil, err
	}
	res, err := measureWebhooks(ctx, d, p, backendPostgres)
	if err != nil || profile == "" {
		return res, err
	}
	progress("profiling webhook delivery on PostgreSQL, %d deliveries -> %s", p.WebhookDeliveries, profile)
	return res, profileWebhooks(ctx, d, p.WebhookDeliveries, profile)
}
