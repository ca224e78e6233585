package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// maxResponseBody is how much of a receiver's answer is recorded.
const maxResponseBody = 4 << 10

// maxRetryAfter bounds how long a receiver's Retry-After can push an
// attempt back.
const maxRetryAfter = time.Hour

// Queues is what the delivery worker needs of the queue: somewhere to
// register, and a queue of its own.
type Queues interface {
	AddQueue(name string, maxWorkers int, fetchCooldown time.Duration)
}

// fetchCooldown is how often River may fetch deliveries: with Workers
// slots, Workers per fetchCooldown is the ceiling on deliveries per second.
// It is also what a delivery may wait for its fetch at a trickle (a job
// inserted just after a fetch), so it stays well inside the 50 ms p99
// target; 10 ms fetched bigger batches than 5 ms at the same throughput.
const fetchCooldown = 10 * time.Millisecond

// Register adds the delivery worker to workers and its queue to q.
func (s *Service) Register(workers *river.Workers, q Queues) {
	client := s.cfg.Guard.HTTPClient(egress.ClientOptions{Timeout: s.cfg.Timeout, IdleConnsPerHost: s.cfg.Workers})
	river.AddWorker(workers, &worker{s: s, client: client})
	q.AddQueue(QueueName, s.cfg.Workers, fetchCooldown)
}

type worker struct {
	river.WorkerDefaults[DeliverArgs]
	s      *Service
	client *http.Client
	spaces secretCache
}

// secretCache keeps spaces' signing secrets for a few seconds, sparing a
// database read per attempt. A rotation shows within secretTTL; until
// then the old secret, which stays valid for 24 h, signs.
type secretCache struct {
	mu sync.Mutex
	m  map[string]cachedSecrets
}

type cachedSecrets struct {
	cur, prev string
	rotated   *time.Time
	at        time.Time
}

const secretTTL = 5 * time.Second

// Timeout leaves room for one attempt plus bookkeeping.
func (w *worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.cfg.JobLimit()
}

func (w *worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	d, file, queued, err := w.load(ctx, job)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("delivery %s is gone", job.Args.DeliveryID))
	}
	if err != nil {
		return fmt.Errorf("load delivery: %w", err)
	}
	if d.Status == store.DeliverySucceeded || d.Status == store.DeliveryExhausted {
		return nil // a crash after the last attempt's record; nothing left to do
	}
	// render.succeeded promises a renderUrl that downloads: wait for the
	// store callback to put the file there.
	if d.Event == EventRenderSucceeded && d.RenderID != "" && !file.Stored && time.Since(d.CreatedAt) < 10*time.Minute {
		return river.JobSnooze(100 * time.Millisecond)
	}
	if !queued {
		if d.Payload, err = w.freshRenderURL(ctx, d, file.Key); err != nil {
			return err
		}
	}
	var ep *store.WebhookEndpoint
	secrets, err := w.secrets(ctx, d, &ep)
	if err != nil {
		return err
	}
	if ep != nil && !ep.Enabled {
		a := store.DeliveryAttempt{At: time.Now().UTC(), Error: "endpoint is disabled: " + ep.DisabledReason}
		if err := w.s.rec.record(d.ID, a, store.DeliveryExhausted); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		return nil
	}

	a, retryAfter, wait := w.attemptFair(ctx, d, secrets)
	if a == nil {
		return river.JobSnooze(wait) // capped or parked: no attempt spent
	}
	n := len(d.Attempts) + 1 - job.Args.Base // attempts in this schedule
	ok := a.StatusCode >= 200 && a.StatusCode < 300
	status := store.DeliverySucceeded
	switch {
	case ok:
	case a.StatusCode == http.StatusGone && ep != nil:
		status = store.DeliveryExhausted
	case n >= len(w.s.cfg.Schedule):
		status = store.DeliveryExhausted
	default:
		status = store.DeliveryFailed
	}
	// Returns once the record is committed (group-committed with other
	// workers' records): River marks the job done only after that, so a
	// crash can cost a repeated attempt but never an unrecorded one.
	if err := w.s.rec.record(d.ID, *a, status); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	if o := w.s.cfg.Observer; o != nil {
		o.DeliveryAttempt(status, *a)
	}
	if ep != nil {
		w.endpointHealth(ctx, ep, ok, *a)
	}
	if status != store.DeliveryFailed {
		return nil
	}
	delay := jitter(w.s.cfg.Schedule[n])
	if retryAfter > delay {
		delay = min(retryAfter, maxRetryAfter)
	}
	return river.JobSnooze(delay)
}

