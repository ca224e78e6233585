package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestV1GlobalTimeout: a page that never answers is ended by global_timeout
// (seconds) with the error table's RenderFailed and its timeout message,
// long before the server's render timeout, and costs nothing.
func TestV1GlobalTimeout(t *testing.T) {
	e, _ := v1Server(t)
	hang := make(chan struct{})
	srv := serveAllowed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang) })

	start := time.Now()
	s := e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": srv.URL + "/", "global_timeout": 2})
	took := time.Since(start)
	if s.Status != 422 || s.errCode(t) != "RenderFailed" || !strings.Contains(string(s.Body), "did not finish in time") {
		t.Fatalf("hanging page: %d %s", s.Status, s.Body)
	}
	if took > 10*time.Second {
		t.Errorf("global_timeout 2 s answered after %s (render timeout 15 s)", took)
	}
	if used, _, succeeded, _ := e.usage(); used != 0 || succeeded != 0 {
		t.Errorf("the timed-out render billed: used %d, succeeded %d", used, succeeded)
	}
}
