package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// floor is the lower bound: what a plain chromedp program pays to turn the
// reference HTML into an image in a warm tab, with nothing around it.
type floor struct {
	html        string
	pid         int
	version     string
	allocCancel context.CancelFunc
	cancel      context.CancelFunc
	tabs        []floorTab
	// profile is the floor's own profile dir when it runs as another user
	// (renderhook's Chromium user); removed by close.
	profile string
}

type floorTab struct {
	ctx     context.Context
	cancel  context.CancelFunc
	frameID cdp.FrameID
}

func (f *floor) name() string { return "floor" }

// startFloor launches a Chromium of its own with n tabs, each with the page
// size emulated once. It runs the executable and switches renderhook's
// browser (process rhPID) was started with, read from its command line, so
// the two differ in nothing but their profile directory and debugging port.
func startFloor(ctx context.Context, html string, n, rhPID int) (_ *floor, err error) {
	argv, err := chromiumArgs(rhPID)
	if err != nil {
		return nil, fmt.Errorf("read renderhook's chromium command line: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(argv[0])}
	for _, a := range argv[1:] {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	if !slices.Contains(argv, "--no-sandbox") {
		// chromedp adds --no-sandbox by itself when we are root; renderhook's
		// browser runs sandboxed, so the floor's must too.
		opts = append(opts, chromedp.Flag("no-sandbox", false))
	}
	// The same user as renderhook's Chromium (an unprivileged one when the
	// bench runs as root), with a profile dir that user owns.
	uid, gid, err := processIDs(rhPID)
	if err != nil {
		return nil, fmt.Errorf("read renderhook's chromium user: %w", err)
	}
	var profile string
	var cred *syscall.Credential
	if int(uid) != os.Geteuid() {
		if profile, err = os.MkdirTemp("", "renderhook-bench-floor-"); err != nil {
			return nil, err
		}
		if err := os.Chown(profile, int(uid), int(gid)); err != nil {
			os.RemoveAll(profile)
			return nil, fmt.Errorf("chown floor profile: %w", err)
		}
		cred = &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
		opts = append(opts, chromedp.UserDataDir(profile), chromedp.Env("HOME="+profile, "TMPDIR="+profile))
	}
	opts = append(opts, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
		// As the server does: one process group to kill, and no orphaned
		// browser if the benchmark dies.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	}))
	// chromedp creates the profile directory and removes it on close,
	// unless it is the floor's own (another user's).
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	f := &floor{html: html, allocCancel: allocCancel, cancel: cancel, profile: profile}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	startCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	// The first Run launches the browser.
	if err := waitFor(startCtx, func() error { return chromedp.Run(bctx) }); err != nil {
		return nil, fmt.Errorf("launch floor chromium: %w", err)
	}
	c := chromedp.FromContext(bctx)
	if proc := c.Browser.Process(); proc != nil {
		f.pid = proc.Pid
	}
	bexec := cdp.WithExecutor(startCtx, c.Browser)
	_, f.version, _, _, _, err = browser.GetVersion().Do(bexec)
	if err != nil {
		return nil, fmt.Errorf("floor chromium version: %w", err)
	}
	for i := range n {
		// A window per tab, as renderhook opens them: a tab hidden behind
		// another in the same window produces no frames, and its
		// screenshots stall until it happens to be shown.
		id, err := target.CreateTarget("about:blank").WithNewWindow(true).Do(bexec)
		if err != nil {
			return nil, fmt.Errorf("open floor tab %d: %w", i, err)
		}
		tctx, tcancel := chromedp.NewContext(bctx, chromedp.WithTargetID(id))
		t := floorTab{ctx: tctx, cancel: tcancel}
		err = waitFor(startCtx, func() error {
			return chromedp.Run(tctx, chromedp.ActionFunc(func(ctx context.Context) (err error) {
				t.frameID, err = prepareTab(ctx)
				return err
			}))
		})
		if err != nil {
			tcancel()
			return nil, fmt.Errorf("open floor tab %d: %w", i, err)
		}
		f.tabs = append(f.tabs, t)
	}
	// As renderhook does, close the tab Chromium opened at start-up, so
	// both browsers hold the same number of renderers.
	if err := target.CloseTarget(c.Target.TargetID).Do(bexec); err != nil {
		return nil, fmt.Errorf("close floor start-up tab: %w", err)
	}
	return f, nil
}

// prepareTab emulates the page size in a floor tab and returns its frame,
// the one the HTML is loaded into: what both floors do before a render
// (the warm tabs once, the fresh context each time).
func prepareTab(ctx context.Context) (cdp.FrameID, error) {
	if err := emulation.SetDeviceMetricsOverride(pageWidth, pageHeight, 1, false).Do(ctx); err != nil {
		return "", fmt.Errorf("set viewport: %w", err)
	}
	tree, err := page.GetFrameTree().Do(ctx)
	if err != nil {
		return "", fmt.Errorf("get frame tree: %w", err)
	}
	return tree.Frame.ID, nil
}

// render loads the HTML into the worker's tab and captures it.
func (f *floor) render(ctx context.Context, worker int, fm format) (result, error) {
	t := f.tabs[worker]
	ctx = cdp.WithExecutor(ctx, chromedp.FromContext(t.ctx).Target)
	if err := page.SetDocumentContent(t.frameID, f.html).Do(ctx); err != nil {
		return result{}, fmt.Errorf("floor: set document content: %w", err)
	}
	var data []byte
	var err error
	switch fm {
	case formatPNG:
		data, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).Do(ctx)
	case formatJPEG:
		data, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatJpeg).WithQuality(quality).Do(ctx)
	case formatWebP:
		data, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatWebp).WithQuality(quality).Do(ctx)
	case formatPDF:
		// The same paper as renderhook asks for, so both produce the same
		// document.
		data, _, err = page.PrintToPDF().
			WithPrintBackground(true).
			WithPreferCSSPageSize(true).
			WithPaperWidth(float64(pageWidth) / 96).
			WithPaperHeight(float64(pageHeight) / 96).
			WithMarginTop(0).WithMarginBottom(0).WithMarginLeft(0).WithMarginRight(0).
			Do(ctx)
	default:
		err = fmt.Errorf("unknown format %q", fm)
	}
	if err != nil {
		return result{}, fmt.Errorf("floor: capture %s: %w", fm, err)
	}
	return result{data: data}, nil
}

// close shuts the browser down and waits for it to exit.
func (f *floor) close() {
	for _, t := range f.tabs {
		t.cancel()
	}
	f.cancel() // closes the browser gracefully
	if f.pid > 0 {
		_ = syscall.Kill(-f.pid, syscall.SIGKILL) // renderers and helpers left behind
	}
	f.allocCancel() // waits for the process and removes the profile
	if f.profile != "" {
		os.RemoveAll(f.profile)
	}
}

// processIDs returns the real uid and gid a process runs as.
func processIDs(pid int) (uid, gid uint32, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var haveUID, haveGID bool
	for _, line := range strings.Split(string(raw), "\n") {
		var v uint32
		if _, e := fmt.Sscanf(line, "Uid:\t%d", &v); e == nil {
			uid, haveUID = v, true
		}
		if _, e := fmt.Sscanf(line, "Gid:\t%d", &v); e == nil {
			gid, haveGID = v, true
		}
	}
	if !haveUID || !haveGID {
		return 0, 0, fmt.Errorf("no Uid/Gid in /proc/%d/status", pid)
	}
	return uid, gid, nil
}

// waitFor runs fn and waits for it or for ctx, whichever comes first.
func waitFor(ctx context.Context, fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sameChromiumFlags compares the command lines of two running Chromium
// processes, ignoring their profile directories and debugging ports, to
// confirm that the floor runs the browser exactly as renderhook does.
func sameChromiumFlags(pidA, pidB int) error {
	a, err := chromiumArgs(pidA)
	if err != nil {
		return fmt.Errorf("read renderhook's chromium command line: %w", err)
	}
	b, err := chromiumArgs(pidB)
	if err != nil {
		return fmt.Errorf("read the floor's chromium command line: %w", err)
	}
	if slices.Equal(a, b) {
		return nil
	}
	var onlyA, onlyB []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			onlyA = append(onlyA, s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			onlyB = append(onlyB, s)
		}
	}
	return fmt.Errorf("the floor's chromium runs with other switches than renderhook's: only renderhook %v, only floor %v", onlyA, onlyB)
}

// chromiumArgs returns a process's executable followed by its switches,
// sorted and without repeats, leaving out the per-launch --user-data-dir,
// --remote-debugging-port and egress proxy switches and the start URL. For Debian's /usr/bin/chromium
// wrapper, which execs the real binary, that is the real binary and the
// switches the wrapper added too.
func chromiumArgs(pid int) ([]string, error) {
	if pid <= 0 {
		return nil, errors.New("no process id")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	fields := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	var args []string
	for _, a := range fields[1:] {
		// --proxy-server and --proxy-bypass-list point at the server's
		// egress proxy, a port of its own; the floor loads nothing through it.
		if !strings.HasPrefix(a, "--") || strings.HasPrefix(a, "--user-data-dir=") || strings.HasPrefix(a, "--remote-debugging-port=") ||
			strings.HasPrefix(a, "--proxy-server=") || strings.HasPrefix(a, "--proxy-bypass-list=") {
			continue
		}
		args = append(args, a)
	}
	slices.Sort(args)
	return append([]string{fields[0]}, slices.Compact(args)...), nil
}
