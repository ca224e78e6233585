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
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
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
	fs.StringVar(&d.dataDir, "data-dir", server.DefaultDataDir, "directory for the SQLite database and stored files")
	fs.StringVar(&d.database, "database", "", "database URL (empty: SQLite in --data-dir)")
}

// dbFlagSet makes the flag set of the command name, with the database
// flags.
func dbFlagSet(name string) (*flag.FlagSet, *dbFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	db := &dbFlags{}
	db.register(fs)
	return fs, db
}

// subcommand checks that args name the one subcommand sub of cmd (else
// usage is the error) and makes its flag set, with the database flags.
func subcommand(args []string, cmd, sub, usage string) (*flag.FlagSet, *dbFlags, error) {
	if len(args) == 0 || args[0] != sub {
		return nil, nil, errors.New(usage)
	}
	fs, db := dbFlagSet(cmd + " " + sub)
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
	var cfg server.Config
	flags := registerServeFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := flags.apply(&cfg, stderr); err != nil {
		return err
	}

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
	fs, db := dbFlagSet("migrate")
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
