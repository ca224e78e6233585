package delivery

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Per-destination fairness on one node: an in-flight cap and a breaker.
//
// A destination is an endpoint (by id), or the host and port of a
// request's webhook_url. Each has a semaphore of Config.MaxInFlightPerEndpoint
// slots around the POST itself; a delivery that finds them full waits up
// to capWait for one (a fast receiver frees a slot within milliseconds, so
// it costs nothing there), and otherwise returns to River snoozed, with no
// attempt spent. So a receiver that hangs holds at most its cap of the
// node's delivery workers; the others keep serving every other space.
//
// The breaker counts consecutive failures that say the receiver is in
// trouble (timeouts, connection errors, 429, 5xx). After
// Config.BreakAfter of them the destination is open: its deliveries are
// parked (snoozed, attempts kept) until the cooldown ends, when one
// delivery goes through as a probe. A failed probe reopens with twice the
// cooldown (up to MaxBreakerCooldown); a successful one closes the breaker with
// a cap of one slot, doubled by every success until it is back at the
// full cap, so a recovered receiver is drained at a ramped rate. A
// Retry-After on a 429 or 503 opens it at once for that long.
//
// The state is in memory, per node: River's primitives (snooze, the
// queue's workers) and this are all it takes; no lock service. Each node
// learns an endpoint's trouble from its own attempts.

// Breaker states, as the API shows them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

const (
	// capWait is how long a delivery over its destination's cap waits for
	// a slot before it is snoozed.
	capWait = 50 * time.Millisecond
	// capSnooze is how long a capped delivery is snoozed (jittered); a
	// fast destination's for fastSnooze, as its slots turn over quickly
	// and a backlog to it would otherwise wait a second per round.
	capSnooze  = time.Second
	fastSnooze = 100 * time.Millisecond
	// probeSnooze is how long a delivery that arrives while another is
	// probing is parked (jittered).
	probeSnooze = time.Second
	// parkedTTL forgets a parked delivery not seen again for this long
	// (deleted, or worked on another node), so the counts stay true.
	parkedTTL = 10 * time.Minute
)

// MaxBreakerCooldown bounds an open breaker's cooldown, which doubles with
// every failed probe from Config.BreakerCooldown.
const MaxBreakerCooldown = 5 * time.Minute

// The default per-destination cap is a share of the workers, with a floor.
const (
	// MaxInFlightShare: the default cap is workers / MaxInFlightShare…
	MaxInFlightShare = 20
	// MaxInFlightFloor: …and never below this.
	MaxInFlightFloor = 4
)

// DefaultMaxInFlight is the default per-destination cap for workers
// delivery workers: a small share of them (1/MaxInFlightShare), at least
// MaxInFlightFloor.
func DefaultMaxInFlight(workers int) int { return max(MaxInFlightFloor, workers/MaxInFlightShare) }

