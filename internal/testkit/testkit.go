// Package testkit holds the small helpers that tests of several packages
// share: waiting on a condition, a solid-colour PNG, a test server on a
// chosen address, a log destination tests read while a server writes, a
// JSON round trip, a list collected while a test runs and a fuzz target
// over URL query strings. It imports nothing of renderhook, so any
// package's tests may use it; production code never does.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Eventually polls cond every few milliseconds until it holds, and fails
// t, naming what, when it does not within d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		<-tick.C
	}
}

// SolidPNG is a w×h PNG of colour c.
func SolidPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return EncodePNG(t, img)
}

// EncodePNG is img as a PNG.
func EncodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// StartOn starts the unstarted test server s listening on addr (a host
// and port, such as "127.0.0.2:0", where httptest would pick 127.0.0.1)
// and closes it when the test ends. It returns the listen error, for the
// caller to fail or skip on, without starting s.
func StartOn(t testing.TB, s *httptest.Server, addr string) error {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return nil
}

// SyncBuffer is a log destination tests read while a server writes.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RoundTrip encodes v as JSON and decodes it into a new T.
func RoundTrip[T any](t testing.TB, v any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
