package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestChromiumCannotReadDataDir: the server's data dir is 0700 (made so
// at start although it was created 0755), Chromium's user cannot read the
// database in it, and /healthz says the sandbox is on.
func TestChromiumCannotReadDataDir(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	if h := e.mustDo(200, "GET", "/healthz", "", nil).JSON(t); h["sandbox"] != true {
		t.Errorf("/healthz: %v, want sandbox true", h)
	}
	dir := e.srv.DataDir()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data dir %s is %s, want 0700", dir, st.Mode().Perm())
	}
	if os.Geteuid() != 0 {
		t.Skip("Chromium runs as our own user when we are not root")
	}
	pid := e.srv.Pool.BrowserPID()
	var sys syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &sys); err != nil {
		t.Fatal(err)
	}
	if sys.Uid == 0 {
		t.Fatal("Chromium runs as root")
	}
	db := filepath.Join(dir, "renderhook.db")
	if _, err := os.Stat(db); err != nil {
		t.Skipf("no SQLite database in the data dir (%v)", err)
	}
	// The test's own temp dir above it is 0700 too; open it, so only the
	// data dir's mode stands in the way.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	// Read it as Chromium's user, as a compromised browser would.
	cat := exec.Command("cat", db)
	cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: sys.Uid, Gid: sys.Gid, Groups: []uint32{}}}
	if out, err := cat.CombinedOutput(); err == nil {
		t.Fatalf("Chromium's uid %d read the database (%d bytes)", sys.Uid, len(out))
	} else {
		t.Logf("as uid %d: %v: %s", sys.Uid, err, out)
	}
}
