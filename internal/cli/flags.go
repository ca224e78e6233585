package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/takumi"
)

// envName derives a flag's environment variable: --max-renders reads
// RENDERHOOK_MAX_RENDERS.
func envName(flagName string) string {
	return "RENDERHOOK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable, or from the file named by the
// variable with a _FILE suffix (for secrets mounted as files).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		f.Usage += " [$" + envName(f.Name) + "]"
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		name := envName(f.Name)
		val, ok := os.LookupEnv(name)
		if !ok {
			path, ok := os.LookupEnv(name + "_FILE")
			if !ok {
				return
			}
			b, err := os.ReadFile(path) //nolint:gosec // the file the operator named in NAME_FILE
			if err != nil {
				firstErr = fmt.Errorf("read %s_FILE: %w", name, err)
				return
			}
			val = strings.TrimSpace(string(b))
		}
		if err := f.Value.Set(val); err != nil {
			firstErr = fmt.Errorf("invalid %s=%q: %w", name, val, err)
		}
	})
	if firstErr == nil && fs.NArg() > 0 {
		firstErr = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return firstErr
}

// serveFlags are the serve flags converted after parsing; the others are
// bound straight to the server.Config.
type serveFlags struct {
	db          dbFlags
	role        string
	schedule    string
	egressAllow string
	logLevel    string
}

// registerServeFlags binds serve's flags to cfg. Each default, and each
// number in a help text, comes from the component that applies it (its
// Config's WithDefaults or Default* constants), so flags and help cannot
// drift from what the server does with a zero value.
func registerServeFlags(fs *flag.FlagSet, cfg *server.Config) *serveFlags {
	f := &serveFlags{}
	f.db.register(fs)
	def := server.Config{}.WithDefaults()
	fs.StringVar(&cfg.Addr, "addr", def.Addr, "listen address")
	fs.StringVar(&f.role, "role", string(def.Role), "what this node does: all (API and jobs), api (API and sync renders; jobs left to workers) or worker (async renders, callbacks, webhooks; serves only /healthz); api and worker need --database postgres://…")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "public base URL of this server, for file URLs (default http://<addr>)")
	registerStorageFlags(fs, cfg)
	registerBrowserFlags(fs, cfg)
	registerHTTPFlags(fs, cfg, def)
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "time limit of a graceful shutdown")
	fs.DurationVar(&cfg.Queue.JobTimeout, "job-timeout", queue.DefaultJobTimeout, "time limit of one background job attempt")
	fs.DurationVar(&cfg.Queue.RescueAfter, "job-rescue-after", 0, fmt.Sprintf("a job running longer than this (e.g. held by a crashed process) is handed to another worker; at least (and by default) the longest job limit + %s: 2 x render-timeout + %s for async renders (%s by default)",
		shortDuration(server.RescueMargin), shortDuration(server.AsyncRenderMargin+server.RescueMargin), shortDuration(def.MinRescueAfter())))
	fs.DurationVar(&cfg.LogRetention, "log-retention", def.LogRetention, "how long request logs and what requests left behind (render options, spooled bytes, webhook deliveries) are kept")
	fs.DurationVar(&cfg.SyncRedirectAfter, "sync-redirect-after", api.Config{}.WithDefaults().SyncRedirectAfter, "how long POST /v1/render/sync waits for its render before answering 307 to the render's status URL, the render going on as an async one (negative: wait for it)")
	fs.DurationVar(&cfg.RenderSecretOverlap, "render-secret-overlap", capability.DefaultOverlap, "how long a rotated-out render secret or GET-render token keeps working")
	registerWebhookFlags(fs, cfg, f)
	fs.StringVar(&cfg.NodeID, "node-id", "", "this node's stable identity on PostgreSQL, unique among nodes and kept across restarts, so a restarted node resumes its own interrupted jobs at once (default: generated once and kept in <data-dir>/node-id)")
	fs.StringVar(&f.egressAllow, "egress-allow", "", "CIDR ranges outbound requests may reach although private (e.g. 10.0.0.0/8,127.0.0.0/8)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "where Prometheus metrics are served: empty for /metrics on --addr, host:port for a listener of its own, "+server.MetricsOff+" for none")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return f
}

