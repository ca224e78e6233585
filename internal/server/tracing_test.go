package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/testkit"

	"github.com/renderhook/renderhook/internal/tracing/tracingtest"
)

// spanTree indexes received spans by id.
type spanTree map[string]tracingtest.Span

func treeOf(spans []tracingtest.Span) spanTree {
	m := spanTree{}
	for _, s := range spans {
		m[s.SpanID] = s
	}
	return m
}

// childOf finds the span named name whose parent is parent.
func (m spanTree) childOf(parent tracingtest.Span, name string) (tracingtest.Span, bool) {
	for _, s := range m {
		if s.Name == name && s.ParentID == parent.SpanID && s.TraceID == parent.TraceID {
			return s, true
		}
	}
	return tracingtest.Span{}, false
}

// TestTracingSpans: with OTEL_EXPORTER_OTLP_ENDPOINT set to an in-process
// receiver, a sync render is one trace (request → browser render →
// tab wait, template, capture; request → recording transaction; request
// → each callback job), and an async render with a webhook carries the
// trace on through its job into the delivery attempt's job.
func TestTracingSpans(t *testing.T) {
	rcv := tracingtest.Start(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	logs := &testkit.SyncBuffer{}
	e := startServerCfg(t, server.Config{
		Browser:  browser.Config{MaxTabs: 2, RenderTimeout: 3 * time.Second},
		Webhooks: delivery.Config{Schedule: []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond}},
		Egress:   egressAllow("127.0.0.0/8"),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	_, pageID := e.cardPage(e.token, nil)
	rc := newReceiver(t)

	requestID := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil).Header.Get("X-Request-Id")
	find := func(spans []tracingtest.Span) (spanTree, tracingtest.Span, bool) {
		tree := treeOf(spans)
		for _, s := range spans {
			if s.Name == "GET /api/render/{pageId}" && s.ParentID == "" {
				return tree, s, true
			}
		}
		return tree, tracingtest.Span{}, false
	}
	want := map[string][]string{"browser.render": {"browser.wait_tab", "template.execute", "browser.capture"}}
	jobs := []string{"store.transaction", "job render.followup"}
	spans := rcv.WaitFor(t, 60*time.Second, func(spans []tracingtest.Span) bool {
		tree, req, ok := find(spans)
		if !ok {
			return false
		}
		for parent, children := range want {
			p, ok := tree.childOf(req, parent)
			if !ok {
				return false
			}
			for _, c := range children {
				if _, ok := tree.childOf(p, c); !ok {
					return false
				}
			}
		}
		for _, c := range jobs {
			if _, ok := tree.childOf(req, c); !ok {
				return false
			}
		}
		return true
	})

	_, req, _ := find(spans)
	// The request's log entry (the console's log detail) and its log line
	// carry the trace id.
	entry, err := e.srv.Store.GetRequestLog(context.Background(), e.space, requestID)
	if err != nil || entry.TraceID != req.TraceID {
		t.Fatalf("log entry trace id %q, want %q (%v)", entry.TraceID, req.TraceID, err)
	}
	if !hasLine(logs, func(m map[string]any) bool {
		return m["msg"] == "request" && m["request_id"] == requestID && m["trace_id"] == req.TraceID
	}) {
		t.Fatalf("no request log line with trace_id %s:\n%s", req.TraceID, logs.String())
	}

	e.mustDo(202, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "async": true, "webhook_url": rc.URL + "/hook"})
	rc.Wait(t, 1)
	rcv.WaitFor(t, 60*time.Second, func(spans []tracingtest.Span) bool {
		tree := treeOf(spans)
		for _, req := range spans {
			if req.Name != "POST /api/render" || req.ParentID != "" {
				continue
			}
			job, ok := tree.childOf(req, "job render.async")
			if !ok {
				return false
			}
			_, rendered := tree.childOf(job, "browser.render")
			_, delivered := tree.childOf(job, "job webhook.deliver")
			return rendered && delivered
		}
		return false
	})
}

// hasLine reports whether a JSON log line satisfies ok.
func hasLine(b *testkit.SyncBuffer, ok func(map[string]any) bool) bool {
	for _, l := range bytes.Split([]byte(b.String()), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil && ok(m) {
			return true
		}
	}
	return false
}
