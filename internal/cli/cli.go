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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

const usage = `renderhook renders templates and HTML to PNG, JPEG, WebP and PDF with headless Chromium.

Usage:
  renderhook serve        [flags]   start the HTTP server
  renderhook migrate      [flags]   apply database migrations
  renderhook space create --name N [--credit-limit N] [--json]
  renderhook space list   [--json]
  renderhook token create --space ID [--json]
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
	fs.IntVar(&cfg.Browser.URLSpares, "url-spares", 2, "fresh browser contexts kept ready for URL/HTML (v1) renders, each a renderer process; 0 for none")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time limit of a graceful shutdown")
	fs.DurationVar(&cfg.Queue.JobTimeout, "job-timeout", 30*time.Second, "time limit of one background job attempt")
	fs.DurationVar(&cfg.Queue.RescueAfter, "job-rescue-after", 0, "a job running longer than this (e.g. held by a crashed process) is handed to another worker; at least (and by default) the longest job limit + 5s: 2 x render-timeout + 15s for async renders (75s by default)")
	fs.DurationVar(&cfg.LogRetention, "log-retention", 30*24*time.Hour, "how long request logs are kept")
	fs.StringVar(&cfg.Webhooks.SignatureHeader, "webhook-signature-header", "X-Renderhook-Signature", "header carrying the t=…,sha256=… signature (X-Urlbox-Signature for Urlbox receivers)")
	schedule := fs.String("webhook-retry-schedule", "", "delays before each delivery attempt, e.g. 0s,5s,5m (default 0s,5s,5m,30m,2h,5h,10h,14h,20h,24h)")
	fs.DurationVar(&cfg.Webhooks.DisableAfter, "webhook-disable-after", 5*24*time.Hour, "disable an endpoint whose deliveries have all failed for this long")
	fs.IntVar(&cfg.Webhooks.Workers, "webhook-workers", delivery.DefaultWorkers, "webhook deliveries one node sends at once (their own job queue, apart from renders)")
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
		srv.Stop(context.Background())
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

// spaceCreated is the JSON that `space create --json` prints.
type spaceCreated struct {
	SpaceID       string `json:"spaceId"`
	Name          string `json:"name"`
	CreditLimit   int64  `json:"creditLimit"`
	Token         string `json:"token"`
	TokenID       string `json:"tokenId"`
	WebhookSecret string `json:"webhookSecret"`
	// RenderKey and RenderSecret make signed render links
	// (/v1/{renderKey}/{hmac}/{format}?…); GetRenderToken is ?gt= for
	// token-only page renders by GET.
	RenderKey      string `json:"renderKey"`
	RenderSecret   string `json:"renderSecret"`
	GetRenderToken string `json:"getRenderToken"`
}

func createSpace(ctx context.Context, st store.Store, name string, limit int64) (*spaceCreated, error) {
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, err
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: name, CreditLimit: limit, CreatedAt: time.Now().UTC(), WebhookSecret: secret}
	if err := st.CreateSpace(ctx, sp); err != nil {
		return nil, fmt.Errorf("create space: %w", err)
	}
	token, tok, err := auth.CreateToken(ctx, st, sp.ID)
	if err != nil {
		return nil, err
	}
	return &spaceCreated{SpaceID: sp.ID, Name: sp.Name, CreditLimit: sp.CreditLimit, Token: token, TokenID: tok.ID, WebhookSecret: sp.WebhookSecret,
		RenderKey: sp.RenderKey, RenderSecret: sp.RenderSecret, GetRenderToken: sp.GetRenderToken}, nil
}

func spaceCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return errors.New("usage: renderhook space create --name N [--credit-limit N] [--json] | space list [--json]")
	}
	fs := flag.NewFlagSet("space "+args[0], flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	name := fs.String("name", "", "space name (create)")
	limit := fs.Int64("credit-limit", 0, "renders the space may use; 0 is unlimited (create)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "list" {
		spaces, err := st.ListSpaces(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			type row struct {
				SpaceID     string `json:"spaceId"`
				Name        string `json:"name"`
				CreditLimit int64  `json:"creditLimit"`
				CreditsUsed int64  `json:"creditsUsed"`
				// RenderKey is public (it is in every signed link); the
				// secrets are shown only by create.
				RenderKey string    `json:"renderKey"`
				CreatedAt time.Time `json:"createdAt"`
			}
			rows := []row{}
			for _, s := range spaces {
				rows = append(rows, row{s.ID, s.Name, s.CreditLimit, s.CreditsUsed, s.RenderKey, s.CreatedAt})
			}
			return json.NewEncoder(stdout).Encode(rows)
		}
		for _, s := range spaces {
			fmt.Fprintf(stdout, "%s\t%s\tcredits %d/%d\n", s.ID, s.Name, s.CreditsUsed, s.CreditLimit)
		}
		return nil
	}
	n := strings.TrimSpace(*name)
	if n == "" {
		return errors.New("space create: --name is required")
	}
	if *limit < 0 {
		return errors.New("space create: --credit-limit must be 0 (unlimited) or more")
	}
	out, err := createSpace(ctx, st, n, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "space %s (%s)\ntoken %s\nwebhook secret %s\nrender key %s\nrender secret %s\n(the token is shown only now)\n",
		out.SpaceID, out.Name, out.Token, out.WebhookSecret, out.RenderKey, out.RenderSecret)
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: renderhook token create --space ID [--json]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
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
	if _, err := st.GetSpace(ctx, *spaceID); err != nil {
		return fmt.Errorf("space %q: %w", *spaceID, err)
	}
	secret, tok, err := auth.CreateToken(ctx, st, *spaceID)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"spaceId": *spaceID, "tokenId": tok.ID, "token": secret, "prefix": tok.Prefix})
	}
	fmt.Fprintf(stdout, "token %s\n(shown only now)\n", secret)
	return nil
}