// DestinationStats is what one node knows of a destination's traffic.
type DestinationStats struct {
	// InFlight is how many POSTs to it are under way on this node.
	InFlight int `json:"inFlight"`
	// Limit is its cap now (lower than the configured one while a
	// recovered receiver is ramped back up).
	Limit int `json:"limit"`
	// Capped is how many of its deliveries are snoozed for want of a slot.
	Capped int `json:"capped"`
	// Parked is how many are snoozed while its breaker is open.
	Parked int `json:"parked"`
	// Breaker is closed, open or half-open (a probe is let through).
	Breaker string `json:"breaker"`
	// OpenUntil is when an open breaker lets a probe through.
	OpenUntil *time.Time `json:"openUntil,omitempty"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int `json:"consecutiveFailures"`
}

// fairness holds the per-destination state of one node.
type fairness struct {
	max int
	// burst is the cap of a destination that is answering fast (see
	// limitNow); at least max.
	burst      int
	breakAfter int
	cooldown   time.Duration

	// spaceMax caps the POSTs one space has under way over all its
	// destinations (0: no cap), so a tenant with many endpoints on one
	// hung receiver still leaves the other workers to other tenants.
	spaceMax int

	mu     sync.Mutex
	dests  map[string]*dest
	spaces map[string]int // POSTs under way, per space
}

// enterSpace counts a POST of space in, or reports false when the space
// has spaceMax under way already. leave counts it out.
func (f *fairness) enterSpace(space string) (leave func(), ok bool) {
	if f.spaceMax <= 0 {
		return func() {}, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.spaces[space] >= f.spaceMax {
		return nil, false
	}
	f.spaces[space]++
	return func() {
		f.mu.Lock()
		if f.spaces[space]--; f.spaces[space] <= 0 {
			delete(f.spaces, space)
		}
		f.mu.Unlock()
	}, true
}

type dest struct {
	inFlight int
	limit    int
	// latency is a moving average of its answered POSTs' durations (0:
	// none yet); starts holds when each POST under way began.
	latency  time.Duration
	starts   map[*slot]time.Time
	waiters  []*waiter
	fails    int
	open     bool
	until    time.Time
	cooldown time.Duration
	probing  bool
	// held is the deliveries snoozed here and not yet let through: true
	// when parked by the breaker, false when capped; with when.
	held map[string]heldMark
}

type heldMark struct {
	parked bool
	at     time.Time
}

type waiter struct {
	ch      chan struct{}
	granted *slot // the slot handed over
	park    bool  // the breaker opened meanwhile
}

func newFairness(maxInFlight, burst, breakAfter int, cooldown time.Duration) *fairness {
	return &fairness{max: maxInFlight, burst: max(burst, maxInFlight), breakAfter: breakAfter, cooldown: cooldown,
		dests: map[string]*dest{}, spaces: map[string]int{}}
}

// fastLatency is what makes a destination fast: its POSTs answer in
// less on average, and none under way is older. Well above a healthy
// receiver's answer on a loaded node (the bench's 1 ms receiver answered
// in ~100 ms at p50 with the machine's load at 10 on two cores), well
// below the attempt timeout a hung one holds a worker for.
const fastLatency = 500 * time.Millisecond

// limitNow is how many POSTs d may have under way now. A destination
// whose receiver answers fast gets burst: with a 1 ms receiver, max
// slots would cap one receiver's throughput at max per millisecond and
// turn the rest of a backlog into snoozes, for no one's benefit, since
// fast POSTs hold workers only briefly. Once it is slow (a POST under way
// for fastLatency, or answered slowly on average), failing, or being
// ramped back after its breaker, the cap is max (or the ramp's limit).
// A receiver that has never answered is never fast, so one that hangs
// from the start holds max workers; one that was fast and then hangs
// holds at most burst, and only until fastLatency has passed.
func (f *fairness) limitNow(d *dest, now time.Time) int {
	if d.limit < f.max || d.fails > 0 || d.latency == 0 || d.latency >= fastLatency {
		return d.limit
	}
	for _, t := range d.starts {
		if now.Sub(t) >= fastLatency {
			return d.limit
		}
	}
	return f.burst
}

// destinationKey names where a delivery goes: its endpoint, or the host
// and port of its URL within its space. A webhook_url's host is one
// destination per space: otherwise one tenant pointing webhook_url at a
// path of a shared receiver (a webhook relay, a gateway) that hangs or
// fails would open the breaker and fill the cap for every tenant's
// deliveries to that host.
func destinationKey(spaceID, endpointID, rawURL string) string {
	if endpointID != "" {
		return "endpoint:" + endpointID
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "url:" + spaceID + ":" + rawURL
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return "host:" + spaceID + ":" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func (f *fairness) get(key string) *dest {
	d := f.dests[key]
	if d == nil {
		d = &dest{limit: f.max, held: map[string]heldMark{}, starts: map[*slot]time.Time{}}
		f.dests[key] = d
	}
	return d
}

// slot is a POST let through to a destination; done releases it with the
// attempt's outcome.
type slot struct {
	f     *fairness
	key   string
	probe bool
	start time.Time
}

// take records a POST under way to d.
func (f *fairness) take(d *dest, key string, probe bool, now time.Time) *slot {
	sl := &slot{f: f, key: key, probe: probe, start: now}
	d.inFlight++
	d.starts[sl] = now
	return sl
}

// admit returns a slot for delivery id to key, or how long to snooze it
// (with no slot) when the destination is full or its breaker is open.
func (f *fairness) admit(ctx context.Context, key, id string) (*slot, time.Duration) {
	now := time.Now()
	f.mu.Lock()
	d := f.get(key)
	if d.open {
		if now.Before(d.until) {
			d.held[id] = heldMark{parked: true, at: now}
			wait := d.until.Sub(now)
			f.mu.Unlock()
			return nil, wait + jitterUp(200*time.Millisecond)
		}
		if d.probing {
			d.held[id] = heldMark{parked: true, at: now}
			f.mu.Unlock()
			return nil, jitter(probeSnooze)
		}
		d.probing = true
		delete(d.held, id)
		sl := f.take(d, key, true, now)
		f.mu.Unlock()
		return sl, 0
	}
	if d.inFlight < f.limitNow(d, now) {
		delete(d.held, id)
		sl := f.take(d, key, false, now)
		f.mu.Unlock()
		return sl, 0
	}
	w := &waiter{ch: make(chan struct{})}
	d.waiters = append(d.waiters, w)
	f.mu.Unlock()

	t := time.NewTimer(capWait)
	defer t.Stop()
	select {
	case <-w.ch:
	case <-t.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case w.granted != nil:
		delete(d.held, id)
		return w.granted, 0
	case w.park:
		d.held[id] = heldMark{parked: true, at: now}
		return nil, max(time.Until(d.until), 0) + jitterUp(200*time.Millisecond)
	}
	for i, x := range d.waiters {
		if x == w {
			d.waiters = append(d.waiters[:i], d.waiters[i+1:]...)
			break
		}
	}
	d.held[id] = heldMark{at: now}
	if f.limitNow(d, time.Now()) > d.limit {
		return nil, jitter(fastSnooze)
	}
	return nil, jitter(capSnooze)
}

// outcome classifies an attempt for the breaker.
type outcome int

// neutral is the status of an attempt that counts as neither success nor
// failure.
const neutral = -1

const (
	outcomeOK      outcome = iota // the receiver answered, and is up
	outcomeTrouble                // timeout, connection error, 429, 5xx
)

func classify(status int) outcome {
	if status == 0 || status == http.StatusTooManyRequests || status >= 500 {
		return outcomeTrouble
	}
	return outcomeOK
}

// done releases the slot after an attempt that ended with HTTP status
// (0: no answer; neutral: cut short by our own shutdown, which says
// nothing of the receiver) and the receiver's Retry-After.
func (s *slot) done(status int, retryAfter time.Duration) {
	f := s.f
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.get(s.key)
	d.inFlight--
	delete(d.starts, s)
	if s.probe {
		d.probing = false
	}
	if status != neutral && status != 0 {
		// An answer's duration; timeouts and refused connections count
		// through fails instead.
		took := max(now.Sub(s.start), time.Microsecond)
		if d.latency == 0 {
			d.latency = took
		} else {
			d.latency = (d.latency*7 + took) / 8
		}
	}
	switch {
	case status == neutral:
	case classify(status) == outcomeOK:
		d.fails = 0
		switch {
		case d.open:
			// A probe (or a POST begun before the breaker opened) got
			// through: drain from one slot up.
			d.open, d.cooldown, d.limit = false, 0, 1
		case d.limit < f.max:
			d.limit = min(d.limit*2, f.max)
		}
	default:
		d.fails++
		honour := retryAfter > 0 && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable)
		switch {
		case s.probe && d.open:
			d.cooldown = min(max(d.cooldown*2, f.cooldown), MaxBreakerCooldown)
			d.until = now.Add(max(d.cooldown, min(retryAfter, maxRetryAfter)))
		case honour || (!d.open && d.fails >= f.breakAfter):
			if !d.open {
				d.open, d.cooldown = true, f.cooldown
			}
			wait := d.cooldown
			if honour {
				wait = min(retryAfter, maxRetryAfter) // the receiver said how long
			}
			if t := now.Add(wait); t.After(d.until) {
				d.until = t
			}
		}
	}
	if d.open {
		// Everyone waiting for a slot is parked instead.
		for _, w := range d.waiters {
			w.park = true
			close(w.ch)
		}
		d.waiters = nil
		return
	}
	for limit := f.limitNow(d, now); d.inFlight < limit && len(d.waiters) > 0; {
		w := d.waiters[0]
		d.waiters = d.waiters[1:]
		w.granted = f.take(d, s.key, false, now)
		close(w.ch)
	}
	if d.inFlight == 0 && d.fails == 0 && d.limit == f.max && len(d.held) == 0 {
		delete(f.dests, s.key) // idle and healthy: nothing to remember (its speed is learnt again from one answer)
	}
}

// stats reports key's state now.
func (f *fairness) stats(key string) DestinationStats {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dests[key]
	if d == nil {
		return DestinationStats{Limit: f.max, Breaker: BreakerClosed}
	}
	s := DestinationStats{InFlight: d.inFlight, Limit: d.limit, ConsecutiveFailures: d.fails, Breaker: BreakerClosed}
	if d.open {
		s.Breaker = BreakerOpen
		if d.probing || !now.Before(d.until) {
			s.Breaker = BreakerHalfOpen
		}
		u := d.until.UTC()
		s.OpenUntil = &u
	}
	for id, m := range d.held {
		if now.Sub(m.at) > parkedTTL {
			delete(d.held, id)
			continue
		}
		if m.parked {
			s.Parked++
		} else {
			s.Capped++
		}
	}
	return s
}

// heldState says whether delivery id is parked or capped on this node
// ("" when neither).
func (f *fairness) heldState(key, id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dests[key]
	if d == nil {
		return ""
	}
	m, ok := d.held[id]
	switch {
	case !ok || time.Since(m.at) > parkedTTL:
		return ""
	case m.parked:
		return "parked"
	}
	return "capped"
}

// jitterUp returns a random delay in [0, d).
// It spreads retries, so it needs no unpredictable randomness.
func jitterUp(d time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(d))) //nolint:gosec // timing jitter, not a secret
}

// ParkedDestinations is how many destinations' breakers are open on
// this node now (the metrics' gauge).
func (s *Service) ParkedDestinations() int {
	s.fair.mu.Lock()
	defer s.fair.mu.Unlock()
	n := 0
	for _, d := range s.fair.dests {
		if d.open {
			n++
		}
	}
	return n
}

// EndpointStats is this node's view of an endpoint's traffic: its cap,
// breaker, and how many of its deliveries are capped or parked.
func (s *Service) EndpointStats(endpointID string) DestinationStats {
	return s.fair.stats(destinationKey("", endpointID, ""))
}

// DeliveryHeld says whether a delivery is parked (its endpoint's breaker
// is open) or capped (its destination is at its in-flight cap) on this
// node: "parked", "capped" or "".
func (s *Service) DeliveryHeld(spaceID, endpointID, rawURL, deliveryID string) string {
	return s.fair.heldState(destinationKey(spaceID, endpointID, rawURL), deliveryID)
}

// SetMaxInFlightPerEndpoint changes the per-destination cap while the
// service runs; the benchmark turns the cap off (n = Workers) and on
// again to measure what it costs in one run.
func (s *Service) SetMaxInFlightPerEndpoint(n int) {
	f := s.fair
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.dests {
		if d.limit == f.max {
			d.limit = n
		}
	}
	f.max, f.burst = n, max(f.burst, n)
	if f.spaceMax > 0 {
		f.spaceMax = max(f.spaceMax, n) // caps off (n = workers) lifts the space cap too
	}
}

// MaxInFlightPerEndpoint is the per-destination cap in force.
func (s *Service) MaxInFlightPerEndpoint() int {
	s.fair.mu.Lock()
	defer s.fair.mu.Unlock()
	return s.fair.max
}
