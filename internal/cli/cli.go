// Package cli is renderhook's command line: it parses subcommands and
// flags (each with a RENDERHOOK_* environment variable) and runs them.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/space"
	"github.com/renderhook/renderhook/internal/store"
)

const usage = `renderhook renders templates and HTML to PNG, JPEG, WebP and PDF with headless Chromium.

Usage:
  renderhook serve        [flags]   start the HTTP server
  renderhook migrate      [flags]   apply database migrations
  renderhook space create --name N [--credit-limit N] [--json]
  renderhook space list   [--json]
  renderhook space set-rate-limit --space ID --per-minute N   limit render requests (0: none)
  renderhook space rotate-render-secret|rotate-get-render-token --space ID [--render-secret-overlap 24h | --revoke-previous] [--json]
  renderhook token create --space ID [--json]
  renderhook link sign    --page ID [--query Q] [--expires-in D] [--public-url URL]   print a signed page-render link
  renderhook quickstart   [flags]   create a first space, token and demo page if none exist; print a curl line
  renderhook webhook      verify|sign [flags] < body   check or make a webhook signature
  renderhook version

Every flag can also be set as RENDERHOOK_<FLAG>, e.g. --max-renders as RENDERHOOK_MAX_RENDERS.
Run "renderhook <command> -h" for a command's flags.
`

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx := context.Background()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout)
	case "space":
		err = spaceCmd(ctx, args[1:], stdout)
	case "token":
		err = tokenCmd(ctx, args[1:], stdout)
	case "link":
		err = linkCmd(ctx, args[1:], stdout)
	case "quickstart":
		err = quickstart(ctx, args[1:], stdout)
	case "webhook":
		err = webhookCmd(ctx, args[1:], stdin, stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "renderhook", server.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "renderhook: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "renderhook:", err)
		return 1
	}
	return 0
}

// dbFlags are the flags every command that touches the database shares.
type dbFlags struct {
	dataDir  string
	database string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./data", "directory for the SQLite database and stored files")
	fs.StringVar(&d.database, "database", "", "database URL (empty: SQLite in --data-dir)")
}

// subcommand checks that args name the one subcommand sub of cmd (else
// usage is the error) and makes its flag set, with the database flags.
func subcommand(args []string, cmd, sub, usage string) (*flag.FlagSet, *dbFlags, error) {
	if len(args) == 0 || args[0] != sub {
		return nil, nil, errors.New(usage)
	}
	fs := flag.NewFlagSet(cmd+" "+sub, flag.ContinueOnError)
	db := &dbFlags{}
	db.register(fs)
	return fs, db, nil
}

