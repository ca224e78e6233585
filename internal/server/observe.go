package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/metrics"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
	"github.com/renderhook/renderhook/internal/tracing"
)

// MetricsOff is the MetricsAddr that turns /metrics off.
const MetricsOff = "off"

// observedBrowser is the browser pool as the render service sees it, with
// the metrics and spans of every render taken at this edge: the time to
// the answer by kind, format and outcome, the wait for a tab, and the
// spans of that wait, the template execution (the request's Build, which
// the pool runs once the render holds its tab) and the capture. The pool
// itself is not changed.
type observedBrowser struct {
	pool *browser.Pool
	m    *metrics.Metrics // nil: metrics off
	tr   trace.Tracer
}

func (b observedBrowser) Render(ctx context.Context, req browser.Request) (*browser.Result, error) {
	start := time.Now()
	ctx, span := b.tr.Start(ctx, "browser.render", trace.WithAttributes(
		attribute.String("render.kind", metrics.KindPage), attribute.String("render.format", string(req.Format))))
	var acquired, built time.Time
	var buildErr error
	if build := req.Build; build != nil {
		req.Build = func(ctx context.Context) ([]browser.Page, error) {
			acquired = time.Now()
			ctx, ts := b.tr.Start(ctx, "template.execute")
			pages, err := build(ctx)
			tracing.End(ts, err)
			built, buildErr = time.Now(), err
			return pages, err
		}
	}
	res, err := b.pool.Render(ctx, req)
	if res != nil && acquired.IsZero() {
		acquired = start.Add(res.QueueWait)
	}
	b.finish(ctx, span, metrics.KindPage, string(req.Format), start, acquired, built, outcome(reply.JSON, err, buildErr))
	tracing.End(span, err)
	return res, err
}

func (b observedBrowser) RenderURL(ctx context.Context, req browser.URLRequest) (*browser.URLResult, error) {
	start := time.Now()
	ctx, span := b.tr.Start(ctx, "browser.render_url", trace.WithAttributes(
		attribute.String("render.kind", metrics.KindURL), attribute.String("render.format", string(req.Format))))
	res, err := b.pool.RenderURL(ctx, req)
	var acquired time.Time
	if res != nil {
		acquired = start.Add(res.QueueWait)
	}
	b.finish(ctx, span, metrics.KindURL, string(req.Format), start, acquired, time.Time{}, outcome(reply.V1, err, nil))
	tracing.End(span, err)
	return res, err
}

// finish records a render's metrics and its tab-wait and capture spans
// (made after the fact from the times the render reported).
func (b observedBrowser) finish(ctx context.Context, span trace.Span, kind, format string, start, acquired, built time.Time, out string) {
	end := time.Now()
	if b.m != nil {
		b.m.Render(kind, format, store.RendererChromium, out, end.Sub(start))
		if !acquired.IsZero() {
			b.m.TabWait(kind, acquired.Sub(start))
		}
	}
	if !span.IsRecording() || acquired.IsZero() {
		return
	}
	span.SetAttributes(attribute.String("render.outcome", out))
	_, w := b.tr.Start(ctx, "browser.wait_tab", trace.WithTimestamp(start))
	w.End(trace.WithTimestamp(acquired))
	capStart := acquired
	if !built.IsZero() {
		capStart = built
	}
	_, c := b.tr.Start(ctx, "browser.capture", trace.WithTimestamp(capStart))
	c.End(trace.WithTimestamp(end))
}

// observedTakumi is the takumi renderer as the render service sees it,
// with the same render metrics as the browser's (renderer="takumi") and a
// span per render: the time from taking the render (its slot wait, its
// images' fetching, the helper) to its answer.
type observedTakumi struct {
	r  *takumi.Renderer
	m  *metrics.Metrics // nil: metrics off
	tr trace.Tracer
}

