package server_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/blob/s3test"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
)

// node is one renderhook process of a multi-node test.
type node struct {
	*process
	name string
	role server.Role
	e    *env
	// clientID is how its job-queue client ID begins (River's
	// attempted_by and leader_id).
	clientID string
}

// riverQuery runs a query returning one int64 on the test's schema.
func riverQuery(t *testing.T, db, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	riverScan(t, db, &n, sql, args...)
	return n
}

// riverScan runs a query returning one value into dst.
func riverScan(t *testing.T, db string, dst any, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// riverText runs a query returning one text on the test's schema.
func riverText(t *testing.T, db, sql string, args ...any) string {
	t.Helper()
	var out string
	riverScan(t, db, &out, sql, args...)
	return out
}

// unfinishedJobs describes up to 10 River jobs not completed, for failure
// messages.
func unfinishedJobs(t *testing.T, db string) string {
	return riverText(t, db, `SELECT coalesce(string_agg(format('%s %s %s attempt=%s by=%s scheduled=%s err=%s', id, kind, state, attempt, attempted_by, scheduled_at, errors[array_length(errors, 1)]->>'error'), E'\n'), '')
		FROM (SELECT * FROM river_job WHERE state <> 'completed' ORDER BY id LIMIT 10) j`)
}

// TestMultiNode runs three real processes on one PostgreSQL schema and
// one MinIO bucket: A (--role all), B (--role api) and W (--role worker).
// A sync render answered by A is downloadable and its log readable
// through B. Then A accepts 60 async renders with a webhook_url and is
// killed with SIGKILL right after the 60th 202, holding some of their
// jobs: W takes them over, every render succeeds (seen through B), and
// every webhook arrives. With A gone, a sync and an async render through
// B are completed by W, and the space is billed exactly one credit per
// render (63). River's records show the API node never worked a job, every
// job A was running was rescued and completed by W, and W is the leader
// that runs the periodic retention job. B and W then exit 0 on SIGTERM.
func TestMultiNode(t *testing.T) {
	if !pgtest.Enabled() || !s3test.Enabled() {
		t.Skipf("multi-node test needs a shared database and bucket: set %s and %s (make test's second pass, or scripts/with-test-backends.sh go test ./internal/server -run TestMultiNode)",
			pgtest.EnvURL, s3test.EnvURL)
	}
	requireChromium(t)
	bin := buildBinary(t)
	b := testBackend(t)
	spaceID, token, secret := cliSpace(t, bin, t.TempDir(), b.DB)

	// Short limits so a takeover happens within the test's time: the
	// rescue delay is raised to the longest job limit + 5 s, a webhook
	// delivery's 25 s + 5 s (the async render's is 2×3 s + 10 s).
	flags := []string{"--max-renders", "2", "--render-timeout", "3s", "--job-timeout", "3s", "--job-rescue-after", "4s"}
	start := func(name string, role server.Role) *node {
		addr := freeAddr(t)
		p := startProcess(t, bin, t.TempDir(), b, addr, append(flags, "--role", string(role))...)
		return &node{process: p, name: name, role: role, clientID: server.ClientIDPrefix(role, p.cmd.Process.Pid),
			e: &env{t: t, base: "http://" + addr, token: token, space: spaceID, storage: b.Storage}}
	}
	a := start("A", server.RoleAll)
	bn := start("B", server.RoleAPI)
	w := start("W", server.RoleWorker)
	t.Logf("nodes: A all %s, B api %s, W worker %s", a.e.base, bn.e.base, w.e.base)

	// The worker serves only /healthz.
	if h := w.e.mustDo(200, "GET", "/healthz", "", nil).JSON(t); h["role"] != "worker" {
		t.Fatalf("worker /healthz: %v", h)
	}
	if code := w.e.mustDo(404, "GET", "/api/usage", token, nil).errCode(t); code != "not_found" {
		t.Fatalf("worker /api/usage: code %q", code)
	}

	// A sync render on A, its file and log through B.
	_, pageID := a.e.cardPage(token, nil)
	r := a.e.mustDo(200, "GET", "/api/render/"+pageID+"?tweak:title=sync", token, nil)
	decodePNG(t, r.Body)
	l := bn.e.waitLog(r.Header.Get("X-Request-Id"), func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
	file, _ := l["file"].(map[string]any)
	if file == nil {
		t.Fatalf("log through B has no file: %v", l)
	}
	if !strings.HasPrefix(file["url"].(string), bn.e.fileURLPrefix()) {
		t.Fatalf("file URL %s is not on the bucket", file["url"])
	}
	if got := bn.e.download(file["url"].(string)); !bytes.Equal(got, r.Body) {
		t.Fatalf("file through B has %d bytes, A answered %d", len(got), len(r.Body))
	}

	// 60 async renders accepted by A, which dies right after the last 202.
	rc := newReceiver(t)
	const total = 60
	ids := make([]string, 0, total)
	for i := range total {
		r := a.e.mustDo(202, "POST", "/api/render", token, map[string]any{
			"pageId": pageID, "async": true, "webhook_url": rc.URL + "/hook", "tweaks": map[string]any{"title": fmt.Sprint(i)}})
		ids = append(ids, r.JSON(t)["renderId"].(string))
	}
	a.kill()
	killed := time.Now()
	var heldByA []int64 // the jobs A was running when it died
	riverScan(t, b.DB, &heldByA, `SELECT coalesce(array_agg(id), '{}') FROM river_job WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] LIKE $1 || '%'`, a.clientID)
	t.Logf("A killed after %d async renders; it held %d running jobs", total, len(heldByA))
	if len(heldByA) == 0 {
		t.Fatal("A held no running job when it was killed: nothing to take over")
	}

	// Every render succeeds, seen through B, within the documented
	// takeover bound (rescue delay 30 s + 36 s: docs/deploy.md) plus time
	// to do the work.
	const takeoverBound = 66 * time.Second
	deadline := killed.Add(takeoverBound + 30*time.Second)
	pending := ids
	for len(pending) > 0 {
		var still []string
		for _, id := range pending {
			st := bn.e.mustDo(200, "GET", "/api/renders/"+id, token, nil).JSON(t)
			switch st["status"] {
			case "succeeded":
			case "queued", "rendering":
				still = append(still, id)
			default:
				t.Fatalf("render %s: %v", id, st)
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d async renders unfinished %s after A was killed; unfinished jobs:\n%s", len(pending), total, time.Since(killed), unfinishedJobs(t, b.DB))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Logf("all %d async renders succeeded %s after A was killed", total, time.Since(killed).Round(time.Millisecond))

	// Every webhook arrives (at least once; deduplicated by webhook-id).
	for {
		renders, events, n := rc.succeededRenders(t, secret, 5*time.Minute)
		missing := 0
		for _, id := range ids {
			if !renders[id] {
				missing++
			}
		}
		if missing == 0 {
			t.Logf("%d webhooks for %d renders (%d duplicates), the last %s after A was killed", n, total, n-events, time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks missing for %d of %d renders; unfinished jobs:\n%s", missing, total, unfinishedJobs(t, b.DB))
		}
		select {
		case <-rc.Arrived():
		case <-time.After(time.Second):
		}
	}

	// With A gone, B (which works no jobs) and W alone: B's sync render is
	// stored, logged and billed, and its async render done, by W.
	r = bn.e.mustDo(200, "GET", "/api/render/"+pageID+"?tweak:title=after", token, nil)
	decodePNG(t, r.Body)
	bn.e.waitLog(r.Header.Get("X-Request-Id"), func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
	id := bn.e.mustDo(202, "POST", "/api/render", token, map[string]any{"pageId": pageID, "async": true}).JSON(t)["renderId"].(string)
	for st := ""; st != "succeeded"; {
		st, _ = bn.e.mustDo(200, "GET", "/api/renders/"+id, token, nil).JSON(t)["status"].(string)
		if st == "failed" || time.Now().After(deadline) {
			t.Fatalf("async render accepted by B after A's death: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	const renders = total + 3 // A's sync render, the async ones, B's two

	// Once no job is left to run, the bill is final: one credit per render.
	for riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("jobs still pending:\n%s", unfinishedJobs(t, b.DB))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE state <> 'completed'`); n != 0 {
		t.Fatalf("%d jobs ended other than completed", n)
	}
	if used, _, succeeded, failed := bn.e.usage(); used != renders || succeeded != renders || failed != 0 {
		t.Fatalf("usage: %d credits, %d succeeded, %d failed renders; want %d, %d, 0", used, succeeded, failed, renders, renders)
	}

	// Who did the work: never the API node; W took over what A held.
	if n := riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE EXISTS (SELECT 1 FROM unnest(attempted_by) x WHERE x LIKE 'api\_%')`); n != 0 {
		t.Fatalf("%d jobs were worked by an API node", n)
	}
	// Every job A was running when it died was rescued and done by W.
	taken := riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE id = ANY($1) AND state = 'completed'
		AND attempted_by[array_length(attempted_by, 1)] LIKE $2 || '%' AND errors::text LIKE '%Stuck job rescued%'`, heldByA, w.clientID)
	byW := riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE kind = 'render.async' AND attempted_by[array_length(attempted_by, 1)] LIKE $1 || '%'`, w.clientID)
	t.Logf("jobs A held, rescued and done by W: %d of %d; async renders finished by W: %d of %d", taken, len(heldByA), byW, total)
	t.Logf("rescued jobs: %s", riverText(t, b.DB, `SELECT coalesce(string_agg(kind || ' attempts=' || attempt, ', '), '') FROM (SELECT * FROM river_job WHERE id = ANY($1) ORDER BY id) j`, heldByA))
	if taken != int64(len(heldByA)) {
		t.Fatalf("A held %d running jobs at the kill; W rescued and completed %d of them", len(heldByA), taken)
	}
	if byW == 0 {
		t.Fatal("the worker node finished no async render")
	}
	if n := riverQuery(t, b.DB, `SELECT count(*) FROM river_leader WHERE leader_id LIKE $1 || '%'`, w.clientID); n != 1 {
		t.Fatal("W is not River's leader (periodic and maintenance work) after A's death")
	}
	// The periodic log retention job runs when a node becomes leader: W's
	// term enqueued one, and W worked it.
	if n := riverQuery(t, b.DB, `SELECT count(*) FROM river_job WHERE kind = 'requestlog.retention' AND attempted_by[1] LIKE $1 || '%'`, w.clientID); n < 1 {
		t.Fatal("no log retention job was worked by W after it became leader")
	}

	// The survivors stop cleanly on SIGTERM (default --shutdown-timeout 30 s).
	for _, n := range []*node{bn, w} {
		if err := n.terminate(t, 35*time.Second); err != nil {
			t.Fatalf("%s (--role %s) after SIGTERM: %v (want exit 0)\n%s", n.name, n.role, err, n.out)
		}
	}
}
