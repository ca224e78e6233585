package browser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/chromedp/chromedp"
)

// Chromium runs client pages from the Internet, so its sandbox is on: the
// renderers run in their own user, PID and network namespaces under a
// seccomp-BPF filter, and a renderer exploit gets no further than that.
// Chromium refuses to sandbox as root, so when renderhook runs as root it
// starts Chromium as an unprivileged user (Config.ChromiumUser), which also
// cannot read the data directory (0700, ours). Only where the sandbox cannot
// work (the kernel has no unprivileged user namespaces, or Chromium fails to
// start naming its sandbox), or when Config.ExtraFlags hold --no-sandbox,
// does the first launch fall back to --no-sandbox, with a warning and
// Pool.Sandboxed reporting false; later launches keep that decision.

// DefaultChromiumUser is the dedicated user Chromium runs as when renderhook
// runs as root and ChromiumUser is empty, where it exists
// (scripts/install-deps.sh and deploy/Dockerfile create it); else nobody.
const DefaultChromiumUser = "renderhook-chromium"

// nobodyID is the uid and gid of nobody/nogroup on Linux, used when the
// passwd database has no such user (a scratch or distroless image).
const nobodyID = 65534

// chromiumUser is the resolved identity Chromium runs as.
type chromiumUser struct {
	name     string
	uid, gid uint32
}

func (u *chromiumUser) String() string {
	if u == nil {
		return "(renderhook's own)"
	}
	return fmt.Sprintf("%s (uid %d, gid %d)", u.name, u.uid, u.gid)
}

