package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/tracing"
	"github.com/renderhook/renderhook/internal/tracing/tracingtest"
)

type okHandler struct{ seen *context.Context }

func (h okHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	*h.seen = r.Context()
	w.WriteHeader(http.StatusTeapot)
}

func TestOffRecordsNothing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	p, err := tracing.FromEnv(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.On() {
		t.Fatal("tracing is on without an endpoint")
	}
	var seen context.Context
	next := okHandler{&seen}
	if h := p.Middleware(func(*http.Request) string { return "x" }, next); h != http.Handler(next) {
		t.Fatalf("off middleware wraps the handler: %T", h)
	}
	if mw := p.RiverMiddleware(); mw != nil {
		t.Fatalf("off River middleware: %v", mw)
	}
	_, span := p.Tracer().Start(context.Background(), "x")
	if span.IsRecording() {
		t.Fatal("off tracer records")
	}
}

// TestRequestToJob: a request span, a job inserted under it and the job's
// work span are one trace, parent to child, as the receiver gets them.
func TestRequestToJob(t *testing.T) {
	rcv := tracingtest.Start(t)
	p, err := tracing.FromEnv(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if !p.On() {
		t.Fatal("tracing is off with an endpoint")
	}
	mw := p.RiverMiddleware()
	ins := mw[0].(rivertype.JobInsertMiddleware)
	wrk := mw[0].(rivertype.WorkerMiddleware)
	params := []*rivertype.JobInsertParams{{Kind: "render.store", Metadata: []byte(`{"keep":"me"}`)}, {Kind: "render.log"}}
	var seen context.Context
	h := p.Middleware(func(*http.Request) string { return "GET /x/{id}" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Context()
		if _, err := ins.InsertMany(r.Context(), params, func(context.Context) ([]*rivertype.JobInsertResult, error) { return nil, nil }); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x/1", nil))
	traceID := tracing.TraceID(seen)
	if traceID == "" {
		t.Fatal("handler context has no trace")
	}
	var md map[string]any
	if err := json.Unmarshal(params[0].Metadata, &md); err != nil || md["keep"] != "me" || md["otel"] == nil {
		t.Fatalf("metadata %s: %v", params[0].Metadata, err)
	}
	for _, prm := range params {
		job := &rivertype.JobRow{ID: 7, Kind: prm.Kind, Queue: "default", Attempt: 1, Metadata: prm.Metadata}
		if err := wrk.Work(context.Background(), job, func(ctx context.Context) error {
			if got := tracing.TraceID(ctx); got != traceID {
				t.Errorf("job %s trace %q, want %q", prm.Kind, got, traceID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rcv.WaitFor(t, 5*time.Second, func(s []tracingtest.Span) bool { return len(s) >= 3 })
	req, ok := tracingtest.Find(spans, "GET /x/{id}")
	if !ok || req.TraceID != traceID || req.Attrs["http.response.status_code"] != "202" {
		t.Fatalf("request span %+v", req)
	}
	for _, kind := range []string{"render.store", "render.log"} {
		job, ok := tracingtest.Find(spans, "job "+kind)
		if !ok || job.TraceID != traceID || job.ParentID != req.SpanID {
			t.Fatalf("job span %+v, want child of %s", job, req.SpanID)
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLogHandlerAddsTraceID(t *testing.T) {
	tracingtest.Start(t)
	p, err := tracing.FromEnv(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	ctx, span := p.Tracer().Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log: %s", buf.String())
	}
	if want := `"trace_id":"` + span.SpanContext().TraceID().String() + `"`; !strings.Contains(lines[0], want) || !strings.Contains(lines[0], `"component":"x"`) {
		t.Fatalf("line %s lacks %s", lines[0], want)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Fatalf("line without a span has a trace id: %s", lines[1])
	}
}
