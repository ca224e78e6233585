package browser

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/chromedp/chromedp"
)

// chromiumFlag is one Chromium command-line switch; value is true for a bare
// "--name" or a string for "--name=value".
type chromiumFlag struct {
	name  string
	value any
}

// baseFlags are the switches every browser is launched with. The network
// around the service is closed, so anything that phones home is turned off:
// it would only waste time on connection attempts.
var baseFlags = []chromiumFlag{
	// There is no display server; the headless mode renders like desktop Chrome.
	{"headless", true},
	// Servers have no GPU; render with the software rasterizer from the start
	// instead of probing for one.
	{"disable-gpu", true},
	// The sandbox stays on: renderers run client pages from the Internet, and
	// the sandbox (user/PID/network namespaces and seccomp-BPF) is what keeps
	// a renderer exploit from the rest of the machine. Running as root is no
	// reason to turn it off: the pool then starts Chromium as an unprivileged
	// user (Config.ChromiumUser), since Chromium will not sandbox as root.
	// The flag is listed as false, not left out, because chromedp adds
	// --no-sandbox by itself whenever our own uid is 0 (it cannot know
	// Chromium runs as another user) unless the flag is set either way. The
	// first launch turns it on only where the sandbox cannot work: the
	// kernel has no unprivileged user namespaces, or Chromium fails to start
	// naming its sandbox; or when ExtraFlags ask for it. It then warns, and
	// Pool.Sandboxed and /healthz say so (see sandbox.go, launch).
	{"no-sandbox", false},
	// A throwaway profile must not run first-run tasks or show welcome pages.
	{"no-first-run", true},
	// Nor ask to become the default browser.
	{"no-default-browser-check", true},
	// No Google account: stop sync from trying to reach its servers.
	{"disable-sync", true},
	// Stops update checks, metrics, safe-browsing list fetches and other
	// background requests to Google.
	{"disable-background-networking", true},
	// Stops the component updater downloading Widevine, CRLSets and the like.
	{"disable-component-update", true},
	// QUIC probing is another source of outbound traffic; renders need none.
	{"disable-quic", true},
	// Keep crash dumps and the crash reporter off the disk and network.
	{"disable-breakpad", true},
	// Reporting is off as well; only local metrics bookkeeping remains.
	{"metrics-recording-only", true},
	// Translate, MediaRouter, OptimizationHints and DialMediaRouteProvider
	// fetch from Google or open UI nobody sees. LocalNetworkAccessChecks
	// treats our about:blank documents as public and blocks their loopback and
	// private-network subresources, but only once a tab has been navigated
	// (reset), not in a fresh tab; renders must not depend on tab history, and
	// deciding what a render may reach is the egress policy's job.
	{"disable-features", "Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider,LocalNetworkAccessChecks"},
	// WebRTC sends STUN/media over UDP straight from the browser, around the
	// proxy that guards client pages' traffic (see RenderURL), so a page
	// could reach any address with it. This policy allows WebRTC only
	// through the proxy (TCP), where the egress guard sees it. Each binary
	// reads a different switch, as TestRenderURLWebRTC showed: the full
	// chromium's headless mode only webrtc-ip-handling-policy, the headless
	// shell only force-webrtc-ip-handling-policy. Both are set.
	{"webrtc-ip-handling-policy", "disable_non_proxied_udp"},
	{"force-webrtc-ip-handling-policy", "disable_non_proxied_udp"},
	// No extensions are needed, and loading them costs start-up time.
	{"disable-extensions", true},
	// Screenshots are of the page only, never of scrollbars.
	{"hide-scrollbars", true},
	// Pages may play media; nobody listens.
	{"mute-audio", true},
	// Colours in screenshots must be the sRGB values the HTML asked for, not
	// converted through whatever display profile the host reports.
	{"force-color-profile", "srgb"},
	// All warm tabs are "background" tabs; they must render at full speed and
	// run their timers unthrottled.
	{"disable-renderer-backgrounding", true},
	{"disable-background-timer-throttling", true},
	{"disable-backgrounding-occluded-windows", true},
	// Docker's default /dev/shm is 64 MB, too small for large screenshots;
	// use the temp dir for shared memory instead.
	{"disable-dev-shm-usage", true},
	// We drive tabs hard over CDP; don't let IPC flood protection throttle us.
	{"disable-ipc-flooding-protection", true},
	// A slow page is handled by RenderTimeout, not by a hang dialog.
	{"disable-hang-monitor", true},
	// Don't look for a desktop keyring (D-Bus) to store passwords.
	{"password-store", "basic"},
	{"use-mock-keychain", true},
}