// registerStorageFlags binds where rendered files are kept.
func registerStorageFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.Storage, "storage", "", "where rendered files are kept: file://DIR or s3://BUCKET?endpoint=URL&region=R&use_path_style=true, keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (default file://<data-dir>/files)")
	fs.StringVar(&cfg.StoragePublicURL, "storage-public-url", "", "base URL of a publicly readable S3 bucket, for file URLs (default: presigned URLs)")
	fs.DurationVar(&cfg.StorageURLExpiry, "storage-url-expiry", blob.DefaultURLExpiry, "how long presigned S3 file URLs work (at most "+shortDuration(blob.MaxURLExpiry)+")")
	fs.BoolVar(&cfg.StorageCreateBucket, "storage-create-bucket", false, "create the S3 bucket when it does not exist (otherwise a missing bucket stops startup)")
	fs.StringVar(&cfg.StorageCredentialsKey, "storage-credentials-key", "", "AES-256 keys (64 hex digits each, e.g. openssl rand -hex 32), comma-separated, sealing the spaces' own S3 secret keys: the first seals, all open; to rotate, put a new key first, restart, run `renderhook space storage reseal`, then drop the old key (default: none, and spaces cannot keep S3 secrets)")
}

// registerBrowserFlags binds the browser pool's flags; their defaults are
// browser.Config's (WithDefaults).
func registerBrowserFlags(fs *flag.FlagSet, cfg *server.Config) {
	def := browser.Config{}.WithDefaults()
	fs.StringVar(&cfg.Browser.ChromiumPath, "chromium", "", "path to the Chromium binary (default: found on PATH)")
	fs.IntVar(&cfg.Browser.MaxTabs, "max-renders", def.MaxTabs, "concurrent renders (warm browser tabs)")
	fs.IntVar(&cfg.Browser.SpaceMaxConcurrent, "space-max-concurrent-renders", 0, "renders one space may run at once while other spaces' renders run or wait (default max-renders/2, at least 1)")
	fs.IntVar(&cfg.Browser.QueueSize, "queue-size", 0, fmt.Sprintf("renders that may wait for a tab before 503 (default %d x max-renders)", browser.QueuePerTab))
	fs.IntVar(&cfg.Browser.RecycleAfter, "recycle-after", def.RecycleAfter, "restart the browser after this many renders")
	fs.DurationVar(&cfg.Browser.RenderTimeout, "render-timeout", def.RenderTimeout, "time limit of one render")
	fs.IntVar(&cfg.Template.MaxBytes, "max-template-bytes", render.DefaultMaxTemplateBytes, "most HTML the templates of one render (all its pages) may produce; a render past it answers 422 TemplateTooLarge")
	fs.IntVar(&cfg.Browser.URLSpares, "url-spares", def.URLSpares, "fresh browser contexts kept ready for URL/HTML (v1) renders, each a renderer process; 0 for none")
	registerTakumiFlags(fs, cfg)
	fs.StringVar(&cfg.Browser.ChromiumUser, "chromium-user", "", "user Chromium runs as when renderhook runs as root, so its sandbox can start and it cannot read --data-dir: a name, uid or uid:gid (default "+browser.DefaultChromiumUser+" where it exists, else nobody); set only when running as root")
}

// registerTakumiFlags binds the browserless renderer's (renderType takumi
// and auto).
func registerTakumiFlags(fs *flag.FlagSet, cfg *server.Config) {
	def := takumi.Config{}.WithDefaults()
	fs.BoolVar(&cfg.NoTakumi, "no-takumi", false, "turn the takumi renderer off: renderType takumi and auto render with Chromium (it is off anyway without node and scripts/install-deps.sh)")
	fs.IntVar(&cfg.Takumi.MaxConcurrent, "takumi-max-renders", def.MaxConcurrent, "concurrent takumi renders")
	fs.DurationVar(&cfg.Takumi.Timeout, "takumi-timeout", def.Timeout, "time limit of one takumi render, its images' fetching included")
}

