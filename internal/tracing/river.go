package tracing

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// metadataKey is where a job's metadata keeps the trace context of the
// code that inserted it.
const metadataKey = "otel"

// RiverMiddleware returns the queue middleware (nil when tracing is off):
// on insert it writes the inserting context's trace into each job's
// metadata; on work it starts a span per job attempt ("job <kind>") as a
// child of that trace, so a request's render, callbacks and webhook
// deliveries are one trace.
func (p *Provider) RiverMiddleware() []rivertype.Middleware {
	if !p.On() {
		return nil
	}
	return []rivertype.Middleware{&riverMiddleware{tracer: p.tracer}}
}

type riverMiddleware struct {
	river.MiddlewareDefaults
	tracer trace.Tracer
}

var (
	_ rivertype.JobInsertMiddleware = (*riverMiddleware)(nil)
	_ rivertype.WorkerMiddleware    = (*riverMiddleware)(nil)
)

func (m *riverMiddleware) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	if len(carrier) > 0 {
		for _, p := range many {
			md := map[string]any{}
			if len(p.Metadata) > 0 {
				if err := json.Unmarshal(p.Metadata, &md); err != nil {
					continue // not ours to rewrite
				}
			}
			md[metadataKey] = map[string]string(carrier)
			if b, err := json.Marshal(md); err == nil {
				p.Metadata = b
			}
		}
	}
	return doInner(ctx)
}

func (m *riverMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var md struct {
		Otel map[string]string `json:"otel"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &md) == nil && md.Otel != nil {
		ctx = propagator.Extract(ctx, propagation.MapCarrier(md.Otel))
	}
	ctx, span := m.tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "river"), attribute.String("messaging.destination.name", job.Queue),
		attribute.String("river.job.kind", job.Kind), attribute.String("river.job.id", strconv.FormatInt(job.ID, 10)),
		attribute.Int("river.job.attempt", job.Attempt)))
	err := doInner(ctx)
	End(span, err)
	return err
}
