// Package metrics exports renderhook's Prometheus metrics: render and
// HTTP histograms fed by observers at the edges (the server's middleware,
// the browser wrapper, delivery's outcome hook, River's event stream), and
// collectors that read snapshots at scrape time (the browser pool's Stats,
// the Chromium tree's RSS from /proc, River's job counts cached with a
// short timeout), so a scrape never waits on a lock a render holds.
//
// The family names are the ones in docs/operations.md and the Grafana
// dashboard in deploy/; labels are low-cardinality (no space ids).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/renderhook/renderhook/internal/store"
)

// Render kinds (the kind label).
const (
	KindPage = "page"
	KindURL  = "url"
)

// Config says where the collectors read from; every field is optional.
type Config struct {
	// Browser is the pool whose Stats and Chromium tree are exported.
	Browser BrowserSource
	// Jobs counts River's jobs (see JobCounts); nil exports none.
	Jobs JobCounter
	// JobsTTL is how old a River count may be before a scrape refreshes
	// it; default 5s.
	JobsTTL time.Duration
}

// Metrics is the registry and the instruments the observers feed.
type Metrics struct {
	reg    *prometheus.Registry
	routes *http.ServeMux

	renderDur  *prometheus.HistogramVec
	renders    *prometheus.CounterVec
	cacheHits  *prometheus.CounterVec
	tabWait    *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	attemptDur *prometheus.HistogramVec
	capReached prometheus.Counter
	credits    prometheus.Counter
	cbRetried  *prometheus.CounterVec
	httpReqs   *prometheus.CounterVec
	httpDur    *prometheus.HistogramVec
}

// renderBuckets span a cached 20 ms screenshot to a 60 s timeout.
var renderBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New registers every family, the Go and process collectors, and the
// collectors cfg names.
func New(cfg Config) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), routes: http.NewServeMux()}
	f := factory{m.reg}
	m.renderDur = f.histogram("renderhook_render_duration_seconds", "Time from taking a render to its answer from its renderer (Chromium: tab wait, template, capture; takumi: slot wait, images, the helper), by kind, format, renderer and outcome.", renderBuckets, "kind", "format", "renderer", "outcome")
	m.renders = f.counter("renderhook_renders_total", "Renders by kind, format, renderer (chromium, takumi) and outcome.", "kind", "format", "renderer", "outcome")
	m.cacheHits = f.counter("renderhook_render_cache_hits_total", "Requests answered from an earlier render's file.", "kind")
	m.tabWait = f.histogram("renderhook_browser_tab_wait_seconds", "Time a render waited for a tab (its render slot).", renderBuckets, "kind")
	m.deliveries = f.counter("renderhook_webhook_deliveries_total", "Webhook delivery attempts (and deliveries parked by the breaker) by outcome and status class.", "outcome", "status_class")
	m.attemptDur = f.histogram("renderhook_webhook_attempt_duration_seconds", "Duration of one webhook POST, by outcome.", renderBuckets, "outcome")
	m.capReached = f.counter("renderhook_webhook_endpoint_cap_reached_total", "Deliveries snoozed because their endpoint's in-flight cap was full.").WithLabelValues()
	m.credits = f.counter("renderhook_credits_billed_total", "Credits billed (completed credit callbacks).").WithLabelValues()
	m.cbRetried = f.counter("renderhook_callbacks_retried_total", "Post-render callback attempts that failed and will be retried, by job kind.", "kind")
	m.httpReqs = f.counter("renderhook_http_requests_total", "HTTP requests by route pattern and status code.", "route", "code")
	m.httpDur = f.histogram("renderhook_http_request_duration_seconds", "HTTP request duration by route pattern.", renderBuckets, "route")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Browser != nil {
		m.reg.MustRegister(newBrowserCollector(cfg.Browser))
	}
	if cfg.Jobs != nil {
		m.reg.MustRegister(newJobsCollector(cfg.Jobs, cfg.JobsTTL))
	}
	return m
}

// AddRoutes adds the server's mux patterns ("GET /api/render/{pageId}"),
// the only values the route label takes (others are "other").
func (m *Metrics) AddRoutes(patterns ...string) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range patterns {
		m.routes.Handle(p, noop)
	}
}

// AddParked exports parked, how many webhook destinations the breaker
// holds on this node now; call it once.
func (m *Metrics) AddParked(parked func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "renderhook_webhook_endpoints_parked", Help: "Webhook destinations whose breaker is open on this node.",
	}, func() float64 { return float64(parked()) }))
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// Handler serves the registry in Prometheus' text (or negotiated) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// Registry is the registry behind Handler, for tests and the bench.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Render counts one finished render: kind is KindPage or KindURL, format
// the browser format, renderer the one that made it (store.RendererChromium
// or store.RendererTakumi), outcome one of Outcome's words.
func (m *Metrics) Render(kind, format, renderer, outcome string, took time.Duration) {
	m.renderDur.WithLabelValues(kind, format, renderer, outcome).Observe(took.Seconds())
	m.renders.WithLabelValues(kind, format, renderer, outcome).Inc()
}

// TabWait records how long a render of kind waited for its tab.
func (m *Metrics) TabWait(kind string, d time.Duration) {
	m.tabWait.WithLabelValues(kind).Observe(d.Seconds())
}

// CacheHit counts a request of kind answered from the render cache.
func (m *Metrics) CacheHit(kind string) { m.cacheHits.WithLabelValues(kind).Inc() }

// Delivery outcomes (the outcome label of the webhook families).
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"   // no retry left (or 410)
	DeliveryRetrying  = "retrying" // failed, another attempt is scheduled
	DeliveryParked    = "parked"   // held by the breaker, no attempt made
)

// DeliveryAttempt counts one recorded webhook attempt, given the status
// the delivery was left in (store.DeliverySucceeded, …).
func (m *Metrics) DeliveryAttempt(status string, a store.DeliveryAttempt) {
	outcome := DeliveryRetrying
	switch status {
	case store.DeliverySucceeded:
		outcome = DeliveryDelivered
	case store.DeliveryExhausted:
		outcome = DeliveryFailed
	}
	m.deliveries.WithLabelValues(outcome, statusClass(a.StatusCode)).Inc()
	m.attemptDur.WithLabelValues(outcome).Observe(float64(a.DurationMs) / 1000)
}

// DeliveryHeld counts a delivery snoozed without an attempt: state is
// "parked" (the breaker) or "capped" (the in-flight cap).
func (m *Metrics) DeliveryHeld(state string) {
	switch state {
	case "parked":
		m.deliveries.WithLabelValues(DeliveryParked, "none").Inc()
	case "capped":
		m.capReached.Inc()
	}
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "none"
	}
	return strconv.Itoa(code/100) + "xx"
}
