package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// process is the real renderhook binary running serve.
type process struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "renderhook")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/renderhook")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs serve on dataDir and the test backend b, and returns
// once its /healthz answers 200; extra flags come last, so they override
// the defaults here.
func startProcess(t *testing.T, bin, dataDir string, b backend, addr string, extra ...string) *process {
	t.Helper()
	p := &process{out: &bytes.Buffer{}}
	args := append([]string{"serve", "--data-dir", dataDir}, b.serveArgs()...)
	p.cmd = exec.Command(bin, append(args, "--addr", addr, "--max-renders", "4", "--log-level", "warn",
		// Jobs the kill interrupts are rescued after this; short for the
		// test (async renders raise it to 2×render timeout + 15 s).
		"--job-timeout", "3s", "--job-rescue-after", "4s", "--render-timeout", "5s",
		"--egress-allow", "127.0.0.0/8", "--webhook-retry-schedule", "0s,500ms,1s,2s,5s")...)
	p.cmd.Args = append(p.cmd.Args, extra...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so the kill below takes Chromium down with it,
	// as a machine losing power would.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy:\n%s", p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// terminate sends SIGTERM (to the process only, as an orchestrator does)
// and waits up to limit for it to exit; it returns how the process
// exited.
func (p *process) terminate(t *testing.T, limit time.Duration) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(limit):
		t.Fatalf("still running %s after SIGTERM:\n%s", limit, p.out)
		return nil
	}
}

func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_, _ = p.cmd.Process.Wait()
	}
}

