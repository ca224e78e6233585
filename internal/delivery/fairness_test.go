package delivery

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/storetest"
	"github.com/renderhook/renderhook/internal/testkit"
	"github.com/renderhook/renderhook/webhook"
)

// working is the delivery service on st with a River client that works
// the jobs, as a node does.
type working struct {
	st  store.Store
	q   *queue.Queue
	svc *Service
}

func newWorking(t *testing.T, st store.Store, cfg Config) *working {
	t.Helper()
	q, svc, _ := startService(t, st, queue.Config{PollInterval: 20 * time.Millisecond}, cfg)
	return &working{st: st, q: q, svc: svc}
}

// sendTests queues n test events to e and returns their delivery ids.
func (wk *working) sendTests(t *testing.T, e *store.WebhookEndpoint, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		id, err := wk.svc.SendTest(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// endpoint makes a space with one endpoint at url.
func (wk *working) endpoint(t *testing.T, url string) *store.WebhookEndpoint {
	t.Helper()
	ctx := context.Background()
	secret, _ := webhook.NewSecret()
	now := time.Now().UTC()
	sp := &store.Space{ID: store.NewID("spc"), Name: "t", WebhookSecret: secret, CreatedAt: now}
	if err := wk.st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	e := &store.WebhookEndpoint{ID: store.NewID("whe"), SpaceID: sp.ID, URL: url, Enabled: true, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if err := wk.st.CreateWebhookEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	return e
}

// receiver records the webhook-ids it is sent and how many POSTs are
// under way at once; handle decides each answer.
type receiver struct {
	srv            *httptest.Server
	mu             sync.Mutex
	got            map[string]int // webhook-id → POSTs answered 2xx
	at             map[string]time.Time
	inFlight, peak atomic.Int64
	failed         atomic.Int64
}

func newReceiver(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) int) *receiver {
	rc := &receiver{got: map[string]int{}, at: map[string]time.Time{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.inFlight.Add(1)
		defer rc.inFlight.Add(-1)
		for p := rc.peak.Load(); n > p && !rc.peak.CompareAndSwap(p, n); p = rc.peak.Load() {
		}
		_, _ = io.Copy(io.Discard, r.Body)
		status := handle(w, r)
		if status >= 200 && status < 300 {
			rc.mu.Lock()
			rc.got[r.Header.Get("webhook-id")]++
			rc.at[r.Header.Get("webhook-id")] = time.Now()
			rc.mu.Unlock()
		} else {
			rc.failed.Add(1)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) arrived(id string) (int, time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id], rc.at[id]
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

// deliveredOnce checks every delivery in ids succeeded with attempts
// attempts at most, and arrived exactly once.
func deliveredOnce(t *testing.T, wk *working, rc *receiver, ids []string, maxAttempts int) (attempts int) {
	t.Helper()
	for _, id := range ids {
		var d *store.Delivery
		// The record is committed just after the receiver answered.
		waitFor(t, 5*time.Second, "delivery "+id+" recorded", func() bool {
			var err error
			d, err = storetest.FindDelivery(context.Background(), wk.st, id)
			return err == nil && d.Status != store.DeliveryPending && d.Status != store.DeliveryFailed
		})
		if d.Status != store.DeliverySucceeded || len(d.Attempts) > maxAttempts {
			t.Fatalf("delivery %s: %s after %d attempts (want succeeded, at most %d)", id, d.Status, len(d.Attempts), maxAttempts)
		}
		attempts += len(d.Attempts)
		if n, _ := rc.arrived(id); n != 1 {
			t.Fatalf("delivery %s arrived %d times", id, n)
		}
	}
	return attempts
}

// TestCapKeepsOthersFlowing: space A's receiver accepts connections and
// never answers while A has many deliveries queued; space B's deliveries
// still each arrive within 2 s, A never has more than its cap in flight,
// and once A's receiver answers again every one of A's deliveries
// arrives exactly once, after one attempt, its River job never having
// spent an attempt on being capped.
func TestCapKeepsOthersFlowing(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		const workers, capA, hungN, quietN = 40, 4, 120, 10
		wk := newWorking(t, st, Config{Workers: workers, MaxInFlightPerEndpoint: capA, Timeout: time.Minute,
			Schedule: []time.Duration{0, 100 * time.Millisecond}})
		release := make(chan struct{})
		var once sync.Once
		unhang := func() { once.Do(func() { close(release) }) }
		hung := newReceiver(t, func(w http.ResponseWriter, r *http.Request) int { <-release; return 200 })
		t.Cleanup(unhang) // before the receiver's Close, which waits for its handlers
		quiet := newReceiver(t, func(http.ResponseWriter, *http.Request) int { return 200 })
		a, b := wk.endpoint(t, hung.srv.URL+"/a"), wk.endpoint(t, quiet.srv.URL+"/b")
		ctx := context.Background()

		hungIDs := wk.sendTests(t, a, hungN)
		waitFor(t, 10*time.Second, "A's receiver holding POSTs", func() bool { return hung.inFlight.Load() >= capA })
		// Let A's backlog be fetched (and capped) before B sends; without
		// a cap this never holds, and B's events then find every worker
		// hung on A.
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if s := wk.svc.EndpointStats(a.ID); s.Capped+s.InFlight >= hungN/2 {
				break
			}
		}
		var worst time.Duration
		for i := range quietN {
			start := time.Now()
			id, err := wk.svc.SendTest(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 2*time.Second, "B's test event "+id+" did not arrive", func() bool { n, _ := quiet.arrived(id); return n == 1 })
			_, at := quiet.arrived(id)
			worst = max(worst, at.Sub(start))
			_ = i
		}
		s := wk.svc.EndpointStats(a.ID)
		t.Logf("B's slowest of %d: %s; A: %+v", quietN, worst, s)
		if s.InFlight != capA || s.Breaker != BreakerClosed || s.Capped == 0 {
			t.Fatalf("A's stats %+v, want %d in flight, capped > 0, breaker closed", s, capA)
		}

		unhang()
		waitFor(t, 60*time.Second, "A's deliveries after the receiver answered", func() bool {
			hung.mu.Lock()
			defer hung.mu.Unlock()
			return len(hung.got) == hungN
		})
		if p := hung.peak.Load(); p > capA {
			t.Fatalf("A's receiver saw %d POSTs at once, cap %d", p, capA)
		}
		deliveredOnce(t, wk, hung, hungIDs, 1)
		// River's side: a snooze gives the attempt back, so every job
		// completed on its first attempt, however often it was capped.
		waitFor(t, 10*time.Second, "A's jobs completed", func() bool {
			res, err := wk.q.Client().JobList(ctx, river.NewJobListParams().Queues(QueueName).States("completed").First(10000))
			return err == nil && len(res.Jobs) == hungN+quietN
		})
		res, err := wk.q.Client().JobList(ctx, river.NewJobListParams().Queues(QueueName).States("completed").First(10000))
		if err != nil {
			t.Fatal(err)
		}
		snoozed := 0
		for _, j := range res.Jobs {
			var md struct{ Snoozes int }
			_ = json.Unmarshal(j.Metadata, &md)
			if md.Snoozes > 0 {
				snoozed++
			}
			if j.Attempt != 1 {
				t.Fatalf("job %d completed at attempt %d after %d snoozes", j.ID, j.Attempt, md.Snoozes)
			}
		}
		if snoozed < hungN/2 {
			t.Fatalf("only %d jobs were ever snoozed: the cap did not hold them", snoozed)
		}
		if s := wk.svc.EndpointStats(a.ID); s.Capped != 0 || s.InFlight != 0 {
			t.Fatalf("after the drain: %+v", s)
		}
	})
}

// TestBreakerParksAndRecovers: A's receiver answers 503 for a while; after
// BreakAfter failures its deliveries are parked rather than attempted,
// probes go through one at a time, and once it recovers every delivery
// arrives exactly once, having spent attempts only on the POSTs the
// receiver actually saw fail.
func TestBreakerParksAndRecovers(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		const n, breakAfter = 60, 3
		wk := newWorking(t, st, Config{Workers: 40, MaxInFlightPerEndpoint: 4, BreakAfter: breakAfter,
			BreakerCooldown: 200 * time.Millisecond, Schedule: []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond,
				50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}})
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t, func(http.ResponseWriter, *http.Request) int {
			if down.Load() {
				return http.StatusServiceUnavailable
			}
			return 200
		})
		e := wk.endpoint(t, rc.srv.URL+"/hook")
		ids := wk.sendTests(t, e, n)
		waitFor(t, 10*time.Second, "the breaker opened and parked deliveries", func() bool {
			s := wk.svc.EndpointStats(e.ID)
			return s.Breaker != BreakerClosed && s.Parked > n/2
		})
		// Down until two probes more have failed: only probes reach the
		// receiver, one per cooldown (200, 400 ms… doubled per failed
		// probe), so the open breaker is seen holding deliveries back
		// over two cooldowns rather than over a guessed time.
		opened := rc.failed.Load()
		waitFor(t, 10*time.Second, "two probes after the breaker opened", func() bool { return rc.failed.Load() >= opened+2 })
		s := wk.svc.EndpointStats(e.ID)
		failed := rc.failed.Load()
		t.Logf("failed POSTs while down: %d (%d when it opened); %+v", failed, opened, s)
		if s.Breaker == BreakerClosed || s.Parked < n/2 {
			t.Fatalf("while down: %+v", s)
		}
		// breakAfter to open it, up to the cap already in flight then, and
		// the probes: at most 5 while it was open.
		if maxFailed := int64(breakAfter + 4 + 5); failed > maxFailed {
			t.Fatalf("%d failed POSTs, want at most %d: parking did not hold deliveries back", failed, maxFailed)
		}

		down.Store(false)
		recovered := time.Now()
		waitFor(t, 30*time.Second, "every delivery after recovery", func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return len(rc.got) == n
		})
		t.Logf("all %d arrived %s after the receiver recovered", n, time.Since(recovered).Round(time.Millisecond))
		attempts := deliveredOnce(t, wk, rc, ids, 1+int(failed))
		// Every attempt recorded is a POST the receiver saw: parking
		// spent none.
		if want := n + int(rc.failed.Load()); attempts != want {
			t.Fatalf("%d attempts recorded, receiver saw %d POSTs", attempts, want)
		}
		waitFor(t, 5*time.Second, "the breaker closed at the full cap", func() bool {
			s := wk.svc.EndpointStats(e.ID)
			return s.Breaker == BreakerClosed && s.Parked == 0 && s.Limit == 4
		})
	})
}

