package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// CardHTML fills the whole 1200x630 viewport with the background colour, so
// tests can read a pixel and know which values were rendered.
const CardHTML = `<!doctype html><html><head><style>
html,body{margin:0;width:1200px;height:630px;background:{{.background}};font:40px sans-serif;color:#fff}
</style></head><body><h1 id="t">{{.title}}</h1></body></html>`

// CardTemplate is the body of a POST /api/templates making the card
// template (CardHTML, with a title and a background colour variable)
// named name, with extra's fields added.
func CardTemplate(name string, extra map[string]any) map[string]any {
	tpl := map[string]any{
		"name": name, "html": CardHTML, "width": 1200, "height": 630,
		"variables": []map[string]any{
			{"name": "title", "type": "string", "default": "Hello"},
			{"name": "background", "type": "color", "default": "#0000ff"},
		},
	}
	maps.Copy(tpl, extra)
	return tpl
}

// Do sends method target (a full URL) with a bearer token (if any) and a
// body: nil, []byte or a string as it is, anything else as JSON; a body
// goes as application/json. It returns the whole answer, and fails t when
// there is none.
func Do(t testing.TB, method, target, token string, body any) Answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return Send(t, nil, req)
}

// Answer is an HTTP answer as a test read it, from a real server or a
// recorder: its status, header and whole body.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the answer's body as a JSON object, and fails t when it is
// not one.
func (a Answer) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", a.Status, a.Body)
	}
	return m
}

// Send sends req with client (http.DefaultClient when nil) and reads the
// whole answer, failing t when there is no answer or it cannot be read.
func Send(t testing.TB, client *http.Client, req *http.Request) Answer {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req) //nolint:gosec // G704: a test's own request to the server it runs
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return Answer{Status: res.StatusCode, Header: res.Header, Body: body}
}

// SameFile reports whether two file URLs of a server with storage (its
// s3:// URL, "" for local files) name the same file. Signed /files/ URLs
// are stable; presigned S3 URLs are signed afresh each time they are made,
// so only their host and path must match.
func SameFile(storage, a, b string) bool {
	if storage == "" {
		return a == b
	}
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host && ua.Path == ub.Path && ua.Query().Get("X-Amz-Signature") != ""
}

// csrfField is the console's form token as its pages carry it.
var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// FormToken is the console's form token in a page's body, "" when it
// carries none.
func FormToken(body []byte) string {
	if m := csrfField.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// CSRF is the console's form token on page, the answer of a console page
// with a form (read as a browser would); it fails t when page is not a
// 200 or carries none.
func CSRF(t testing.TB, page Answer) string {
	t.Helper()
	tok := FormToken(page.Body)
	if page.Status != http.StatusOK || tok == "" {
		t.Fatalf("no CSRF token on the console page (%d)", page.Status)
	}
	return tok
}

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