// pendingJobs counts the River jobs of a process's database that may
// still run, read beside the process (SQLite in WAL mode takes readers).
func pendingJobs(t *testing.T, dataDir string, b backend) int64 {
	t.Helper()
	const q = `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`
	if b.DB != "" {
		return riverQuery(t, b.DB, q)
	}
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dataDir, "renderhook.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int64
	if err := st.DB().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// crashNode is the process a crash test kills: its binary, data dir,
// backend and address, the space made with the binary's CLI, and an env
// on it.
type crashNode struct {
	bin, dataDir, addr string
	b                  backend
	created            createdSpace
	proc               *process
	e                  *env
}

// startCrashNode builds the binary, creates a space with its CLI on a
// fresh data dir and the test backend, and starts serving it.
func startCrashNode(t *testing.T) *crashNode {
	t.Helper()
	requireChromium(t)
	n := &crashNode{bin: buildBinary(t), dataDir: t.TempDir(), b: testBackend(t), addr: freeAddr(t)}
	n.created = createSpaceCLI(t, n.bin, n.dataDir, n.b.DB)
	n.proc = startProcess(t, n.bin, n.dataDir, n.b, n.addr)
	n.e = &env{t: t, base: "http://" + n.addr, token: n.created.Token, space: n.created.SpaceID}
	return n
}

// createdSpace is what `space create --json` prints.
type createdSpace struct{ SpaceID, Token, WebhookSecret string }

// createSpaceCLI creates a space with the binary's `space create`, on the
// data dir and database a process will serve.
func createSpaceCLI(t *testing.T, bin, dataDir, database string) createdSpace {
	t.Helper()
	out, err := exec.Command(bin, "space", "create", "--name", "crash", "--json", "--data-dir", dataDir, "--database", database).Output()
	if err != nil {
		t.Fatalf("space create: %v", err)
	}
	var c createdSpace
	if err := json.Unmarshal(out, &c); err != nil || c.Token == "" || c.WebhookSecret == "" {
		t.Fatalf("space create --json printed %s", out)
	}
	return c
}

// TestCrashLosesNothing answers 40 binary renders, kills the process with
// SIGKILL right after the last answer, restarts it on the same data dir,
// and checks every answered render ends up stored, logged and billed once.
func TestCrashLosesNothing(t *testing.T) {
	n := startCrashNode(t)
	bin, dataDir, b, created, addr, proc, e := n.bin, n.dataDir, n.b, n.created, n.addr, n.proc, n.e
	_, pageID := e.cardPage(e.token, nil)

	const total, clients = 40, 4
	var mu sync.Mutex
	var answered []string // request ids of 200 answers
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Go(func() {
			for i := 0; i < total/clients; i++ {
				r := e.do("GET", fmt.Sprintf("/api/render/%s?tweak:title=c%d-%d", pageID, c, i), e.token, nil)
				if r.Status != 200 || len(r.Body) == 0 {
					t.Errorf("render: %d %s", r.Status, r.Body)
					continue
				}
				mu.Lock()
				answered = append(answered, r.Header.Get("X-Request-Id"))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	proc.kill() // right after the last answer: callbacks are mid-flight
	if len(answered) != total {
		t.Fatalf("%d of %d renders answered", len(answered), total)
	}

	// How much follow-up work the kill interrupted (for the record: the
	// test holds whatever the number is).
	if st, err := server.OpenStore(dataDir, b.DB); err == nil {
		if c, err := st.CreditStatus(context.Background(), created.SpaceID); err == nil {
			t.Logf("at the kill: %d of %d answered renders not yet billed", c.Pending, total)
		}
		st.Close()
	}

	// The restarted node resumes the jobs its killed process held at once:
	// River's rescue delay (the default here, 30 s, and 75 s by default in
	// production) is left as it is, so only the resume can meet the 10 s.
	restarted := time.Now()
	startProcess(t, bin, dataDir, b, addr, "--job-rescue-after", "0s")
	healthy := time.Since(restarted)
	deadline := restarted.Add(10 * time.Second)
	pending := answered
	for len(pending) > 0 {
		var still []string
		for _, id := range pending {
			r := e.do("GET", "/api/logs/"+id, e.token, nil)
			if r.Status != 200 {
				t.Fatalf("log %s: %d %s", id, r.Status, r.Body)
			}
			if l := r.JSON(t); l["callbackStatus"] != "succeeded" || l["file"] == nil {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 && time.Now().After(deadline) {
			t.Fatalf("10 s after the restart (healthy after %s), %d of %d answered renders still lack their file in the log", healthy.Round(time.Millisecond), len(pending), total)
		}
		if len(pending) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for {
		used, _, _, _ := e.usage()
		if used == total {
			break
		}
		if used > total || time.Now().After(deadline) {
			t.Fatalf("10 s after the restart: %d credits used for %d answered renders", used, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("every render logged with its file and billed %s after the restart (healthy after %s)", time.Since(restarted).Round(time.Millisecond), healthy.Round(time.Millisecond))
	for _, id := range answered {
		l := e.waitLog(id, func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
		if b := e.download(l["file"].(map[string]any)["url"].(string)); len(b) != int(l["size"].(float64)) {
			t.Fatalf("file of %s has %d bytes, log says %v", id, len(b), l["size"])
		}
	}
	// Settled: once no job is left to run, nothing more can be counted
	// (a double count would come from a job still to run).
	eventually(t, time.Minute, "jobs still unfinished after the restart", func() bool { return pendingJobs(t, dataDir, b) == 0 })
	if used, _, succeeded, _ := e.usage(); used != total || succeeded != total {
		t.Fatalf("after settling: %d credits for %d succeeded renders, want %d", used, succeeded, total)
	}
}

// TestCrashAsyncWebhooks queues 100 async renders with a webhook_url, kills
// the process with SIGKILL mid-way, restarts it, and checks every render
// ends succeeded and every webhook arrives at least once.
func TestCrashAsyncWebhooks(t *testing.T) {
	n := startCrashNode(t)
	bin, dataDir, b, created, addr, proc, e := n.bin, n.dataDir, n.b, n.created, n.addr, n.proc, n.e
	rc := newReceiver(t)
	_, pageID := e.cardPage(e.token, nil)

	const total = 100
	var ids []string
	for i := 0; i < total; i++ {
		r := e.mustDo(202, "POST", "/api/render", e.token, map[string]any{
			"pageId": pageID, "async": true, "webhook_url": rc.URL + "/hook", "tweaks": map[string]any{"title": fmt.Sprint(i)}})
		ids = append(ids, r.JSON(t)["renderId"].(string))
	}
	// Mid-way: some webhooks are in, most renders are still queued.
	rc.Wait(t, 10)
	proc.kill()
	before := len(rc.Got())
	t.Logf("at the kill: %d of %d webhooks received", before, total)

	startProcess(t, bin, dataDir, b, addr)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		renders, events, posts := rc.succeededRenders(t, created.WebhookSecret, time.Minute)
		if len(renders) == total {
			t.Logf("%d webhooks received for %d renders (%d duplicates, deduplicated by webhook-id)", posts, total, posts-events)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks for %d of %d renders after restart", len(renders), total)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range ids {
		if st := e.mustDo(200, "GET", "/api/renders/"+id, e.token, nil).JSON(t); st["status"] != "succeeded" {
			t.Fatalf("render %s: %v", id, st)
		}
	}
	e.waitCredits(total)
}
