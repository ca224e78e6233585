package browser

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumProc is one process of a browser's process group, as /proc shows it.
type chromiumProc struct {
	pid     int
	args    []string
	uid     int    // effective uid
	seccomp string // the Seccomp field of /proc/PID/status: 0 off, 1 strict, 2 filter
}

func (c chromiumProc) isRenderer() bool {
	for _, a := range c.args {
		if a == "--type=renderer" {
			return true
		}
	}
	return false
}

// groupProcs lists the live processes of process group pgid.
func groupProcs(t *testing.T, pgid int) []chromiumProc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []chromiumProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := strings.Fields(string(rest))
		if len(fields) < 3 || fields[2] != strconv.Itoa(pgid) || fields[0] == "Z" {
			continue
		}
		p := chromiumProc{pid: pid, uid: -1}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(p.args) == 1 {
			// Zygote-forked processes rewrite their argv into one
			// space-separated string.
			p.args = strings.Fields(p.args[0])
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(status))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			f := strings.Fields(v)
			switch {
			case k == "Uid" && len(f) >= 2:
				p.uid, _ = strconv.Atoi(f[1])
			case k == "Seccomp" && len(f) >= 1:
				p.seccomp = f[0]
			}
		}
		out = append(out, p)
	}
	return out
}

// kernelHasSeccompFilter reports whether this kernel can put a process under
// a seccomp-BPF filter (mode 2), which Chromium's renderers then run under.
func kernelHasSeccompFilter() bool {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil || !bytes.Contains(st, []byte("\nSeccomp:")) {
		return false
	}
	_, err = os.Stat("/proc/sys/kernel/seccomp/actions_avail")
	return err == nil
}

// TestChromiumSandboxed holds the sandbox promise: wherever the kernel can
// sandbox, every process of the pool's Chromium runs without --no-sandbox
// and not as root, and its renderers are under a seccomp-BPF filter.
func TestChromiumSandboxed(t *testing.T) {
	if why := kernelCannotSandbox(); why != "" {
		t.Skipf("this kernel cannot sandbox Chromium: %s", why)
	}
	p := newPool(t, Config{MaxTabs: 2})
	if !p.Sandboxed() {
		t.Fatal("Sandboxed() = false on a kernel that can sandbox")
	}
	// A render, so the renderers have loaded a page.
	if _, err := p.Render(context.Background(), pngRequest(Page{HTML: "<p>hi</p>", Width: 100, Height: 100})); err != nil {
		t.Fatal(err)
	}
	want, err := resolveChromiumUser("", os.Geteuid())
	if err != nil {
		t.Fatal(err)
	}
	procs := groupProcs(t, p.BrowserPID())
	renderers := 0
	for _, pr := range procs {
		what := fmt.Sprintf("pid %d (%s)", pr.pid, strings.Join(pr.args[:min(2, len(pr.args))], " "))
		for _, a := range pr.args {
			if a == "--no-sandbox" {
				t.Errorf("%s runs with --no-sandbox", what)
			}
		}
		switch {
		case pr.uid == 0:
			t.Errorf("%s runs as root", what)
		case want != nil && pr.uid != int(want.uid):
			t.Errorf("%s runs as uid %d, want %s", what, pr.uid, want)
		case want == nil && pr.uid != os.Geteuid():
			t.Errorf("%s runs as uid %d, want ours (%d)", what, pr.uid, os.Geteuid())
		}
		if pr.isRenderer() {
			renderers++
			if kernelHasSeccompFilter() && pr.seccomp != "2" {
				t.Errorf("renderer %s has Seccomp %q, want 2 (filtered)", what, pr.seccomp)
			}
		}
	}
	if len(procs) < 2 || renderers == 0 {
		t.Fatalf("found %d processes (%d renderers) in Chromium's group %d; want the browser and its renderers", len(procs), renderers, p.BrowserPID())
	}
	if !t.Failed() {
		t.Logf("%d processes, %d renderers, all sandboxed, uid %d", len(procs), renderers, procs[0].uid)
	}
}

