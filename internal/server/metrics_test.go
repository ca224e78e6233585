package server_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/server"
)

// scrapeAt GETs base/metrics within timeout and returns its text.
func scrapeAt(t *testing.T, base string, timeout time.Duration) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", base, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// sample is the value of the series named exactly series ("name{labels}"
// as Prometheus prints them) in text, and whether it is there.
func sample(text, series string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitMetrics scrapes until every series in want is at least its value.
func waitMetrics(t *testing.T, base string, want map[string]float64) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, text := scrapeAt(t, base, 10*time.Second)
		var missing []string
		for s, min := range want {
			if v, ok := sample(text, s); !ok || v < min {
				missing = append(missing, s+" (got "+strconv.FormatFloat(v, 'g', -1, 64)+")")
			}
		}
		if len(missing) == 0 {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %v", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetricsAfterRenders: after page renders (PNG, PDF), a v1 HTML
// render and its cache hit, and an async render with a webhook, /metrics
// on the main listener has every family with its labels, and promtool
// finds no problem in it.
func TestMetricsAfterRenders(t *testing.T) {
	e := webhookServer(t, true)
	_, pageID := e.cardPage(e.token, nil)
	rc := newReceiver(t)

	e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	e.mustDo(200, "GET", "/api/render/"+pageID+"?format=pdf", e.token, nil)
	v1 := map[string]any{"html": "<h1 style='color:red'>hi</h1>", "width": 300, "height": 200, "ttl": 600}
	e.mustDo(200, "POST", "/v1/render/sync", e.token, v1)
	if hit := e.mustDo(200, "POST", "/v1/render/sync", e.token, v1); hit.Header.Get("X-Renderhook-Cache") != "hit" {
		t.Fatalf("second v1 render not a cache hit: %v", hit.Header)
	}
	e.mustDo(202, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "async": true, "webhook_url": rc.URL + "/hook"})
	rc.Wait(t, 1)
	e.waitCredits(4)

	text := waitMetrics(t, e.base, map[string]float64{
		`renderhook_renders_total{format="png",kind="page",outcome="ok",renderer="chromium"}`:                 2,
		`renderhook_renders_total{format="pdf",kind="page",outcome="ok",renderer="chromium"}`:                 1,
		`renderhook_renders_total{format="png",kind="url",outcome="ok",renderer="chromium"}`:                  1,
		`renderhook_render_duration_seconds_count{format="pdf",kind="page",outcome="ok",renderer="chromium"}`: 1,
		`renderhook_render_cache_hits_total{kind="url"}`:                                                      1,
		`renderhook_browser_tab_wait_seconds_count{kind="page"}`:                                              3,
		`renderhook_browser_tabs{state="idle"}`:                                                               1,
		`renderhook_browser_rss_bytes`:                                                                        1 << 20,
		`renderhook_webhook_deliveries_total{outcome="delivered",status_class="2xx"}`:                         1,
		`renderhook_webhook_attempt_duration_seconds_count{outcome="delivered"}`:                              1,
		`renderhook_credits_billed_total`:                                                                     4,
		`renderhook_http_requests_total{code="202",route="POST /api/render"}`:                                 1,
		`renderhook_http_requests_total{code="200",route="GET /api/render/{pageId}"}`:                         2,
		`renderhook_river_jobs{kind="render.followup",queue="followup",state="available"}`:                    0,
		`renderhook_river_jobs{kind="webhook.deliver",queue="webhooks",state="retryable"}`:                    0,
		`renderhook_webhook_endpoints_parked`:                                                                 0,
		`go_goroutines`:                                                                                       1,
		`process_resident_memory_bytes`:                                                                       1,
	})
	for _, family := range []string{"renderhook_browser_tabs{state=\"busy\"}", "renderhook_browser_spare_contexts", "renderhook_browser_queue_length",
		"renderhook_browser_restarts_total", "renderhook_browser_crashes_total", "renderhook_webhook_endpoint_cap_reached_total"} {
		if _, ok := sample(text, family); !ok {
			t.Errorf("metrics lack %s", family)
		}
	}
	if strings.Contains(text, e.space) || strings.Contains(text, pageID) {
		t.Error("a space or page id is in a label")
	}
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not on PATH (scripts/install-deps.sh installs it); lint skipped")
	}
}

// TestMetricsListenerAndOff: --metrics-addr moves /metrics to a listener
// of its own (the main one no longer has it); off serves it nowhere.
func TestMetricsListenerAndOff(t *testing.T) {
	moved := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1}, MetricsAddr: "127.0.0.1:0"})
	if moved.srv.MetricsAddr() == moved.srv.Addr() {
		t.Fatal("metrics not on their own listener")
	}
	if code, text := scrapeAt(t, "http://"+moved.srv.MetricsAddr(), 10*time.Second); code != 200 || !strings.Contains(text, "renderhook_browser_tabs") {
		t.Fatalf("own listener: %d %.200s", code, text)
	}
	if code, _ := scrapeAt(t, moved.base, 10*time.Second); code != 404 {
		t.Fatalf("main listener still serves /metrics: %d", code)
	}
	off := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1}, MetricsAddr: server.MetricsOff})
	if code, _ := scrapeAt(t, off.base, 10*time.Second); code != 404 || off.srv.Metrics != nil || off.srv.MetricsAddr() != "" {
		t.Fatalf("metrics off still serves /metrics: %d", code)
	}
}

// TestScrapeDuringRenderStorm: with every tab held by a render and more
// renders queued, a scrape answers at once and shows them: the collectors
// read the pool's snapshot, never wait on its tabs.
func TestScrapeDuringRenderStorm(t *testing.T) {
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 2}, Egress: egressAllow("127.0.0.0/8"),
		Webhooks: delivery.Config{Workers: 4}})
	path, release := e.slowPage()
	const storm = 6
	results := make(chan resp, storm)
	for range storm {
		go func() { results <- e.do("GET", path, e.token, nil) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for st := e.srv.Pool.Stats(); st.Busy < 2 || st.Queued < storm-2; st = e.srv.Pool.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the storm never filled the pool: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 3 {
		start := time.Now()
		code, text := scrapeAt(t, e.base, 5*time.Second)
		if took := time.Since(start); code != 200 || took > time.Second {
			t.Fatalf("scrape during the storm: %d after %v", code, took)
		}
		if v, _ := sample(text, `renderhook_browser_tabs{state="busy"}`); v != 2 {
			t.Fatalf("busy tabs %v during the storm", v)
		}
		if v, _ := sample(text, `renderhook_browser_queue_length`); v != storm-2 {
			t.Fatalf("queue length %v during the storm, want %d", v, storm-2)
		}
	}
	release()
	for range storm {
		if r := <-results; r.Status != 200 {
			t.Fatalf("storm render: %d %s", r.Status, r.Body)
		}
	}
}
