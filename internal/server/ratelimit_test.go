package server_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestRateLimit429 sets a limit on one space: its requests beyond the
// limit answer 429 with Retry-After and the X-RateLimit-* headers, are not
// rendered or billed, on every render path (page GET and POST, v1); a
// space without a limit is not held back by its neighbour's.
func TestRateLimit429(t *testing.T) {
	e, pageID, other := startNeighbours(t, "calm")
	otherToken, otherPage := other.token, other.page
	ctx := context.Background()
	const limit = 3
	if err := e.srv.Store.SetRateLimit(ctx, e.space, limit); err != nil {
		t.Fatal(err)
	}

	for i := range limit {
		e.mustDo(200, "GET", "/api/render/"+pageID+"?_n="+strconv.Itoa(i), e.token, nil)
	}
	before := time.Now()
	for _, try := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/render/" + pageID, nil},
		{"POST", "/api/render", map[string]any{"pageId": pageID}},
		{"POST", "/v1/render/sync", map[string]any{"html": "<p>hi</p>"}},
	} {
		r := e.mustDo(429, try.method, try.path, e.token, try.body)
		if code := r.errCode(t); code != "rate_limited" {
			t.Errorf("%s %s: code %q, want rate_limited", try.method, try.path, code)
		}
		h := r.Header
		if h.Get("X-RateLimit-Limit") != strconv.Itoa(limit) || h.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("%s %s: X-RateLimit-Limit %q, -Remaining %q", try.method, try.path, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"))
		}
		// 3 a minute: one back within 20 s.
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
			t.Errorf("%s %s: Retry-After %q, want 1..20 s", try.method, try.path, h.Get("Retry-After"))
		}
		reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || reset < before.Unix() || reset > before.Add(21*time.Second).Unix() {
			t.Errorf("%s %s: X-RateLimit-Reset %q, want a unix time within 20 s", try.method, try.path, h.Get("X-RateLimit-Reset"))
		}
	}
	// The other space renders at once.
	e.mustDo(200, "GET", "/api/render/"+otherPage, otherToken, nil)

	// Refused requests were neither rendered nor billed.
	u, err := e.srv.Store.Usage(ctx, e.space)
	if err != nil {
		t.Fatal(err)
	}
	if u.Succeeded != limit || u.Failed != 0 {
		t.Fatalf("usage %+v, want exactly %d succeeded renders and no failed ones", u, limit)
	}
}

// TestAsyncBacklogDoesNotHoldOtherSpaces queues a deep async backlog for
// one space, then one async render for another: the quiet space's render
// finishes while most of the backlog is still waiting, instead of behind
// all of it (River works jobs by priority, and a deep backlog's jobs are
// inserted at lower priorities).
func TestAsyncBacklogDoesNotHoldOtherSpaces(t *testing.T) {
	e, floodPage, quiet := startNeighbours(t, "quiet")
	quietSpace, quietToken, quietPage := quiet.space, quiet.token, quiet.page
	// The backlog is queued with the queue paused, so it is a backlog
	// however fast the renders would otherwise keep up with the inserts.
	ctx := context.Background()
	rc := e.srv.Queue.Client()
	if err := rc.QueuePause(ctx, river.QueueDefault, nil); err != nil {
		t.Fatal(err)
	}
	const backlog = 40
	for i := range backlog {
		e.mustDo(202, "POST", "/api/render", e.token, map[string]any{
			"pageId": floodPage, "async": true, "tweaks": map[string]any{"title": strconv.Itoa(i)}})
	}
	id, _ := e.mustDo(202, "POST", "/api/render", quietToken, map[string]any{"pageId": quietPage, "async": true}).JSON(t)["renderId"].(string)
	if err := rc.QueueResume(ctx, river.QueueDefault, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := e.mustDo(200, "GET", "/api/renders/"+id, quietToken, nil).JSON(t)["status"]
		if st == "succeeded" {
			break
		}
		if st == "failed" || time.Now().After(deadline) {
			t.Fatalf("quiet space's render is %v", st)
		}
		time.Sleep(20 * time.Millisecond) // polling the status API, as a client would
	}
	u, err := e.srv.Store.Usage(ctx, e.space)
	if err != nil {
		t.Fatal(err)
	}
	// Without fairness the quiet render runs after all 40; with it, after
	// the flooding space's first few (backlogTiers[0] at priority 1, plus
	// whatever the workers had already fetched).
	if u.Succeeded > backlog/2 {
		t.Fatalf("the quiet space's render finished after %d of the flooding space's %d", u.Succeeded, backlog)
	}
	t.Logf("quiet space %s finished after %d of %d backlog renders", quietSpace, u.Succeeded, backlog)
}

// neighbour is a second space of a test server, with a card page.
type neighbour struct{ space, token, page string }

// startNeighbours starts a one-tab server whose space has a card page
// (page), and a second space named name with a card page of its own: the
// two spaces whose renders must not hold each other back.
func startNeighbours(t *testing.T, name string) (e *env, page string, n neighbour) {
	t.Helper()
	e = startServer(t, browser.Config{MaxTabs: 1})
	_, page = e.cardPage(e.token, nil)
	n.space, n.token = e.newSpace(name)
	_, n.page = e.cardPage(n.token, nil)
	return e, page, n
}
