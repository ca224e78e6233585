package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/renderhook/renderhook/internal/httpx"
)

// Middleware starts a server span per request, named by its route
// pattern (route(r)), continuing a trace the client sent in traceparent.
// With tracing off it returns next unchanged.
func (p *Provider) Middleware(route func(*http.Request) string, next http.Handler) http.Handler {
	if !p.On() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		rt := route(r)
		ctx, span := p.tracer.Start(ctx, rt, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("http.route", rt), attribute.String("url.path", r.URL.Path)))
		rec := httpx.NewStatusRecorder(w)
		defer func() {
			span.SetAttributes(attribute.Int("http.response.status_code", rec.Status))
			if rec.Status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.Status))
			}
			span.End()
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}
