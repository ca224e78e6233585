package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Middleware counts and times each request by its route pattern (one of
// Config.Routes, matched as the server's own mux matches it, else
// "other") and status code, and counts render-cache hits from the
// X-Renderhook-Cache answer header.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &codeRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := m.Route(r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		m.httpReqs.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.httpDur.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if rec.Header().Get("X-Renderhook-Cache") == "hit" {
			m.CacheHit(KindURL)
		}
	})
}

// Route is the route pattern r matches among Config.Routes, or "other".
func (m *Metrics) Route(r *http.Request) string {
	if _, p := m.routes.Handler(r); p != "" {
		return p
	}
	return "other"
}

// codeRecorder notes the status code; Unwrap lets http.ResponseController
// (the server's write deadlines, flushes) reach the connection.
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (w *codeRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeRecorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *codeRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
