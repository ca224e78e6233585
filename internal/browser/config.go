package browser

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/egress"
)

// Config configures a Pool. The zero value of every field selects its
// documented default (see WithDefaults).
type Config struct {
	// ChromiumPath is the Chromium binary to run; "" means FindChromium().
	ChromiumPath string
	// MaxTabs is the number of warm tabs, which is also the number of renders
	// that run at the same time. Default DefaultMaxTabs.
	MaxTabs int
	// SpaceMaxConcurrent is how many renders (template and URL) of one
	// space (Request.SpaceID, URLRequest.SpaceID) may run at once while
	// renders of other spaces run or wait; alone on the pool a space may
	// use every tab. Renders waiting for a tab are served round-robin
	// across spaces. Default MaxTabs/2, at least 1.
	SpaceMaxConcurrent int
	// QueueSize is how many renders may wait for a tab beyond MaxTabs; when
	// that many already wait, Render fails at once with ErrQueueFull.
	// Default QueuePerTab × MaxTabs.
	QueueSize int
	// RecycleAfter is the number of renders after which the browser is
	// replaced by a fresh one, to bound memory growth and leaked state.
	// Default DefaultRecycleAfter.
	RecycleAfter int
	// RenderTimeout bounds one render, from loading the HTML to the captured
	// bytes. Default DefaultRenderTimeout.
	RenderTimeout time.Duration
	// StartTimeout bounds launching a browser and opening its tabs, and how
	// long a render waits for a crashed browser to come back. Default
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives the pool's log lines. Default slog.Default().
	Logger *slog.Logger
	// Egress guards every connection a page makes. A URL or HTML render
	// (RenderURL) gets a proxy of its own that dials through it; template
	// renders (Render) share one, the browser's default (--proxy-server),
	// so an image URL in a template value cannot reach what the guard
	// refuses either. Nil refuses every RenderURL with ErrBlockedURL, so
	// client pages never load unguarded, and leaves template renders
	// unproxied (tests of the pool alone).
	Egress *egress.Guard
	// URLSpares is how many fresh browser contexts are kept made ahead of
	// URL renders (see spare.go); each holds a renderer process. Default
	// DefaultURLSpares; negative means none.
	URLSpares int
	// ChromiumUser is the user Chromium runs as when renderhook runs as
	// root: a user name, a uid, or uid:gid (no supplementary groups either
	// way). Chromium refuses to sandbox as root, and an unprivileged uid
	// cannot read the data directory. Default: DefaultChromiumUser where it
	// exists, else nobody (else uid and gid 65534), so a binary started by
	// hand as root needs no set-up. "root" runs it as root, which turns the
	// sandbox off. Set only when renderhook runs as root; otherwise Chromium
	// runs as renderhook's own user.
	ChromiumUser string
	// ExtraFlags are appended to the Chromium command line, each as
	// "--name" or "--name=value"; a name given here overrides a built-in flag
	// of the same name.
	ExtraFlags []string

	// sandbox is shared by every launch of one pool (New makes it): the
	// first successful launch decides whether Chromium can be sandboxed
	// here (sandbox.go).
	sandbox *sandboxState
	// tabProxy is the template proxy's URL, set by Pool.Start, which every
	// warm tab's browser context is created with.
	tabProxy string
}

// maxDimension is the largest accepted page width or height in CSS pixels; a
// 10000x10000 RGBA screenshot is already 400 MB inside Chromium.
const maxDimension = 10000

// Defaults of Config, stated once: WithDefaults applies them, and the CLI's
// flags and help texts read them from there.
const (
	// DefaultMaxTabs is Config.MaxTabs's default.
	DefaultMaxTabs = 4
	// QueuePerTab is how many renders may wait per tab by default:
	// Config.QueueSize defaults to QueuePerTab × MaxTabs.
	QueuePerTab = 16
	// DefaultRecycleAfter is Config.RecycleAfter's default.
	DefaultRecycleAfter = 500
	// DefaultRenderTimeout is Config.RenderTimeout's default.
	DefaultRenderTimeout = 30 * time.Second
	// DefaultStartTimeout is Config.StartTimeout's default.
	DefaultStartTimeout = 30 * time.Second
	// DefaultURLSpares is Config.URLSpares's default.
	DefaultURLSpares = 2
)

// WithDefaults returns c with every zero field set to its default:
// MaxTabs DefaultMaxTabs, QueueSize QueuePerTab×MaxTabs,
// SpaceMaxConcurrent MaxTabs/2 (at least 1), RecycleAfter
// DefaultRecycleAfter, RenderTimeout DefaultRenderTimeout, StartTimeout
// DefaultStartTimeout, URLSpares DefaultURLSpares (negative stays, meaning
// none), Logger slog.Default(). ChromiumPath ("" means FindChromium, at New)
// and ChromiumUser ("" means DefaultChromiumUser or nobody, at launch) are
// left as they are. Derived defaults follow the fields they derive from, so
// Config{MaxTabs: 8}.WithDefaults().QueueSize is 128. Applying it twice changes
// nothing.
func (c Config) WithDefaults() Config {
	c.MaxTabs = cmp.Or(c.MaxTabs, DefaultMaxTabs)
	c.QueueSize = cmp.Or(c.QueueSize, QueuePerTab*c.MaxTabs)
	c.SpaceMaxConcurrent = cmp.Or(c.SpaceMaxConcurrent, max(c.MaxTabs/2, 1))
	c.RecycleAfter = cmp.Or(c.RecycleAfter, DefaultRecycleAfter)
	c.RenderTimeout = cmp.Or(c.RenderTimeout, DefaultRenderTimeout)
	c.StartTimeout = cmp.Or(c.StartTimeout, DefaultStartTimeout)
	c.URLSpares = cmp.Or(c.URLSpares, DefaultURLSpares)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.MaxTabs < 1 {
		errs = append(errs, fmt.Errorf("MaxTabs must be at least 1, got %d", c.MaxTabs))
	}
	if c.SpaceMaxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("SpaceMaxConcurrent must be at least 1, got %d", c.SpaceMaxConcurrent))
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("QueueSize must not be negative, got %d", c.QueueSize))
	}
	if c.RecycleAfter < 1 {
		errs = append(errs, fmt.Errorf("RecycleAfter must be at least 1, got %d", c.RecycleAfter))
	}
	if c.RenderTimeout <= 0 {
		errs = append(errs, fmt.Errorf("RenderTimeout must be positive, got %s", c.RenderTimeout))
	}
	if c.StartTimeout <= 0 {
		errs = append(errs, fmt.Errorf("StartTimeout must be positive, got %s", c.StartTimeout))
	}
	if _, err := resolveChromiumUser(c.ChromiumUser, os.Geteuid()); err != nil {
		errs = append(errs, err)
	}
	for _, f := range c.ExtraFlags {
		if !strings.HasPrefix(f, "--") || len(f) < 3 {
			errs = append(errs, fmt.Errorf("ExtraFlags entry %q must look like --name or --name=value", f))
		}
	}
	return errors.Join(errs...)
}