// registerHTTPFlags binds the client connection bounds; def is the
// server's defaults.
func registerHTTPFlags(fs *flag.FlagSet, cfg *server.Config, def server.Config) {
	fs.DurationVar(&cfg.HTTP.ReadTimeout, "http-read-timeout", def.HTTP.ReadTimeout, "time limit of reading one request, headers and body")
	fs.DurationVar(&cfg.HTTP.WriteTimeout, "http-write-timeout", 0, fmt.Sprintf("time limit of one request from its headers to its answer, render included; must exceed the longest render, the larger of --render-timeout and the v1 timeout option's %s (default http-read-timeout + that + %s: %s); a large download is extended while it moves at --http-min-body-rate",
		shortDuration(render.MaxV1Timeout), shortDuration(server.WriteMargin), shortDuration(def.HTTP.WriteTimeout)))
	fs.DurationVar(&cfg.HTTP.IdleTimeout, "http-idle-timeout", def.HTTP.IdleTimeout, "how long an idle keep-alive connection stays open")
	fs.Int64Var(&cfg.HTTP.MinBodyRate, "http-min-body-rate", def.HTTP.MinBodyRate, "bytes per second a request body must arrive at, and an answer be taken at, after a "+shortDuration(def.HTTP.BodyGrace)+" grace; slower connections are cut (-1 turns it off)")
	fs.IntVar(&cfg.HTTP.MaxHeaderBytes, "http-max-header-bytes", def.HTTP.MaxHeaderBytes, "largest request line and headers, in bytes")
}

// registerWebhookFlags binds the delivery flags; the retry schedule is
// parsed by apply.
func registerWebhookFlags(fs *flag.FlagSet, cfg *server.Config, f *serveFlags) {
	def := delivery.Config{}.WithDefaults()
	fs.StringVar(&cfg.Webhooks.SignatureHeader, "webhook-signature-header", def.SignatureHeader, "header carrying the t=…,sha256=… signature (X-Urlbox-Signature for Urlbox receivers)")
	fs.StringVar(&f.schedule, "webhook-retry-schedule", "", "delays before each delivery attempt, e.g. 0s,5s,5m (default "+formatSchedule(def.Schedule)+")")
	fs.DurationVar(&cfg.Webhooks.DisableAfter, "webhook-disable-after", def.DisableAfter, "disable an endpoint whose deliveries have all failed for this long")
	fs.IntVar(&cfg.Webhooks.Workers, "webhook-workers", def.Workers, "webhook deliveries one node sends at once (their own job queue, apart from renders)")
	fs.IntVar(&cfg.Webhooks.MaxInFlightPerEndpoint, "webhook-max-in-flight-per-endpoint", 0, fmt.Sprintf("deliveries one node POSTs at once to one endpoint (or webhook_url host:port); more wait briefly, then are snoozed without spending an attempt (default max(%d, webhook-workers/%d): %d)",
		delivery.MaxInFlightFloor, delivery.MaxInFlightShare, def.MaxInFlightPerEndpoint))
	fs.IntVar(&cfg.Webhooks.BreakAfter, "webhook-break-after", def.BreakAfter, "consecutive timeouts, connection errors, 429s or 5xx after which an endpoint's deliveries are parked until a probe succeeds")
	fs.DurationVar(&cfg.Webhooks.BreakerCooldown, "webhook-breaker-cooldown", def.BreakerCooldown, "how long a broken endpoint's deliveries are parked before the first probe (doubled per failed probe, up to "+shortDuration(delivery.MaxBreakerCooldown)+")")
}

// apply converts the parsed flags that are not bound to cfg directly, and
// sets cfg's logger, which writes to stderr.
func (f *serveFlags) apply(cfg *server.Config, stderr io.Writer) error {
	if f.schedule != "" {
		sch, err := delivery.ParseSchedule(f.schedule)
		if err != nil {
			return fmt.Errorf("--webhook-retry-schedule: %w", err)
		}
		cfg.Webhooks.Schedule = sch
	}
	allow, err := egress.ParseAllowList(f.egressAllow)
	if err != nil {
		return fmt.Errorf("--egress-allow: %w", err)
	}
	cfg.Egress.Allow = allow
	if cfg.Browser.URLSpares <= 0 {
		cfg.Browser.URLSpares = -1 // the pool's "none"; its zero value means the default
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level: %w", err)
	}
	cfg.DataDir, cfg.Database, cfg.Role = f.db.dataDir, f.db.database, server.Role(f.role)
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	return nil
}

// shortDuration is d as help texts write it: without zero minutes or
// seconds (168h, 5m, 1m15s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatSchedule writes a retry schedule as --webhook-retry-schedule takes it.
func formatSchedule(sch []time.Duration) string {
	parts := make([]string, len(sch))
	for i, d := range sch {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}