// TestChromiumSandboxFallback: where Chromium cannot start its sandbox (here
// because it is made to run as root, which it refuses to sandbox) the pool
// launches it again with --no-sandbox, renders, and says so.
func TestChromiumSandboxFallback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fallback is provoked by running Chromium as root")
	}
	var logs bytes.Buffer
	p := newPool(t, Config{MaxTabs: 1, ChromiumUser: "root", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if p.Sandboxed() {
		t.Fatal("Sandboxed() = true for Chromium running as root")
	}
	if !strings.Contains(logs.String(), "WARNING: Chromium runs WITHOUT its sandbox") {
		t.Errorf("no start-up warning; log:\n%s", logs.String())
	}
	if _, err := p.Render(context.Background(), pngRequest(Page{HTML: "<p>hi</p>", Width: 100, Height: 100})); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pr := range groupProcs(t, p.BrowserPID()) {
		if pr.pid == p.BrowserPID() {
			for _, a := range pr.args {
				found = found || a == "--no-sandbox"
			}
		}
	}
	if !found {
		t.Error("the fallback browser runs without --no-sandbox")
	}
}

func TestResolveChromiumUser(t *testing.T) {
	if u, err := resolveChromiumUser("", 1000); u != nil || err != nil {
		t.Errorf("not root, default: got %v, %v; want our own user", u, err)
	}
	if _, err := resolveChromiumUser("nobody", 1000); err == nil {
		t.Error("not root, nobody: want an error (cannot switch user)")
	}
	u, err := resolveChromiumUser("", 0)
	if err != nil || u == nil || u.uid == 0 {
		t.Fatalf("root, default: got %v, %v; want an unprivileged user", u, err)
	}
	if u, err := resolveChromiumUser("1234:5678", 0); err != nil || u.uid != 1234 || u.gid != 5678 {
		t.Errorf("uid:gid: got %v, %v", u, err)
	}
	if _, err := resolveChromiumUser("no-such-user-here", 0); err == nil {
		t.Error("unknown user: want an error")
	}
	if _, err := resolveChromiumUser("12:x", 0); err == nil {
		t.Error("bad gid: want an error")
	}
}

func TestChromiumEnv(t *testing.T) {
	got := chromiumEnv([]string{"PATH=/bin", "AWS_SECRET_ACCESS_KEY=s3cr3t", "LC_ALL=C", "RENDERHOOK_DATABASE=postgres://u:p@h/db", "HOME=/root"})
	want := []string{"AWS_SECRET_ACCESS_KEY=", "RENDERHOOK_DATABASE=", "HOME="}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("chromiumEnv = %q, want %q", got, want)
	}
}

// TestChromiumEnvironment: the browser's environment has no credential of
// ours in it.
func TestChromiumEnvironment(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-must-not-leak")
	p := newPool(t, Config{MaxTabs: 1})
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.BrowserPID()))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(env, []byte("test-secret-must-not-leak")) {
		t.Error("Chromium's environment holds AWS_SECRET_ACCESS_KEY")
	}
	if !bytes.Contains(env, []byte("\x00HOME=/")) && !bytes.HasPrefix(env, []byte("HOME=/")) {
		t.Error("Chromium has no HOME")
	}
}

// TestChromiumDiesWithParent: Chromium runs as another user, and still dies
// when renderhook is killed (Pdeathsig is set after the credential change).
// The test runs itself as the parent that is killed.
func TestChromiumDiesWithParent(t *testing.T) {
	if os.Getenv("RENDERHOOK_TEST_PDEATH_CHILD") == "1" {
		p, err := New(Config{MaxTabs: 1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if err := p.Start(context.Background()); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("pid", p.BrowserPID())
		select {} // until killed
	}
	if _, err := FindChromium(); err != nil {
		t.Skipf("no chromium: %v", err)
	}
	// The child's profile goes in a dir of this test, so nothing is left
	// behind; Chromium's user must be able to reach it.
	tmp := t.TempDir()
	for _, d := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChromiumDiesWithParent$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RENDERHOOK_TEST_PDEATH_CHILD=1", "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pidc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "pid ") || strings.HasPrefix(sc.Text(), "error ") {
				pidc <- sc.Text()
				break
			}
		}
		close(pidc)
	}()
	line := receive(t, pidc, 60*time.Second, "the child never started its pool")
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "pid "))
	if err != nil || pid <= 0 {
		t.Fatalf("child said %q", line)
	}
	if os.Geteuid() == 0 {
		var browser *chromiumProc
		for _, pr := range groupProcs(t, pid) {
			if pr.pid == pid {
				browser = &pr
			}
		}
		if browser == nil || browser.uid == 0 {
			t.Fatalf("browser %d not found or running as root: %+v", pid, browser)
		}
	}
	// Whatever happens, the helpers go too before the temp dir is removed.
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL); waitGroupGone(pid, groupExitTimeout) })
	// Kill the parent alone: Chromium is in a process group of its own.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		zombie := bytes.Contains(st, []byte(") Z "))
		if errors.Is(err, syscall.ESRCH) || zombie {
			break
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("Chromium (pid %d) still runs 15s after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