// load returns the delivery to attempt, where its render's file is, and
// whether the delivery is the job's queued message, sent as it is. A
// job's first run takes the delivery from the job's args when they carry
// it, sparing a read per delivery: the row is then as EnqueueTx wrote it
// (pending, no attempts), and a render.succeeded's renderUrl was made
// moments ago (within half its lifetime, FileURLLifetime). Any later run
// (a retry, a run after a snooze or a crash, a redelivery, a job retried
// by hand) reads the row, where earlier attempts and their status are,
// and the render's file key, for a renderUrl made at send time; so does
// a render.succeeded whose file was not stored yet when it was queued.
func (w *worker) load(ctx context.Context, job *river.Job[DeliverArgs]) (*store.Delivery, store.RenderFile, bool, error) {
	m := job.Args.Message
	// River appends to attempted_by on every fetch, snoozes included
	// (which give back the attempt number), so one entry means first run.
	first := job.Attempt == 1 && len(job.AttemptedBy) == 1
	if m != nil && first && (m.Event != EventRenderSucceeded || m.RenderID == "" || m.RenderStored && w.urlFresh(m)) {
		return m.delivery(job.Args.DeliveryID), store.RenderFile{Stored: m.RenderStored}, true, nil
	}
	d, f, err := w.s.cfg.Store.FindDeliveryToSend(ctx, job.Args.DeliveryID)
	return d, f, false, err
}

// urlFresh reports whether the renderUrl queued in m still has at least
// half its lifetime to run.
func (w *worker) urlFresh(m *Message) bool {
	l := w.s.cfg.FileURLLifetime
	return w.s.cfg.Files == nil || l <= 0 || time.Since(time.UnixMilli(m.CreatedAt)) < l/2
}

// freshRenderURL returns d's payload to send: a render.succeeded's with a
// renderUrl (and artifact URLs) made now from the render's file key,
// anything else as stored.
func (w *worker) freshRenderURL(ctx context.Context, d *store.Delivery, key string) ([]byte, error) {
	if w.s.cfg.Files == nil || d.Event != EventRenderSucceeded || key == "" {
		return d.Payload, nil
	}
	return WithFileURLs(d.Payload, key, func(k string) (string, error) { return w.s.cfg.Files.FileURL(ctx, k) })
}

// secrets returns the signing secrets: the endpoint's own, or the space's
// for a request's webhook_url; plus the previous one inside the rotation
// window.
func (w *worker) secrets(ctx context.Context, d *store.Delivery, ep **store.WebhookEndpoint) ([]string, error) {
	var cur, prev string
	var rotated *time.Time
	if d.EndpointID != "" {
		e, err := w.s.cfg.Store.FindWebhookEndpoint(ctx, d.EndpointID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, river.JobCancel(fmt.Errorf("endpoint %s was deleted", d.EndpointID))
		}
		if err != nil {
			return nil, fmt.Errorf("load endpoint: %w", err)
		}
		*ep = e
		cur, prev, rotated = e.Secret, e.SecretPrev, e.SecretRotatedAt
	} else {
		w.spaces.mu.Lock()
		c, ok := w.spaces.m[d.SpaceID]
		w.spaces.mu.Unlock()
		if !ok || time.Since(c.at) > secretTTL {
			sp, err := w.s.cfg.Store.GetSpace(ctx, d.SpaceID)
			if err != nil {
				return nil, fmt.Errorf("load space: %w", err)
			}
			c = cachedSecrets{sp.WebhookSecret, sp.WebhookSecretPrev, sp.WebhookSecretRotatedAt, time.Now()}
			w.spaces.mu.Lock()
			if w.spaces.m == nil || len(w.spaces.m) > 10000 {
				w.spaces.m = map[string]cachedSecrets{}
			}
			w.spaces.m[d.SpaceID] = c
			w.spaces.mu.Unlock()
		}
		cur, prev, rotated = c.cur, c.prev, c.rotated
	}
	out := []string{cur}
	if prev != "" && rotated != nil && time.Since(*rotated) < w.s.cfg.RotationWindow {
		out = append(out, prev)
	}
	return out, nil
}

