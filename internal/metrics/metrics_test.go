package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/metrics"
	"github.com/renderhook/renderhook/internal/store"
)

type fakePool struct{ pid int }

func (f fakePool) Stats() browser.Stats {
	return browser.Stats{Tabs: 4, Busy: 3, Queued: 5, Restarts: 2, Crashes: 1, Spares: 2}
}
func (f fakePool) BrowserPID() int { return f.pid }

// scrape returns /metrics' text.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func requireLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l) {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestFamilies(t *testing.T) {
	m := metrics.New(metrics.Config{Browser: fakePool{pid: os.Getpid()}, Jobs: func(context.Context) ([]metrics.JobCount, error) {
		return []metrics.JobCount{{Queue: "default", Kind: "render.store", State: "available", N: 3}, {Queue: "webhooks", Kind: "webhook.deliver", State: "completed", N: 9}}, nil
	}})
	m.AddParked(func() int { return 1 })
	m.AddRoutes("GET /api/render/{pageId}", "POST /v1/render/sync")
	m.Render(metrics.KindPage, "png", "chromium", "ok", 40*time.Millisecond)
	m.Render(metrics.KindURL, "pdf", "takumi", "timeout", 2*time.Second)
	m.TabWait(metrics.KindPage, time.Millisecond)
	m.DeliveryAttempt(store.DeliverySucceeded, store.DeliveryAttempt{StatusCode: 204, DurationMs: 12})
	m.DeliveryAttempt(store.DeliveryFailed, store.DeliveryAttempt{StatusCode: 503, DurationMs: 30})
	m.DeliveryAttempt(store.DeliveryExhausted, store.DeliveryAttempt{Error: "dial: refused"})
	m.DeliveryHeld("parked")
	m.DeliveryHeld("capped")

	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/render/sync" {
			w.Header().Set("X-Renderhook-Cache", "hit")
		}
		if strings.HasPrefix(r.URL.Path, "/nope") {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = io.WriteString(w, "x")
	}))
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/api/render/pg_1", nil),
		httptest.NewRequest(http.MethodGet, "/api/render/pg_2", nil),
		httptest.NewRequest(http.MethodPost, "/v1/render/sync", nil),
		httptest.NewRequest(http.MethodGet, "/nope/sp_secret", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	text := scrape(t, m)
	requireLines(t, text,
		`renderhook_render_duration_seconds_bucket{format="png",kind="page",outcome="ok",renderer="chromium",le="0.05"} 1`,
		`renderhook_renders_total{format="pdf",kind="url",outcome="timeout",renderer="takumi"} 1`,
		`renderhook_browser_tab_wait_seconds_count{kind="page"} 1`,
		`renderhook_render_cache_hits_total{kind="url"} 1`,
		`renderhook_browser_tabs{state="busy"} 3`,
		`renderhook_browser_tabs{state="idle"} 1`,
		`renderhook_browser_spare_contexts 2`,
		`renderhook_browser_queue_length 5`,
		`renderhook_browser_restarts_total 2`,
		`renderhook_browser_crashes_total 1`,
		`renderhook_river_jobs{kind="render.store",queue="default",state="available"} 3`,
		`renderhook_river_jobs{kind="render.store",queue="default",state="discarded"} 0`,
		`renderhook_river_jobs{kind="webhook.deliver",queue="webhooks",state="running"} 0`,
		`renderhook_webhook_deliveries_total{outcome="delivered",status_class="2xx"} 1`,
		`renderhook_webhook_deliveries_total{outcome="retrying",status_class="5xx"} 1`,
		`renderhook_webhook_deliveries_total{outcome="failed",status_class="none"} 1`,
		`renderhook_webhook_deliveries_total{outcome="parked",status_class="none"} 1`,
		`renderhook_webhook_attempt_duration_seconds_count{outcome="delivered"} 1`,
		`renderhook_webhook_endpoint_cap_reached_total 1`,
		`renderhook_webhook_endpoints_parked 1`,
		`renderhook_http_requests_total{code="200",route="GET /api/render/{pageId}"} 2`,
		`renderhook_http_requests_total{code="404",route="other"} 1`,
		`renderhook_http_request_duration_seconds_count{route="POST /v1/render/sync"} 1`,
		`renderhook_browser_rss_bytes `,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	)
	if strings.Contains(text, "sp_secret") || strings.Contains(text, "pg_1") {
		t.Error("a request path leaked into a label")
	}
	promtoolCheck(t, text)
}