func (d *dbFlags) open(ctx context.Context) (store.Store, error) {
	st, err := server.OpenStore(d.dataDir, d.database)
	if err != nil {
		return nil, err
	}
	if err := server.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbFlags
	db.register(fs)
	var cfg server.Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address")
	role := fs.String("role", "all", "what this node does: all (API and jobs), api (API and sync renders; jobs left to workers) or worker (async renders, callbacks, webhooks; serves only /healthz); api and worker need --database postgres://…")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "public base URL of this server, for file URLs (default http://<addr>)")
	fs.StringVar(&cfg.Storage, "storage", "", "where rendered files are kept: file://DIR or s3://BUCKET?endpoint=URL&region=R&use_path_style=true, keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (default file://<data-dir>/files)")
	fs.StringVar(&cfg.StoragePublicURL, "storage-public-url", "", "base URL of a publicly readable S3 bucket, for file URLs (default: presigned URLs)")
	fs.DurationVar(&cfg.StorageURLExpiry, "storage-url-expiry", time.Hour, "how long presigned S3 file URLs work (at most 168h)")
	fs.BoolVar(&cfg.StorageCreateBucket, "storage-create-bucket", false, "create the S3 bucket when it does not exist (otherwise a missing bucket stops startup)")
	fs.StringVar(&cfg.Browser.ChromiumPath, "chromium", "", "path to the Chromium binary (default: found on PATH)")
	fs.IntVar(&cfg.Browser.MaxTabs, "max-renders", 4, "concurrent renders (warm browser tabs)")
	fs.IntVar(&cfg.Browser.SpaceMaxConcurrent, "space-max-concurrent-renders", 0, "renders one space may run at once while other spaces' renders run or wait (default max-renders/2, at least 1)")
	fs.IntVar(&cfg.Browser.QueueSize, "queue-size", 0, "renders that may wait for a tab before 503 (default 16 x max-renders)")
	fs.IntVar(&cfg.Browser.RecycleAfter, "recycle-after", 500, "restart the browser after this many renders")
	fs.DurationVar(&cfg.Browser.RenderTimeout, "render-timeout", 30*time.Second, "time limit of one render")
	fs.IntVar(&cfg.Template.MaxBytes, "max-template-bytes", render.DefaultMaxTemplateBytes, "most HTML the templates of one render (all its pages) may produce; a render past it answers 422 TemplateTooLarge")
	fs.IntVar(&cfg.Browser.URLSpares, "url-spares", 2, "fresh browser contexts kept ready for URL/HTML (v1) renders, each a renderer process; 0 for none")
	fs.StringVar(&cfg.Browser.ChromiumUser, "chromium-user", "", "user Chromium runs as when renderhook runs as root, so its sandbox can start and it cannot read --data-dir: a name, uid or uid:gid (default "+browser.DefaultChromiumUser+" where it exists, else nobody); set only when running as root")
	fs.DurationVar(&cfg.HTTP.ReadTimeout, "http-read-timeout", 0, "time limit of reading one request, headers and body (default 60s)")
	fs.DurationVar(&cfg.HTTP.WriteTimeout, "http-write-timeout", 0, "time limit of one request from its headers to its answer, render included; must exceed the longest render, the larger of --render-timeout and the v1 timeout option's 120s (default http-read-timeout + that + 30s: 210s); a large download is extended while it moves at --http-min-body-rate")
	fs.DurationVar(&cfg.HTTP.IdleTimeout, "http-idle-timeout", 0, "how long an idle keep-alive connection stays open (default 120s)")
	fs.Int64Var(&cfg.HTTP.MinBodyRate, "http-min-body-rate", 0, "bytes per second a request body must arrive at, and an answer be taken at, after a 5s grace; slower connections are cut (default 1024; -1 turns it off)")
	fs.IntVar(&cfg.HTTP.MaxHeaderBytes, "http-max-header-bytes", 0, "largest request line and headers, in bytes (default 131072)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time limit of a graceful shutdown")
	fs.DurationVar(&cfg.Queue.JobTimeout, "job-timeout", queue.DefaultJobTimeout, "time limit of one background job attempt")
	fs.DurationVar(&cfg.Queue.RescueAfter, "job-rescue-after", 0, "a job running longer than this (e.g. held by a crashed process) is handed to another worker; at least (and by default) the longest job limit + 5s: 2 x render-timeout + 15s for async renders (75s by default)")
	fs.DurationVar(&cfg.LogRetention, "log-retention", 30*24*time.Hour, "how long request logs and what requests left behind (render options, spooled bytes, webhook deliveries) are kept")
	fs.DurationVar(&cfg.RenderSecretOverlap, "render-secret-overlap", capability.DefaultOverlap, "how long a rotated-out render secret or GET-render token keeps working")
	fs.StringVar(&cfg.Webhooks.SignatureHeader, "webhook-signature-header", "X-Renderhook-Signature", "header carrying the t=…,sha256=… signature (X-Urlbox-Signature for Urlbox receivers)")
	schedule := fs.String("webhook-retry-schedule", "", "delays before each delivery attempt, e.g. 0s,5s,5m (default 0s,5s,5m,30m,2h,5h,10h,14h,20h,24h)")
	fs.DurationVar(&cfg.Webhooks.DisableAfter, "webhook-disable-after", 5*24*time.Hour, "disable an endpoint whose deliveries have all failed for this long")
	fs.IntVar(&cfg.Webhooks.Workers, "webhook-workers", delivery.DefaultWorkers, "webhook deliveries one node sends at once (their own job queue, apart from renders)")
	fs.IntVar(&cfg.Webhooks.MaxInFlightPerEndpoint, "webhook-max-in-flight-per-endpoint", 0, "deliveries one node POSTs at once to one endpoint (or webhook_url host:port); more wait briefly, then are snoozed without spending an attempt (default max(4, webhook-workers/20))")
	fs.IntVar(&cfg.Webhooks.BreakAfter, "webhook-break-after", 5, "consecutive timeouts, connection errors, 429s or 5xx after which an endpoint's deliveries are parked until a probe succeeds")
	fs.DurationVar(&cfg.Webhooks.BreakerCooldown, "webhook-breaker-cooldown", 5*time.Second, "how long a broken endpoint's deliveries are parked before the first probe (doubled per failed probe, up to 5m)")
	fs.StringVar(&cfg.NodeID, "node-id", "", "this node's stable identity on PostgreSQL, unique among nodes and kept across restarts, so a restarted node resumes its own interrupted jobs at once (default: generated once and kept in <data-dir>/node-id)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "where Prometheus metrics are served: empty for /metrics on --addr, host:port for a listener of its own, off for none")
	egressAllow := fs.String("egress-allow", "", "CIDR ranges outbound requests may reach although private (e.g. 10.0.0.0/8,127.0.0.0/8)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *schedule != "" {
		sch, err := delivery.ParseSchedule(*schedule)
		if err != nil {
			return fmt.Errorf("--webhook-retry-schedule: %w", err)
		}
		cfg.Webhooks.Schedule = sch
	}
	allow, err := egress.ParseAllowList(*egressAllow)
	if err != nil {
		return fmt.Errorf("--egress-allow: %w", err)
	}
	cfg.Egress.Allow = allow
	if cfg.Browser.URLSpares <= 0 {
		cfg.Browser.URLSpares = -1 // the pool's "none"; its zero value means the default
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level: %w", err)
	}
	cfg.DataDir, cfg.Database, cfg.Role = db.dataDir, db.database, server.Role(*role)
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx, nil); err != nil {
		_ = srv.Stop(context.Background()) // the start error is the one to report
		return err
	}
	cfg.Logger.Info("renderhook listening", "addr", "http://"+srv.Addr(), "role", srv.Role(), "version", server.Version,
		"browser", srv.Pool.Version(), "max_renders", cfg.Browser.MaxTabs,
		"job_rescue_after", srv.Queue.RescueAfter(), "takeover_bound", srv.TakeoverBound())
	<-ctx.Done()
	// A second signal ends the process at once.
	stop()
	cfg.Logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	if err := srv.Stop(context.Background()); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	cfg.Logger.Info("stopped")
	return nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// linkCmd prints a signed GET render link of a page (capability.PageLink):
