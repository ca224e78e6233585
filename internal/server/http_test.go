package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
)

// pacedReader yields data chunk bytes at a time, one chunk per every.
type pacedReader struct {
	data  []byte
	chunk int
	every time.Duration
	next  time.Time
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	if wait := time.Until(p.next); wait > 0 {
		time.Sleep(wait) // the client's pace is what is under test
	}
	p.next = time.Now().Add(p.every)
	n := copy(b[:min(len(b), p.chunk)], p.data)
	p.data = p.data[n:]
	return n, nil
}

// renderBody is a POST /api/render body for pageID padded with JSON
// whitespace to size bytes.
func renderBody(t *testing.T, pageID string, size int) []byte {
	b, err := json.Marshal(map[string]any{"pageId": pageID, "binary": true})
	if err != nil {
		t.Fatal(err)
	}
	if pad := size - len(b); pad > 0 {
		b = append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), pad), '}')...)
	}
	return b
}

// TestHTTPBodyDribbleCut: a render POST whose body arrives a byte every
// half second is cut (connection closed, or 400/408) within seconds, on the
// default settings, while a normal POST renders.
func TestHTTPBodyDribbleCut(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	_, pageID := e.cardPage(e.token, nil)
	body := renderBody(t, pageID, 200)

	e.mustDo(200, "POST", "/api/render", e.token, body)

	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/render HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", e.token, len(body))
	go func() {
		for _, c := range body {
			if _, err := conn.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(500 * time.Millisecond) // the dribble under test
		}
	}()
	// Without the minimum body rate the body would take 100 s and the
	// render would follow; the cut must come long before.
	const within = 20 * time.Second
	_ = conn.SetReadDeadline(start.Add(within))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	if err == nil {
		defer res.Body.Close()
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("a body dribbled at 2 bytes/s is still open after %s", took)
	case err != nil:
		t.Logf("connection closed after %s: %v", took.Round(time.Millisecond), err)
	case res.StatusCode == 400 || res.StatusCode == 408:
		b, _ := io.ReadAll(res.Body)
		t.Logf("answered %d after %s: %s", res.StatusCode, took.Round(time.Millisecond), b)
	default:
		t.Fatalf("a dribbled body answered %d after %s", res.StatusCode, took)
	}
}

// TestHTTPSlowHonestBody: a body that is slow but keeps the minimum rate
// goes through although it takes longer than the grace, on a server with
// a short grace and a higher rate, and the same server cuts a dribble.
func TestHTTPSlowHonestBody(t *testing.T) {
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1}, HTTP: server.HTTPConfig{MinBodyRate: 8 << 10, BodyGrace: time.Second}})
	_, pageID := e.cardPage(e.token, nil)
	// 48 KiB at 16 KiB/s: 3 s, three times the grace, twice the rate.
	body := renderBody(t, pageID, 48<<10)
	req, err := http.NewRequest("POST", e.base+"/api/render", &pacedReader{data: body, chunk: 1 << 10, every: time.Second / 16})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("slow honest body: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("slow honest body: %d %.200s", res.StatusCode, b)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the body took only %s; the test wants it slower than the grace", took)
	}

	// 1 KiB/s is under this server's 8 KiB/s.
	req, _ = http.NewRequest("POST", e.base+"/api/render", &pacedReader{data: body, chunk: 256, every: time.Second / 4})
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	start = time.Now()
	res, err = http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != 400 && res.StatusCode != 408 {
			t.Fatalf("a body under the minimum rate answered %d", res.StatusCode)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("a body under the minimum rate was cut only after %s", took)
	}
}
