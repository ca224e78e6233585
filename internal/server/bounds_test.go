package server_test

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/server"
)

// vmRSS is this process's resident set size in bytes (the server under
// test runs in it).
func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// watchRSS samples the process's RSS until the test ends and returns the
// peak growth seen. A runaway template cannot be stopped from the test
// (it runs in a server goroutine), so past abort bytes of growth the
// whole test binary stops before it takes the machine with it.
func watchRSS(t *testing.T, abort int64) (peak func() int64) {
	base := vmRSS(t)
	var max atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			b, err := os.ReadFile("/proc/self/status")
			if err != nil {
				continue
			}
			for line := range strings.SplitSeq(string(b), "\n") {
				if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
					g := kb<<10 - base
					if g > max.Load() {
						max.Store(g)
					}
					if g > abort {
						panic("template execution grew the server's RSS by " + strconv.FormatInt(g>>20, 10) + " MiB: unbounded")
					}
				}
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return max.Load
}

// TestTemplateBombs: templates and tweaks that would make the server
// execute without end are refused with a 4xx within seconds, tokenless
// on a public page as with a token, sync and async; nothing is recorded
// as succeeded or billed, the log entries say 4xx, memory stays small and
// the server keeps answering.
func TestTemplateBombs(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	peak := watchRSS(t, 1<<30)

	templateOf := map[string]string{} // page id → template id
	public := func(name, html string, vars ...map[string]any) string {
		t.Helper()
		if vars == nil {
			vars = []map[string]any{}
		}
		tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{
			"name": name, "html": html, "width": 200, "height": 100, "variables": vars, "requireGetRenderToken": false,
		}).JSON(t)
		pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{
			"templateId": tpl["id"], "name": name, "values": map[string]any{}, "publish": true,
		}).JSON(t)
		templateOf[pg["id"].(string)] = tpl["id"].(string)
		return pg["id"].(string)
	}
	stars := public("stars", `<p>{{range .stars}}★{{end}}</p>`, map[string]any{"name": "stars", "type": "number", "default": 3})
	loose := public("loose", `<p>{{range .n}}AAAA{{end}}</p>`) // no declared variables: no bounds but the runtime's
	nested := public("nested", `<p>{{range .a}}{{range $.b}}{{end}}{{end}}</p>`,
		map[string]any{"name": "a", "type": "number", "default": 1}, map[string]any{"name": "b", "type": "number", "default": 1})
	bounded := public("bounded", `<p>{{range .stars}}★{{end}}</p>`,
		map[string]any{"name": "stars", "type": "number", "default": 3, "min": 0, "max": 5})
	// A template stored before creation refused literal bombs.
	legacy := public("legacy", `<p>ok</p>`)
	old, err := e.srv.Store.GetTemplate(context.Background(), e.space, templateOf[legacy])
	if err != nil {
		t.Fatal(err)
	}
	old.HTML = `{{range 1000000000000}}AAAA{{end}}`
	if err := e.srv.Store.UpdateTemplate(context.Background(), old); err != nil {
		t.Fatal(err)
	}

	type bomb struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}
	bombs := []bomb{
		{"tokenless stars past the default bound", "GET", "/api/render/" + stars + "?tweak:stars=100000000000", "", nil, 400, "InvalidTweak"},
		{"tokenless huge typed tweak, no bounds declared", "GET", "/api/render/" + loose + "?tweaks=" + url.QueryEscape(`{"n":1000000000000}`), "", nil, 422, "TemplateTooLarge"},
		{"stars within the default bound, past the step budget", "GET", "/api/render/" + stars + "?tweak:stars=1000000", "", nil, 422, "TemplateTooLarge"},
		{"nested ranges writing nothing", "POST", "/api/render", e.token, map[string]any{"pageId": nested, "tweaks": map[string]any{"a": 1000000, "b": 1000000}}, 422, "TemplateTooLarge"},
		{"async", "POST", "/api/render", e.token, map[string]any{"pageId": loose, "async": true, "tweaks": map[string]any{"n": int64(1e12)}}, 422, "TemplateTooLarge"},
		{"literal range saved before the check", "GET", "/api/render/" + legacy, "", nil, 422, "TemplateTooLarge"},
		{"declared max", "GET", "/api/render/" + bounded + "?tweak:stars=6", "", nil, 400, "InvalidTweak"},
		{"declared min", "GET", "/api/render/" + bounded + "?tweak:stars=-1", "", nil, 400, "InvalidTweak"},
	}
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			e := e.with(t)
			start := time.Now()
			r := e.do(b.method, b.path, b.token, b.body)
			took := time.Since(start)
			if r.Status != b.status || r.errCode(t) != b.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, b.status, b.code)
			}
			if took > 5*time.Second {
				t.Fatalf("answered after %s", took)
			}
			t.Logf("%d %s in %s", r.Status, b.code, took.Round(time.Millisecond))
			l := e.waitLog(r.Header.Get("X-Request-Id"), func(map[string]any) bool { return true })
			if st, _ := l["status"].(float64); int(st) != b.status || l["renderId"] != nil && l["renderId"] != "" {
				t.Fatalf("log entry %v", l)
			}
		})
	}

	t.Run("static bomb refused at creation", func(t *testing.T) {
		e := e.with(t)
		r := e.mustDo(422, "POST", "/api/templates", e.token, map[string]any{"name": "x", "html": "{{range 1000000000000}}" + strings.Repeat("A", 100) + "{{end}}"})
		if r.errCode(t) != "validation_failed" {
			t.Fatalf("%s", r.Body)
		}
		for _, vars := range []map[string]any{
			{"name": "n", "type": "number", "min": 5, "max": 1},
			{"name": "n", "type": "number", "max": 5, "default": 6},
			{"name": "n", "type": "string", "max": 5},
		} {
			e.mustDo(422, "POST", "/api/templates", e.token, map[string]any{"name": "x", "html": "hi", "variables": []any{vars}})
		}
	})

	// Within its bounds the page renders, and only that render is billed.
	r := e.mustDo(200, "GET", "/api/render/"+bounded+"?tweak:stars=5", "", nil)
	if r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("%s", r.Header.Get("Content-Type"))
	}
	e.waitCredits(1)
	if used, _, ok, failed := e.usage(); used != 1 || ok != 1 || failed != 0 {
		t.Fatalf("usage: %d credits, %d succeeded, %d failed; want 1, 1, 0", used, ok, failed)
	}
	e.mustDo(200, "GET", "/healthz", "", nil)
	if g := peak(); g > 512<<20 {
		t.Fatalf("RSS grew by %d MiB", g>>20)
	} else {
		t.Logf("peak RSS growth %d MiB", g>>20)
	}
}

// The HTML cap is the server's Template.MaxBytes (--max-template-bytes).
func TestTemplateBytesConfigurable(t *testing.T) {
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1}, Template: render.Limits{MaxBytes: 2000}})
	tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{
		"name": "a", "html": `<p>{{range .n}}AAAA{{end}}</p>`, "width": 100, "height": 100,
		"variables": []map[string]any{{"name": "n", "type": "number", "default": 1}},
	}).JSON(t)
	pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": tpl["id"], "name": "a", "values": map[string]any{}, "publish": true}).JSON(t)
	path := "/api/render/" + pg["id"].(string)
	e.mustDo(200, "GET", path+"?tweak:n=400", e.token, nil) // 1,607 bytes
	r := e.mustDo(422, "GET", path+"?tweak:n=600", e.token, nil)
	if code := r.errCode(t); code != "TemplateTooLarge" || !strings.Contains(string(r.Body), "2000 bytes") {
		t.Fatalf("%s", r.Body)
	}
}
