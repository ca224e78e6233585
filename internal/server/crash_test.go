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

func startProcess(t *testing.T, bin, dataDir, addr string) *process {
	t.Helper()
	p := &process{out: &bytes.Buffer{}}
	p.cmd = exec.Command(bin, "serve", "--data-dir", dataDir, "--addr", addr, "--max-renders", "4", "--log-level", "warn",
		// Jobs the kill interrupts are rescued after this; short for the test.
		"--job-timeout", "3s", "--job-rescue-after", "4s")
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

func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_, _ = p.cmd.Process.Wait()
	}
}

// TestCrashLosesNothing answers 40 binary renders, kills the process with
// SIGKILL right after the last answer, restarts it on the same data dir,
// and checks every answered render ends up stored, logged and billed once.
func TestCrashLosesNothing(t *testing.T) {
	requireChromium(t)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	out, err := exec.Command(bin, "space", "create", "--name", "crash", "--json", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("space create: %v", err)
	}
	var created struct{ SpaceID, Token string }
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("space create --json printed %s", out)
	}

	addr := freeAddr(t)
	proc := startProcess(t, bin, dataDir, addr)
	e := &env{t: t, base: "http://" + addr, token: created.Token, space: created.SpaceID}
	_, pageID := e.cardPage(e.token, nil)

	const total, clients = 40, 4
	var mu sync.Mutex
	var answered []string // request ids of 200 answers
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Go(func() {
			for i := 0; i < total/clients; i++ {
				r := e.do("GET", fmt.Sprintf("/api/render/%s?tweak:title=c%d-%d", pageID, c, i), e.token, nil)
				if r.status != 200 || len(r.body) == 0 {
					t.Errorf("render: %d %s", r.status, r.body)
					continue
				}
				mu.Lock()
				answered = append(answered, r.header.Get("X-Request-Id"))
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
	if st, err := server.OpenStore(dataDir, ""); err == nil {
		if c, err := st.CreditStatus(context.Background(), created.SpaceID); err == nil {
			t.Logf("at the kill: %d of %d answered renders not yet billed", c.Pending, total)
		}
		st.Close()
	}

	startProcess(t, bin, dataDir, addr)
	for _, id := range answered {
		l := e.waitLog(id, func(l map[string]any) bool { return l["callbackStatus"] == "succeeded" })
		if l["file"] == nil {
			t.Fatalf("log %s has no file: %v", id, l)
		}
		if b := e.download(l["file"].(map[string]any)["url"].(string)); len(b) != int(l["size"].(float64)) {
			t.Fatalf("file of %s has %d bytes, log says %v", id, len(b), l["size"])
		}
	}
	e.waitCredits(total)
	time.Sleep(2 * time.Second) // settle: a double count would show up now
	if used, _, succeeded, _ := e.usage(); used != total || succeeded != total {
		t.Fatalf("after settling: %d credits for %d succeeded renders, want %d", used, succeeded, total)
	}
}