// TestBreakerStates walks one destination through the breaker: open
// after BreakAfter failures, parked until the cooldown, one probe at a
// time, a failed probe doubling the cooldown, a successful one closing it
// with one slot that doubles per success, and Retry-After as the park
// time.
func TestBreakerStates(t *testing.T) {
	f := newFairness(8, 8, 3, 100*time.Millisecond)
	ctx := context.Background()
	const key = "endpoint:e"
	pass := func(id string) *slot {
		t.Helper()
		sl, wait := f.admit(ctx, key, id)
		if sl == nil {
			t.Fatalf("%s parked for %s, want a slot; %+v", id, wait, f.stats(key))
		}
		return sl
	}
	parked := func(id string) time.Duration {
		t.Helper()
		sl, wait := f.admit(ctx, key, id)
		if sl != nil {
			t.Fatalf("%s got a slot, want parked; %+v", id, f.stats(key))
		}
		return wait
	}
	// probeAfter polls until id gets its probe slot, which must not come
	// before cooldown has passed since failed (the breaker's clock starts
	// at the failure, so a slot earlier than that is the breaker not
	// parking).
	probeAfter := func(id string, failed time.Time, cooldown time.Duration) *slot {
		t.Helper()
		var sl *slot
		waitFor(t, 5*time.Second, id+" let through as a probe", func() bool {
			sl, _ = f.admit(ctx, key, id)
			return sl != nil
		})
		if waited := time.Since(failed); waited < cooldown {
			t.Fatalf("%s probed %s after the failure, before the %s cooldown", id, waited, cooldown)
		}
		return sl
	}
	for range 2 {
		pass("d").done(500, 0)
	}
	pass("d").done(404, 0) // the receiver is up: the run is broken
	for range 2 {
		pass("d").done(0, 0)
	}
	opened := time.Now()
	pass("d").done(0, 0)
	if s := f.stats(key); s.Breaker != BreakerOpen || s.ConsecutiveFailures != 3 {
		t.Fatalf("after 3 failures: %+v", s)
	}
	if w := parked("p1"); w < 50*time.Millisecond || w > 400*time.Millisecond {
		t.Fatalf("parked for %s, want about the 100 ms cooldown", w)
	}
	probe := probeAfter("p1", opened, 100*time.Millisecond)
	if s := f.stats(key); s.Breaker != BreakerHalfOpen || s.Parked != 0 {
		t.Fatalf("probing: %+v", s)
	}
	parked("p2") // one probe at a time
	failedProbe := time.Now()
	probe.done(502, 0)
	if w := parked("p2"); w < 150*time.Millisecond {
		t.Fatalf("after a failed probe parked for %s, want the doubled cooldown (200 ms)", w)
	}
	probeAfter("p2", failedProbe, 200*time.Millisecond).done(200, 0)
	if s := f.stats(key); s.Breaker != BreakerClosed || s.Limit != 1 || s.Parked != 0 {
		t.Fatalf("after the probe succeeded: %+v", s)
	}
	// Ramp: one slot, doubled per success.
	a := pass("p1")
	if sl, _ := f.admit(ctx, key, "x"); sl != nil {
		t.Fatal("a second slot while the limit is 1")
	}
	a.done(200, 0)
	for _, want := range []int{4, 8, 8} {
		pass("y").done(200, 0)
		if s := f.stats(key); s.Limit != want {
			t.Fatalf("limit %d, want %d", s.Limit, want)
		}
	}
	// A 429 with Retry-After parks for what the receiver asked, at once.
	pass("z").done(http.StatusTooManyRequests, 300*time.Millisecond)
	if w := parked("z"); w < 250*time.Millisecond || w > 600*time.Millisecond {
		t.Fatalf("Retry-After 300ms parked for %s", w)
	}
}