// listFlags are switches whose value is a comma-separated list; an extra flag
// adds to the built-in list instead of replacing it.
var listFlags = map[string]bool{"disable-features": true, "enable-features": true}

// extraNoSandbox reports whether the extra flags turn the sandbox off.
func extraNoSandbox(extra []string) bool {
	for _, f := range extra {
		// Chromium reads the switch's presence, whatever its value.
		if name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "="); name == "no-sandbox" {
			return true
		}
	}
	return false
}

// allocatorOptions builds the chromedp options for one launch: the binary,
// baseFlags, --no-sandbox when noSandbox (launch found the sandbox cannot
// work here, see sandbox.go), a fresh profile in dataDir, then extra flags. An extra flag overrides a base flag
// of the same name, except list flags, which merge.
func allocatorOptions(path, dataDir string, extra []string, noSandbox bool) []chromedp.ExecAllocatorOption {
	values := make(map[string]any, len(baseFlags)+len(extra))
	var order []string
	set := func(name string, value any) {
		if _, ok := values[name]; !ok {
			order = append(order, name)
		}
		values[name] = value
	}
	for _, f := range baseFlags {
		set(f.name, f.value)
	}
	if noSandbox {
		set("no-sandbox", true)
	}
	for _, f := range extra {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		switch {
		case !hasValue:
			set(name, true)
		case listFlags[name]:
			if prev, ok := values[name].(string); ok && prev != "" {
				value = prev + "," + value
			}
			set(name, value)
		default:
			set(name, value)
		}
	}

	opts := make([]chromedp.ExecAllocatorOption, 0, len(order)+2)
	opts = append(opts, chromedp.ExecPath(path))
	for _, name := range order {
		opts = append(opts, chromedp.Flag(name, values[name]))
	}
	// A fresh profile per browser, so no cookies, cache or storage survive a
	// recycle or leak between launches; removed when the browser is closed.
	opts = append(opts, chromedp.UserDataDir(dataDir))
	return opts
}

// headlessShellPaths are where Debian's chromium-headless-shell package puts
// its binary. The headless shell (Chromium's "old headless", the build
// Puppeteer and Playwright use for headless runs) has none of the desktop
// browser's per-profile services, so a fresh incognito context costs a few
// milliseconds instead of a hundred or more of browser-process CPU: a URL
// render in one took 115 ms against 330–410 ms with the full chromium
// binary on the same machine (BenchmarkRenderURLHTML), while warm-tab
// renders were the same. The binary is used directly: /usr/bin's wrapper
// script forks instead of exec'ing it.
var headlessShellPaths = []string{"/usr/lib/chromium/chromium-headless-shell"}

// chromiumNames are the executable names FindChromium looks up in $PATH, in
// order of preference.
var chromiumNames = []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the path of a Chromium binary: Debian's
// chromium-headless-shell if installed, else the first of chromium-headless-shell,
// chromium, chromium-browser, google-chrome and google-chrome-stable found in
// $PATH, else /usr/bin/chromium if it exists.
func FindChromium() (string, error) {
	for _, p := range headlessShellPaths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("find chromium: none of %s in $PATH and no /usr/bin/chromium", strings.Join(chromiumNames, ", "))
}
