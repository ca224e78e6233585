package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
)

// usage reads GET /api/usage.
func (e *env) usage() (used, limit, succeeded, failed int) {
	e.t.Helper()
	m := e.mustDo(200, "GET", "/api/usage", e.token, nil).JSON(e.t)
	r := m["renders"].(map[string]any)
	return int(m["creditsUsed"].(float64)), int(m["creditLimit"].(float64)), int(r["succeeded"].(float64)), int(r["failed"].(float64))
}

// waitCredits polls until the space has used want credits.
func (e *env) waitCredits(want int) {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		used, _, _, _ := e.usage()
		if used == want {
			return
		}
		if used > want || time.Now().After(deadline) {
			e.t.Fatalf("credits used %d, want %d", used, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCallbacksBillAndLog(t *testing.T) {
	// Loopback allowed: the failing render's image is a slow server here.
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 2, RenderTimeout: 3 * time.Second}, Egress: egressAllow("127.0.0.0/8")})
	_, pageID := e.cardPage(e.token, nil)

	const n = 5
	var reqIDs []string
	for i := 0; i < n; i++ {
		r := e.mustDo(200, "GET", fmt.Sprintf("/api/render/%s?tweak:title=n%d&_api_key=shh", pageID, i), e.token, nil)
		reqIDs = append(reqIDs, r.Header.Get("X-Request-Id"))
	}
	// Failed requests: unknown page, bad input, and a render that fails in
	// the browser (an image that never loads).
	e.mustDo(404, "GET", "/api/render/pg_nope", e.token, nil)
	e.mustDo(400, "GET", "/api/render/"+pageID+"?format=gif", e.token, nil)
	imgURL, _ := slowImage(t)
	tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "slow", "html": `<img src="` + imgURL + `/x.gif">`, "width": 50, "height": 50}).JSON(t)
	slow := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": tpl["id"], "publish": true}).JSON(t)
	failed := e.mustDo(422, "GET", "/api/render/"+slow["id"].(string), e.token, nil)

	e.waitCredits(n)
	for _, id := range reqIDs {
		l := e.waitLog(id, func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
		if l["status"] != 200.0 || l["renderId"] == "" || l["size"].(float64) <= 0 || l["file"] == nil {
			t.Fatalf("log entry %v", l)
		}
		if strings.Contains(l["query"].(string), "shh") || !strings.Contains(l["query"].(string), "_api_key=%5Bredacted%5D") {
			t.Fatalf("secret not redacted in query %q", l["query"])
		}
		if e.token[:12] == l["tokenPrefix"] || !strings.HasPrefix(e.token, l["tokenPrefix"].(string)) {
			t.Fatalf("token prefix %q", l["tokenPrefix"])
		}
		cbs := l["callbacks"].(map[string]any)
		for _, name := range []string{"store", "log", "credits"} {
			if cbs[name].(map[string]any)["state"] != "succeeded" {
				t.Fatalf("callback %s: %v", name, cbs[name])
			}
		}
	}
	fl := e.mustDo(200, "GET", "/api/logs/"+failed.Header.Get("X-Request-Id"), e.token, nil).JSON(t)
	if fl["status"] != 422.0 || fl["error"].(map[string]any)["code"] != "render_timeout" || fl["file"] != nil {
		t.Fatalf("failed render's log %v", fl)
	}
	// Settled: once no callback job may still run, nothing more can be
	// counted; and there is one follow-up job per succeeded render.
	e.settle("render.followup")
	if jobs := e.jobs("render.followup"); jobs != n {
		t.Fatalf("%d follow-up jobs, want %d", jobs, n)
	}
	used, _, succeeded, failedN := e.usage()
	if used != n {
		t.Fatalf("credits %d after settling, want %d", used, n)
	}
	if failedN != 1 {
		t.Fatalf("failed renders %d, want 1", failedN)
	}
	if succeeded != n {
		t.Fatalf("succeeded renders %d, want %d", succeeded, n)
	}
}

