package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/httpx"
)

// Middleware counts and times each request by its route pattern (one of
// Config.Routes, matched as the server's own mux matches it, else
// "other") and status code, and counts render-cache hits from the
// X-Renderhook-Cache answer header.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := httpx.NewStatusRecorder(w)
		next.ServeHTTP(rec, r)
		route := m.Route(r)
		m.httpReqs.WithLabelValues(route, strconv.Itoa(rec.Status)).Inc()
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