// promtoolCheck lints text with promtool check metrics when promtool is
// installed (scripts/install-deps.sh installs it).
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH; lint skipped")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestJobsScrapeNeverWaitsOnTheDatabase: a count stuck in the database
// holds a scrape no longer than its short wait; the next scrape after it
// finishes serves it.
func TestJobsScrapeNeverWaitsOnTheDatabase(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	var once sync.Once
	m := metrics.New(metrics.Config{JobsTTL: time.Hour, Jobs: func(ctx context.Context) ([]metrics.JobCount, error) {
		defer once.Do(calls.Done)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []metrics.JobCount{{Queue: "default", Kind: "render.async", State: "running", N: 2}}, nil
	}})
	start := time.Now()
	text := scrape(t, m)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("scrape took %v behind a stuck count", took)
	}
	if strings.Contains(text, "renderhook_river_jobs{") {
		t.Fatal("counts before the first finished")
	}
	close(release)
	calls.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(scrape(t, m), `renderhook_river_jobs{kind="render.async",queue="default",state="running"} 2`) {
		if time.Now().After(deadline) {
			t.Fatal("the finished count never showed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTreeRSSCountsDescendants(t *testing.T) {
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	alone := metrics.TreeRSS("/proc", child.Process.Pid)
	if alone <= 0 {
		t.Fatalf("child RSS %d", alone)
	}
	self := metrics.TreeRSS("/proc", os.Getpid())
	var own int64
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		var size, res int64
		if _, err := fmt.Sscan(string(b), &size, &res); err == nil {
			own = res * int64(os.Getpagesize())
		}
	}
	if self < own+alone/2 {
		t.Fatalf("tree RSS %d, own %d, child %d: the child was not counted", self, own, alone)
	}
	if metrics.TreeRSS("/proc", 1<<30) != 0 {
		t.Fatal("a missing pid has RSS")
	}
}

type fakeSub struct{ ch chan *river.Event }

func (f fakeSub) Subscribe(...river.EventKind) (<-chan *river.Event, func()) { return f.ch, func() {} }

func TestWatchJobs(t *testing.T) {
	m := metrics.New(metrics.Config{})
	sub := fakeSub{ch: make(chan *river.Event)}
	stop := m.WatchJobs(sub, []string{"render.credits"}, "render.store", "render.credits")
	send := func(kind river.EventKind, jobKind string, state rivertype.JobState) {
		sub.ch <- &river.Event{Kind: kind, Job: &rivertype.JobRow{Kind: jobKind, State: state}}
	}
	send(river.EventKindJobCompleted, "render.credits", rivertype.JobStateCompleted)
	send(river.EventKindJobCompleted, "render.credits", rivertype.JobStateCompleted)
	send(river.EventKindJobCompleted, "render.store", rivertype.JobStateCompleted)
	send(river.EventKindJobFailed, "render.store", rivertype.JobStateRetryable)
	send(river.EventKindJobFailed, "render.store", rivertype.JobStateDiscarded)
	send(river.EventKindJobFailed, "webhook.deliver", rivertype.JobStateRetryable)
	stop() // the unbuffered sends above were all taken; stop waits for the last to be counted
	text := scrape(t, m)
	requireLines(t, text, `renderhook_credits_billed_total 2`, `renderhook_callbacks_retried_total{kind="render.store"} 1`)
	if strings.Contains(text, `kind="webhook.deliver"`) {
		t.Error("a delivery retry counted as a callback retry")
	}
	if n := testutil.CollectAndCount(m.Registry(), "renderhook_callbacks_retried_total"); n != 1 {
		t.Errorf("%d callback retry series", n)
	}
}