// attemptFair makes the attempt once its destination has a slot for it
// (fairness.go), and releases the slot with the outcome. With no slot
// (the destination is at its cap, or its breaker is open) it attempts
// nothing and says how long to snooze the delivery.
func (w *worker) attemptFair(ctx context.Context, d *store.Delivery, secrets []string) (*store.DeliveryAttempt, time.Duration, time.Duration) {
	leave, ok := w.s.fair.enterSpace(d.SpaceID)
	if !ok {
		return nil, 0, jitter(capSnooze)
	}
	defer leave()
	key := destinationKey(d.SpaceID, d.EndpointID, d.URL)
	sl, wait := w.s.fair.admit(ctx, key, d.ID)
	if sl == nil {
		if o := w.s.cfg.Observer; o != nil {
			o.DeliveryHeld(w.s.fair.heldState(key, d.ID))
		}
		return nil, 0, wait
	}
	a, retryAfter := w.attempt(ctx, d, secrets)
	if ctx.Err() != nil && a.StatusCode == 0 {
		sl.done(neutral, 0) // our own shutdown, not the receiver's trouble
	} else {
		sl.done(a.StatusCode, retryAfter)
	}
	return &a, retryAfter, 0
}

// attempt POSTs the payload once, signed now, and reports the outcome and
// any Retry-After the receiver asked for.
func (w *worker) attempt(ctx context.Context, d *store.Delivery, secrets []string) (store.DeliveryAttempt, time.Duration) {
	now := time.Now()
	a := store.DeliveryAttempt{At: now.UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		a.Error = err.Error()
		return a, 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "renderhook-webhooks/1")
	req.Header.Set(w.s.cfg.SignatureHeader, webhook.Sign(secrets[0], now, d.Payload))
	std, err := webhook.SignStandardHeaders(secrets, d.ID, now, d.Payload)
	if err != nil {
		a.Error = "sign: " + err.Error()
		return a, 0
	}
	for k, v := range std {
		req.Header[k] = v
	}
	res, err := w.client.Do(req)
	a.DurationMs = time.Since(now).Milliseconds()
	if err != nil {
		a.Error = err.Error()
		return a, 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // let the connection be reused
	a.StatusCode, a.ResponseBody = res.StatusCode, string(body)
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		a.Error = "receiver answered " + res.Status
	}
	var retryAfter time.Duration
	if v := res.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
			retryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			retryAfter = time.Until(t)
		}
	}
	return a, retryAfter
}

// endpointHealth disables an endpoint on 410 Gone or after failing for
// DisableAfter without a success, and clears the failing mark on success.
func (w *worker) endpointHealth(ctx context.Context, ep *store.WebhookEndpoint, ok bool, a store.DeliveryAttempt) {
	now := time.Now().UTC()
	h := store.EndpointHealth{At: now, OK: ok}
	switch {
	case ok && ep.FailingSince == nil:
		return // healthy, as read
	case ok:
	case a.StatusCode == http.StatusGone:
		h.DisableReason = "the receiver answered 410 Gone at " + Timestamp(now)
	case ep.FailingSince == nil:
		// The first failure of a run: FailingSince is set unless another
		// attempt set it first.
	case now.Sub(*ep.FailingSince) >= w.s.cfg.DisableAfter:
		cutoff := now.Add(-w.s.cfg.DisableAfter)
		h.DisableReason, h.FailingBefore = "every delivery failed since "+Timestamp(*ep.FailingSince), &cutoff
	default:
		return // still failing, not for long enough
	}
	// Only the health fields, and only as a change from what is stored
	// now: rewriting the endpoint as read before the attempt would undo an
	// edit or a secret rotation its owner made meanwhile.
	changed, err := w.s.cfg.Store.SetWebhookEndpointHealth(context.WithoutCancel(ctx), ep.ID, h)
	if err != nil {
		w.s.log.Error("update endpoint health", "endpoint_id", ep.ID, "err", err)
		return
	}
	if changed && h.DisableReason != "" {
		w.s.log.Warn("webhook endpoint disabled", "endpoint_id", ep.ID, "reason", h.DisableReason)
	}
}

// jitter spreads a delay by ±20%, so retries of many deliveries to one
// struggling receiver do not arrive in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // timing jitter, not a secret
}