func TestCreditLimit(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	ctx := context.Background()
	sp := &store.Space{ID: store.NewID("spc"), Name: "limited", CreditLimit: 3, CreatedAt: time.Now()}
	if err := e.srv.Store.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, e.srv.Store, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
	_, pageID := e.cardPage(tok, nil)
	for i := 0; i < 3; i++ {
		e.mustDo(200, "GET", "/api/render/"+pageID, tok, nil)
	}
	// Refused at once, even before the credits callback ran, and logged.
	r := e.mustDo(402, "GET", "/api/render/"+pageID, tok, nil)
	if code := r.errCode(t); code != "CreditLimitReached" {
		t.Fatalf("code %s", code)
	}
	e.mustDo(402, "POST", "/api/render", tok, map[string]any{"pageId": pageID})
	l := e.mustDo(200, "GET", "/api/logs/"+r.Header.Get("X-Request-Id"), tok, nil).JSON(t)
	if l["status"] != 402.0 || l["error"].(map[string]any)["code"] != "CreditLimitReached" {
		t.Fatalf("402 log %v", l)
	}
	e.waitCredits(3)
	if used, limit, _, _ := e.usage(); used != 3 || limit != 3 {
		t.Fatalf("usage %d/%d", used, limit)
	}
}

func TestLogsPaginateAndIsolate(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 2})
	_, pageID := e.cardPage(e.token, nil)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil).Header.Get("X-Request-Id"))
	}
	ids = append(ids, e.mustDo(404, "GET", "/api/render/pg_missing", e.token, nil).Header.Get("X-Request-Id"))

	// Newest first, two at a time, each entry once.
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		q := url.Values{"limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		m := e.mustDo(200, "GET", "/api/logs?"+q.Encode(), e.token, nil).JSON(t)
		for _, d := range m["data"].([]any) {
			seen = append(seen, d.(map[string]any)["requestId"].(string))
		}
		next, _ := m["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(ids) {
		t.Fatalf("paginated %d entries, want %d: %v", len(seen), len(ids), seen)
	}
	for i := range ids {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", seen, ids)
		}
	}
	m := e.mustDo(200, "GET", "/api/logs?status=404", e.token, nil).JSON(t)
	if d := m["data"].([]any); len(d) != 1 || d[0].(map[string]any)["requestId"] != ids[5] {
		t.Fatalf("status filter: %v", d)
	}
	e.mustDo(400, "GET", "/api/logs?limit=0", e.token, nil)
	e.mustDo(400, "GET", "/api/logs?cursor=zzz", e.token, nil)

	_, other := e.newSpace("other")
	e.mustDo(404, "GET", "/api/logs/"+ids[0], other, nil)
	if d := e.mustDo(200, "GET", "/api/logs", other, nil).JSON(t)["data"].([]any); len(d) != 0 {
		t.Fatalf("other space sees %d log entries", len(d))
	}
}

func TestStoreCallbackRetriesUntilStoreWritable(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	_, pageID := e.cardPage(e.token, nil)
	unblock, _ := e.blockStorage()
	r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	decodePNG(t, r.Body)
	reqID := r.Header.Get("X-Request-Id")
	l := e.waitLog(reqID, func(l map[string]any) bool {
		st := l["callbacks"].(map[string]any)["store"].(map[string]any)
		return st["state"] == "retrying" && st["error"] != ""
	})
	if l["file"] != nil || l["status"] != 200.0 {
		t.Fatalf("log while store is failing: %v", l)
	}
	unblock()
	l = e.waitLog(reqID, func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
	if got := e.download(l["file"].(map[string]any)["url"].(string)); !bytes.Equal(got, r.Body) {
		t.Fatal("stored bytes differ from the answer")
	}
	if n := l["callbacks"].(map[string]any)["store"].(map[string]any)["attempts"].(float64); n < 2 {
		t.Fatalf("store succeeded after %v attempts, want a retry", n)
	}
	e.waitCredits(1)
}

func TestExhaustedCallbackStaysVisible(t *testing.T) {
	e := startServerCfg(t, server.Config{
		Browser: browser.Config{MaxTabs: 1},
		Queue:   queue.Config{MaxAttempts: 2, RetryBase: 100 * time.Millisecond},
	})
	_, pageID := e.cardPage(e.token, nil)
	_, blocked := e.blockStorage()
	r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	l := e.waitLog(r.Header.Get("X-Request-Id"), func(l map[string]any) bool { return l["callbackStatus"] == "failed" })
	st := l["callbacks"].(map[string]any)["store"].(map[string]any)
	if st["state"] != "failed" || st["attempts"] != 2.0 || !strings.Contains(st["error"].(string), blocked) {
		t.Fatalf("store callback %v", st)
	}
	// Credits do not depend on storage: the render was answered, so billed.
	e.waitCredits(1)
}
