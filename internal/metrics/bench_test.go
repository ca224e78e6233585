package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/metrics"
)

// BenchmarkRenderPath is what the metrics add to one page render's path:
// the HTTP middleware (route match, counter, histogram) and the render
// and tab-wait observations.
func BenchmarkRenderPath(b *testing.B) {
	m := metrics.New(metrics.Config{})
	m.AddRoutes("GET /api/render/{pageId}", "POST /api/render")
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Render(metrics.KindPage, "png", "chromium", "ok", 20*time.Millisecond)
		m.TabWait(metrics.KindPage, time.Millisecond)
	}))
	req := httptest.NewRequest(http.MethodGet, "/api/render/pg_1", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
