package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/testkit"
)

// TestV1GlobalTimeout: a page that never answers is ended by global_timeout
// (seconds) with the error table's RenderFailed and its timeout message,
// long before the server's render timeout, and costs nothing.
func TestV1GlobalTimeout(t *testing.T) {
	e, _ := v1Server(t)
	hang := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	if err := testkit.StartOn(t, srv, v1Allowed+":0"); err != nil {
		t.Skipf("cannot listen on %s: %v", v1Allowed, err)
	}
	t.Cleanup(func() { close(hang) })

	start := time.Now()
	s := e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": srv.URL + "/", "global_timeout": 2})
	took := time.Since(start)
	if s.status != 422 || s.errCode(t) != "RenderFailed" || !strings.Contains(string(s.body), "did not finish in time") {
		t.Fatalf("hanging page: %d %s", s.status, s.body)
	}
	if took > 10*time.Second {
		t.Errorf("global_timeout 2 s answered after %s (render timeout 15 s)", took)
	}
	if used, _, succeeded, _ := e.usage(); used != 0 || succeeded != 0 {
		t.Errorf("the timed-out render billed: used %d, succeeded %d", used, succeeded)
	}
}