// resolveChromiumUser returns the identity Chromium is started under, or
// nil when it runs as this process's own user (renderhook is not root).
// name is a user name, a uid, or uid:gid; "" picks DefaultChromiumUser,
// else nobody, else uid 65534.
func resolveChromiumUser(name string, euid int) (*chromiumUser, error) {
	if euid != 0 {
		if name == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("ChromiumUser %q needs renderhook to run as root (it runs as uid %d, and Chromium runs as that user)", name, euid)
	}
	if name == "" {
		for _, n := range []string{DefaultChromiumUser, "nobody"} {
			if u, err := lookupUser(n); err == nil {
				return u, nil
			}
		}
		return &chromiumUser{name: strconv.Itoa(nobodyID), uid: nobodyID, gid: nobodyID}, nil
	}
	if uidS, gidS, ok := strings.Cut(name, ":"); ok {
		uid, err1 := strconv.ParseUint(uidS, 10, 32)
		gid, err2 := strconv.ParseUint(gidS, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("ChromiumUser %q: want a user name, a uid or uid:gid: %w", name, err)
		}
		return &chromiumUser{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	u, err := lookupUser(name)
	if err != nil {
		return nil, fmt.Errorf("ChromiumUser: %w", err)
	}
	return u, nil
}

// lookupUser finds a user by name or uid; its primary group is its gid.
func lookupUser(name string) (*chromiumUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var uerr error
		if u, uerr = user.LookupId(name); uerr != nil {
			return nil, fmt.Errorf("look up user %q: %w", name, err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	return &chromiumUser{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

// sandboxState is what the first successful launch of a pool found out
// about the sandbox; every later launch (recycling, relaunch after a crash)
// of the same pool uses it without probing again.
type sandboxState struct {
	mu      sync.Mutex
	decided bool
	off     bool   // launched with --no-sandbox
	reason  string // why, when off
}

// get returns whether launches go without the sandbox, and whether that
// has been decided yet. A nil state (a Config that never went through
// withDefaults) is undecided.
func (s *sandboxState) get() (off, decided bool) {
	if s == nil {
		return false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.off, s.decided
}

func (s *sandboxState) decide(off bool, reason string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decided, s.off, s.reason = true, off, reason
}

// Sandboxed reports whether the pool's Chromium runs with its sandbox on. It
// is false before the first launch and when the sandbox could not work here
// or ExtraFlags turned it off (the pool then runs Chromium with --no-sandbox
// and logged a warning at start; see /healthz's "sandbox").
func (p *Pool) Sandboxed() bool {
	off, decided := p.cfg.sandbox.get()
	return decided && !off
}

// kernelCannotSandbox says why this kernel cannot give Chromium's namespace
// sandbox to an unprivileged user, or "" when it seems it can; the launch
// then tells for sure (see isSandboxFailure).
func kernelCannotSandbox() string {
	for _, knob := range []string{"/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone"} {
		b, err := os.ReadFile(knob) //nolint:gosec // G304: knob is one of the two fixed /proc paths above
		if err == nil && strings.TrimSpace(string(b)) == "0" {
			return "user namespaces are disabled (" + strings.ReplaceAll(strings.TrimPrefix(knob, "/proc/sys/"), "/", ".") + " = 0)"
		}
	}
	return ""
}

// sandboxFailureMarks are what Chromium prints when it cannot start its
// sandbox ("No usable sandbox!", "Failed to move to new namespace: …",
// "Running as root without --no-sandbox is not supported. See
// https://crbug.com/638180"), lower-cased. Its ordinary start-up output
// names the sandbox too ("InitializeSandbox() called with multiple
// threads"), so the marks are these phrases, not the word.
var sandboxFailureMarks = []string{"no usable sandbox", "move to new namespace", "without --no-sandbox", "crbug.com/638180", "suid sandbox"}

// isSandboxFailure reports whether a failed launch's error (which carries
// Chromium's output, see chromedp's readOutput) says the sandbox could not
// start.
func isSandboxFailure(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, m := range sandboxFailureMarks {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// chromiumEnvKeep are the variables of our environment Chromium keeps; every
// other one is blanked for it, so credentials in it (AWS_*, a database URL
// in RENDERHOOK_*) are not in the memory of the browser or of its renderers
// (the zygote passes the browser's environment on). HOME and TMPDIR are set
// to the profile dir.
var chromiumEnvKeep = []string{"PATH", "LANG", "LANGUAGE", "TZ", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "LD_LIBRARY_PATH"}

// chromiumEnv returns the assignments that blank every variable of environ
// Chromium need not see. chromedp appends them after os.Environ(), and
// os/exec keeps the last value of a name, so each blanked name reaches
// Chromium as an empty value.
func chromiumEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if name == "" || strings.HasPrefix(name, "LC_") || slices.Contains(chromiumEnvKeep, name) {
			continue
		}
		out = append(out, name+"=")
	}
	return out
}

// processOptions is the chromedp option that starts the browser process as
// cu (nil: our own user), and pid reports that process's pid once the
// allocator has started it (0 before, or if it never started).
func processOptions(cu *chromiumUser) (opt chromedp.ExecAllocatorOption, pid func() int) {
	var cmd *exec.Cmd // set by chromedp's allocator before it starts the process
	opt = chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{
			// Own process group, so Stop can kill the renderers,
			// zygotes and GPU/utility helpers with one signal.
			Setpgid: true,
			// Take the browser down if this process dies. The child
			// sets it after switching to cu (forkAndExecInChild1
			// runs setuid before PR_SET_PDEATHSIG, which a credential
			// change would clear), and it survives the exec, as
			// TestChromiumDiesWithParent checks.
			Pdeathsig: syscall.SIGKILL,
		}
		if cu != nil {
			// Unprivileged, with no supplementary groups (an empty
			// Groups clears ours).
			c.SysProcAttr.Credential = &syscall.Credential{Uid: cu.uid, Gid: cu.gid, Groups: []uint32{}}
		}
		// chromedp puts os.Environ() first and Env's variables
		// last; these, in between, blank what Chromium need not see.
		c.Env = chromiumEnv(os.Environ())
		cmd = c
	})
	return opt, func() int {
		if cmd != nil && cmd.Process != nil {
			return cmd.Process.Pid
		}
		return 0
	}
}
