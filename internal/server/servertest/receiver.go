package servertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Hook is one POST a Receiver got.
type Hook struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Receiver is a webhook receiver on loopback: a real HTTP server that
// records every request and answers the scripted statuses in turn, then
// 200, each with the body ReceiverAnswer(status).
type Receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []Hook
	script  []int
	arrived chan struct{}
}

// ReceiverAnswer is the body a Receiver answers with status, as a
// delivery attempt records it.
func ReceiverAnswer(status int) string {
	return "status " + strconv.Itoa(status) + " " + http.StatusText(status)
}

// NewReceiver starts a Receiver answering script (then 200), closed when
// the test ends.
func NewReceiver(t testing.TB, script ...int) *Receiver {
	rc := &Receiver{script: script, arrived: make(chan struct{}, 10000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, Hook{Header: r.Header.Clone(), Body: body, At: time.Now()})
		status := http.StatusOK
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, ReceiverAnswer(status))
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Got is what the receiver has got so far, in order.
func (rc *Receiver) Got() []Hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Hook(nil), rc.got...)
}

// Arrived receives once for every request, after it is recorded.
func (rc *Receiver) Arrived() <-chan struct{} { return rc.arrived }

// Wait returns what the receiver got once it has n requests, and fails t
// when they do not come within a minute.
func (rc *Receiver) Wait(t testing.TB, n int) []Hook {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if got := rc.Got(); len(got) >= n {
			return got
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("receiver got %d webhooks, want %d", len(rc.Got()), n)
		}
	}
}