// the query is fixed by the signature, bound to that page, and, with
// --expires-in, stops working then.
func linkCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db, err := subcommand(args, "link", "sign", "usage: renderhook link sign --page ID [--query 'tweak:title=Hi'] [--expires-in 24h] [--public-url URL]")
	if err != nil {
		return err
	}
	pageID := fs.String("page", "", "page id")
	query := fs.String("query", "", "the link's query, URL-encoded as it will be sent (e.g. tweak:title=Hi&format=webp)")
	expiresIn := fs.Duration("expires-in", 0, "the link stops working after this long (default: never, until the render secret is rotated)")
	publicURL := fs.String("public-url", "", "base URL to print the link under (default: print the path only)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *pageID == "" {
		return errors.New("link sign: --page is required")
	}
	if *expiresIn < 0 {
		return errors.New("link sign: --expires-in must be positive")
	}
	if _, err := url.ParseQuery(*query); err != nil {
		return fmt.Errorf("link sign: --query is not a URL query: %w", err)
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.FindPage(ctx, *pageID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("link sign: no page %s", *pageID)
	}
	if err != nil {
		return err
	}
	sp, err := st.GetSpace(ctx, p.SpaceID)
	if err != nil {
		return err
	}
	var exp time.Time
	if *expiresIn > 0 {
		exp = time.Now().Add(*expiresIn)
	}
	fmt.Fprintln(stdout, strings.TrimRight(*publicURL, "/")+capability.PageLink(sp.RenderSecret, p.ID, strings.TrimPrefix(*query, "?"), exp))
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db, err := subcommand(args, "token", "create", "usage: renderhook token create --space ID [--json]")
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print JSON")
	spaceID := fs.String("space", "", "space id")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	secret, tok, err := space.New(st, 0).CreateToken(ctx, *spaceID)
	if err != nil {
		return fmt.Errorf("space %q: %w", *spaceID, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"spaceId": *spaceID, "tokenId": tok.ID, "token": secret, "prefix": tok.Prefix})
	}
	fmt.Fprintf(stdout, "token %s\n(shown only now)\n", secret)
	return nil
}
