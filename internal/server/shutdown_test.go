package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cliSpace creates a space with the real binary's `space create --json`
// and returns its id, token and webhook secret.
func cliSpace(t *testing.T, bin, dataDir, database string) (spaceID, token, secret string) {
	t.Helper()
	out, err := exec.Command(bin, "space", "create", "--name", t.Name(), "--json", "--data-dir", dataDir, "--database", database).Output()
	if err != nil {
		t.Fatalf("space create: %v", err)
	}
	var created struct{ SpaceID, Token, WebhookSecret string }
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("space create --json printed %s", out)
	}
	return created.SpaceID, created.Token, created.WebhookSecret
}

// heldImages serves images that answer only once released, recording
// which paths were asked for: a render whose page shows /N.gif is known to
// be in a browser tab once /N.gif was asked for.
type heldImages struct {
	*httptest.Server
	mu      sync.Mutex
	asked   map[string]bool
	release func()
}

func newHeldImages(t *testing.T) *heldImages {
	h := &heldImages{asked: map[string]bool{}}
	ch := make(chan struct{})
	var once sync.Once
	h.release = func() { once.Do(func() { close(ch) }) }
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.asked[r.URL.Path] = true
		h.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	}))
	t.Cleanup(func() { h.release(); h.Close() })
	return h
}

func (h *heldImages) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.asked)
}

// refused reports whether a new TCP connection to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// TestSIGTERMDrainsInFlightRenders starts the real binary, holds several
// sync renders in the browser (each page waits for an image the test
// releases), sends SIGTERM, and checks that new connections are refused
// at once while every render in flight still gets a complete 200 with a
// valid PNG, and that the process then exits 0 within --shutdown-timeout.
func TestSIGTERMDrainsInFlightRenders(t *testing.T) {
	requireChromium(t)
	bin := buildBinary(t)
	dataDir, b := t.TempDir(), testBackend(t)
	_, token, _ := cliSpace(t, bin, dataDir, b.DB)
	imgs := newHeldImages(t)

	const inFlight = 3
	const shutdownTimeout = 20 * time.Second
	addr := freeAddr(t)
	proc := startProcess(t, bin, dataDir, b, addr, "--max-renders", fmt.Sprint(inFlight),
		"--render-timeout", "30s", "--shutdown-timeout", shutdownTimeout.String())
	e := &env{t: t, base: "http://" + addr, token: token}
	tpl := e.mustDo(201, "POST", "/api/templates", token, map[string]any{
		"name": "held", "html": `<body style="margin:0;background:#0f0"><img src="{{.img}}"></body>`, "width": 200, "height": 100,
		"variables": []map[string]any{{"name": "img", "type": "image"}},
	}).JSON(t)
	pg := e.mustDo(201, "POST", "/api/pages", token, map[string]any{
		"templateId": tpl["id"], "values": map[string]any{"img": imgs.URL + "/0.gif"}, "publish": true,
	}).JSON(t)

	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make(chan result, inFlight)
	for i := range inFlight {
		go func() {
			// A connection of its own per request: what is tested is that
			// each accepted connection is answered, not reused.
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/render/%s?tweak:img=%s/%d.gif", e.base, pg["id"], imgs.URL, i+1), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := c.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			results <- result{res.StatusCode, body, err}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for imgs.count() < inFlight {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d renders reached the browser", imgs.count(), inFlight)
		}
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.cmd.Wait() }()

	// The listener closes at once; the renders are still held.
	deadline = time.Now().Add(5 * time.Second)
	for !refused(addr) {
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted 5 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-results:
		t.Fatalf("a held render was answered before its image was released: %d %v", r.status, r.err)
	case err := <-exited:
		t.Fatalf("process exited with renders in flight: %v\n%s", err, proc.out)
	default:
	}

	imgs.release()
	for range inFlight {
		r := <-results
		if r.err != nil {
			t.Fatalf("render in flight at SIGTERM: %v\n%s", r.err, proc.out)
		}
		if r.status != 200 {
			t.Fatalf("render in flight at SIGTERM: %d %s", r.status, r.body)
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("render in flight at SIGTERM: not a complete PNG (%d bytes): %v", len(r.body), err)
		}
		if sz := img.Bounds().Size(); sz.X != 200 || sz.Y != 100 {
			t.Fatalf("PNG is %v, want 200x100", sz)
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v (want status 0)\n%s", err, proc.out)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("still running %s after SIGTERM (--shutdown-timeout %s)\n%s", time.Since(start), shutdownTimeout, proc.out)
	}
	took := time.Since(start)
	if took > shutdownTimeout {
		t.Fatalf("shutdown took %s, over --shutdown-timeout %s", took, shutdownTimeout)
	}
	if !refused(addr) {
		t.Fatal("connection accepted after exit")
	}
	t.Logf("SIGTERM with %d renders in flight: all answered 200, exit 0 after %s", inFlight, took.Round(time.Millisecond))
}

// TestSIGTERMHardStopsAtTimeout holds a sync render in the browser that
// never finishes and checks the process still ends within
// --shutdown-timeout, closing the request and exiting 1 (a drain that
// did not complete).
func TestSIGTERMHardStopsAtTimeout(t *testing.T) {
	requireChromium(t)
	bin := buildBinary(t)
	dataDir, b := t.TempDir(), testBackend(t)
	_, token, _ := cliSpace(t, bin, dataDir, b.DB)
	imgs := newHeldImages(t) // never released before the process is gone

	const shutdownTimeout = 4 * time.Second
	addr := freeAddr(t)
	proc := startProcess(t, bin, dataDir, b, addr, "--max-renders", "1",
		"--render-timeout", "60s", "--shutdown-timeout", shutdownTimeout.String())
	e := &env{t: t, base: "http://" + addr, token: token}
	tpl := e.mustDo(201, "POST", "/api/templates", token, map[string]any{
		"name": "held", "html": `<img src="{{.img}}">`, "width": 200, "height": 100,
		"variables": []map[string]any{{"name": "img", "type": "image"}},
	}).JSON(t)
	pg := e.mustDo(201, "POST", "/api/pages", token, map[string]any{
		"templateId": tpl["id"], "values": map[string]any{"img": imgs.URL + "/forever.gif"}, "publish": true,
	}).JSON(t)
	answered := make(chan error, 1)
	go func() {
		// POST: Go's client would retry a GET on the closed connection,
		// and report the retry's error.
		req, _ := http.NewRequest("POST", e.base+"/api/render", strings.NewReader(`{"pageId":"`+pg["id"].(string)+`"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				err = fmt.Errorf("answered %d", res.StatusCode)
			}
		}
		answered <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for imgs.count() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the render never reached the browser")
		}
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	err := proc.terminate(t, shutdownTimeout+5*time.Second)
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1 (requests cut at the deadline)\n%s", err, proc.out)
	}
	if took > shutdownTimeout+time.Second {
		t.Fatalf("shutdown took %s, --shutdown-timeout is %s", took, shutdownTimeout)
	}
	select {
	case err := <-answered:
		t.Logf("held request ended with: %v; process exited 1 after %s", err, took.Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the held request is still open after the process exited")
	}
}