// TestDestinationKey: endpoints by id, webhook_urls by host and port.
func TestDestinationKey(t *testing.T) {
	for _, c := range []struct{ space, ep, url, want string }{
		{"spc_a", "whe_1", "https://a.example/x", "endpoint:whe_1"},
		{"spc_a", "", "https://A.example/x?y", "host:spc_a:a.example:443"},
		{"spc_a", "", "http://a.example/z", "host:spc_a:a.example:80"},
		// Another space's webhook_url to the same host is another destination.
		{"spc_b", "", "http://a.example/z", "host:spc_b:a.example:80"},
		{"spc_a", "", "http://127.0.0.1:9000/z", "host:spc_a:127.0.0.1:9000"},
		{"spc_a", "", "http://[::1]:9000/z", "host:spc_a:[::1]:9000"},
	} {
		if got := destinationKey(c.space, c.ep, c.url); got != c.want {
			t.Errorf("destinationKey(%q, %q, %q) = %q, want %q", c.space, c.ep, c.url, got, c.want)
		}
	}
}

// TestCapBurstsWhileFast: a destination answering fast may have burst
// POSTs under way; one never answered yet, or with a POST under way for
// fastLatency, gets only the cap.
func TestCapBurstsWhileFast(t *testing.T) {
	f := newFairness(2, 6, 3, time.Second)
	ctx := context.Background()
	const key = "host:r:80"
	count := func() (slots []*slot) {
		for {
			sl, _ := f.admit(ctx, key, "d")
			if sl == nil {
				return slots
			}
			slots = append(slots, sl)
		}
	}
	first := count()
	if len(first) != 2 {
		t.Fatalf("never answered: %d slots, want the cap, 2", len(first))
	}
	for _, sl := range first {
		sl.done(200, 0) // answered at once: fast
	}
	fast := count()
	if len(fast) != 6 {
		t.Fatalf("answering fast: %d slots, want the burst, 6", len(fast))
	}
	for _, sl := range fast[1:] {
		sl.done(200, 0)
	}
	// fast[0] is still under way; once it is older than fastLatency the
	// destination counts as slow. The age is the code's own clock (no
	// clock to inject): wait until the slot's start is fastLatency ago.
	<-time.After(time.Until(fast[0].start.Add(fastLatency + time.Millisecond)))
	slow := count()
	if len(slow) != 1 {
		t.Fatalf("with a POST under way for %s: %d more slots, want 1 (cap 2, one taken)", fastLatency, len(slow))
	}
}

// TestSpaceCapOverAllDestinations: one space's POSTs over all its
// destinations are capped, whatever each destination's own cap, while
// another space still gets in.
func TestSpaceCapOverAllDestinations(t *testing.T) {
	f := newFairness(4, 4, 3, time.Second)
	f.spaceMax = 3
	var leaves []func()
	for i := range 3 {
		leave, ok := f.enterSpace("spc_a")
		if !ok {
			t.Fatalf("POST %d of space a refused under its cap", i)
		}
		leaves = append(leaves, leave)
	}
	if _, ok := f.enterSpace("spc_a"); ok {
		t.Fatal("space a got a fourth POST past its cap of 3")
	}
	leaveB, ok := f.enterSpace("spc_b")
	if !ok {
		t.Fatal("space b refused while space a is at its cap")
	}
	leaves[0]()
	if leave, ok := f.enterSpace("spc_a"); !ok {
		t.Fatal("space a refused after one of its POSTs ended")
	} else {
		leave()
	}
	for _, l := range append(leaves[1:], leaveB) {
		l()
	}
	if len(f.spaces) != 0 {
		t.Fatalf("counts left after every POST ended: %v", f.spaces)
	}
}
