// Package tracing is renderhook's optional OpenTelemetry tracing: off
// (a no-op tracer, nothing recorded or exported) unless
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
// set, then spans go to that OTLP/HTTP (protobuf) endpoint in batches.
// It gives the HTTP middleware, the River middleware that carries a
// request's trace into the jobs it inserts (job metadata), and the slog
// handler that puts the trace id in log lines.
package tracing

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of renderhook's spans.
const Name = "github.com/renderhook/renderhook"

// Provider is the process's tracer: a real one exporting over OTLP, or a
// no-op one when tracing is off.
type Provider struct {
	tp     *sdktrace.TracerProvider // nil when off
	tracer trace.Tracer
}

// propagator carries trace context in W3C traceparent/tracestate form,
// in HTTP headers and in River job metadata.
var propagator = propagation.TraceContext{}

// Enabled reports whether the environment asks for tracing.
func Enabled() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Off is a provider that records nothing.
func Off() *Provider { return &Provider{tracer: noop.NewTracerProvider().Tracer(Name)} }

// FromEnv returns Off unless Enabled, else a provider exporting to the
// OTLP endpoint the standard OTEL_* variables name (service name
// "renderhook" unless OTEL_SERVICE_NAME says otherwise; version as
// service.version).
func FromEnv(ctx context.Context, version string) (*Provider, error) {
	if !Enabled() {
		return Off(), nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "renderhook"), attribute.String("service.version", version)),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{tp: tp, tracer: tp.Tracer(Name)}, nil
}

// On reports whether spans are recorded.
func (p *Provider) On() bool { return p.tp != nil }

// Tracer is the tracer renderhook's spans start from.
func (p *Provider) Tracer() trace.Tracer { return p.tracer }

// Flush exports the spans ended so far.
func (p *Provider) Flush(ctx context.Context) error {
	if p.tp == nil {
		return nil
	}
	return wrap("flush", p.tp.ForceFlush(ctx))
}

// Shutdown exports what is left and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.tp == nil {
		return nil
	}
	return wrap("shutdown", p.tp.Shutdown(ctx))
}

// wrap names the step of a failed call to the tracer provider.
func wrap(step string, err error) error {
	if err != nil {
		return fmt.Errorf("tracing: %s: %w", step, err)
	}
	return nil
}

// End ends span, marking it failed with err when err is not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceID is the trace id of ctx's span in hex, or "" when none is
// recorded.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
