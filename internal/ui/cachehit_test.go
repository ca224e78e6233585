package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
)

// TestLogsShowCacheHits checks that a request answered from the render
// cache says so in the log list and on its log page.
func TestLogsShowCacheHits(t *testing.T) {
	e := setup(t, server.Config{})
	ctx := context.Background()
	now := time.Now().UTC()
	for _, l := range []*store.RequestLog{
		{ID: "req_hit", SpaceID: e.space, CreatedAt: now, Method: "POST", Path: "/v1/render/sync", Status: 200, RenderID: "r1", CacheHit: true},
		{ID: "req_miss", SpaceID: e.space, CreatedAt: now.Add(-time.Second), Method: "POST", Path: "/v1/render/sync", Status: 200, RenderID: "r1"},
	} {
		if err := e.srv.Store.CreateRequestLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client(t)
	c.login(t, e.token)
	list := string(c.get(t, "/ui/logs").Body)
	row := func(id string) string {
		i := strings.Index(list, `href="/ui/logs/`+id+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", id)
		}
		end := strings.Index(list[i:], "</tr>")
		return list[i : i+end]
	}
	if !strings.Contains(row("req_hit"), "cache hit") || strings.Contains(row("req_miss"), "cache hit") {
		t.Fatalf("rows: %q / %q", row("req_hit"), row("req_miss"))
	}
	if p := string(c.get(t, "/ui/logs/req_hit").Body); !strings.Contains(p, "answered from this render") {
		t.Fatal("log page does not say cache hit")
	}
	if p := string(c.get(t, "/ui/logs/req_miss").Body); strings.Contains(p, "answered from this render") {
		t.Fatal("log page of a fresh render says cache hit")
	}
}