func (o observedTakumi) Render(ctx context.Context, req takumi.Request) ([]byte, error) {
	start := time.Now()
	ctx, span := o.tr.Start(ctx, "takumi.render", trace.WithAttributes(
		attribute.String("render.kind", metrics.KindPage), attribute.String("render.format", req.Format)))
	b, err := o.r.Render(ctx, req)
	out := outcome(reply.JSON, err, nil)
	if o.m != nil {
		o.m.Render(metrics.KindPage, req.Format, store.RendererTakumi, out, time.Since(start))
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.String("render.outcome", out))
	}
	tracing.End(span, err)
	return b, err //nolint:wrapcheck // takumi's own error, unchanged: the render service tests its sentinels
}

// outcome is a render's outcome label: ok, timeout, queue_full,
// canceled, then as the error table answers it in the dialect the render
// is answered in (d: JSON for pages, V1 for URLs): client_error for a 4xx
// (the request or its template: bad input, a template over its budget, a
// page that answered an error, a selector missing or present), and
// server_error for the rest. A template that failed to build (buildErr)
// is the client's.
func outcome(d reply.Dialect, err, buildErr error) string {
	switch {
	case err == nil:
		return "ok"
	case buildErr != nil && errors.Is(err, buildErr):
		return "client_error"
	case errors.Is(err, browser.ErrRenderTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, browser.ErrQueueFull):
		return "queue_full"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case reply.For(d, err).Status < http.StatusInternalServerError:
		return "client_error"
	}
	return "server_error"
}

// tracedStore is the store as the render service and the API see it
// when tracing is on: each transaction (the render's record, its
// follow-up jobs and notifications) is a span, and each request log
// entry records the trace id of the context it is written in.
type tracedStore struct {
	store.Store
	tr trace.Tracer
}

func (s tracedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	ctx, span := s.tr.Start(ctx, "store.transaction")
	err := s.Store.InTx(ctx, func(tx store.Tx) error { return fn(tracedTx{tx}) })
	tracing.End(span, err)
	return err //nolint:wrapcheck // the store's own error, unchanged
}

func (s tracedStore) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	l.TraceID = cmp.Or(l.TraceID, tracing.TraceID(ctx))
	return s.Store.CreateRequestLog(ctx, l) //nolint:wrapcheck // the store's own error, unchanged
}

type tracedTx struct{ store.Tx }

func (t tracedTx) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	l.TraceID = cmp.Or(l.TraceID, tracing.TraceID(ctx))
	return t.Tx.CreateRequestLog(ctx, l) //nolint:wrapcheck // the store's own error, unchanged
}

// observe wraps h in the HTTP metrics and the request span, and serves
// /metrics beside it when the metrics live on the main listener.
func (s *Server) observe(h http.Handler) http.Handler {
	route := func(r *http.Request) string { return "HTTP " + r.Method }
	if s.Metrics != nil {
		route = s.Metrics.Route
	}
	h = s.tracing.Middleware(route, h)
	if s.Metrics == nil {
		return h
	}
	h = s.Metrics.Middleware(h)
	if s.cfg.MetricsAddr != "" {
		return h
	}
	scrape := s.Metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			scrape.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startMetrics serves /metrics on its own listener when MetricsAddr names
// one, and starts counting River's job events on a node that works jobs.
func (s *Server) startMetrics(ctx context.Context) error {
	if s.Metrics == nil {
		return nil
	}
	if s.Queue.Working() {
		s.stopWatch = s.Metrics.WatchJobs(s.Queue.Client(), callback.CreditKinds(), callback.Kinds()...)
	}
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", s.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	s.metricsLn = ln
	s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := s.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the address /metrics is served on: its own listener's,
// else the main one's ("" when metrics are off).
func (s *Server) MetricsAddr() string {
	switch {
	case s.Metrics == nil:
		return ""
	case s.metricsLn != nil:
		return s.metricsLn.Addr().String()
	}
	return s.Addr()
}

func (s *Server) stopMetrics(ctx context.Context) error {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.metricsHTTP == nil {
		return nil
	}
	if err := s.metricsHTTP.Shutdown(ctx); err != nil {
		_ = s.metricsHTTP.Close()
		return fmt.Errorf("stop metrics server: %w", err)
	}
	return nil
}
