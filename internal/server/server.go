// Package server assembles renderhook's components (store, blob bucket,
// browser pool, render service, HTTP API) from one Config and runs them
// with an ordered start and shutdown. The CLI, the integration tests and
// the benchmark all build the server through this package.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/sqlite"
	"github.com/renderhook/renderhook/internal/ui"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// Config is everything a renderhook server needs.
type Config struct {
	// Addr is the listen address; default 127.0.0.1:8080.
	Addr string
	// DataDir holds the SQLite database and the local file store; default ./data.
	DataDir string
	// Database is the database URL: "" means SQLite in DataDir, else
	// sqlite:PATH or postgres://user:pass@host:port/db?….
	Database string
	// PublicURL is the base of file URLs; default http://Addr.
	PublicURL string
	// Storage is where rendered files are kept: file://DIR (default
	// file://<DataDir>/files) or s3://bucket?endpoint=…&region=…&use_path_style=true.
	Storage string
	// StoragePublicURL is the base of file URLs of a public S3 bucket;
	// "" means presigned URLs, valid StorageURLExpiry (default 1h).
	StoragePublicURL string
	StorageURLExpiry time.Duration
	// StorageCreateBucket creates a missing S3 bucket instead of failing.
	StorageCreateBucket bool
	// Browser configures the Chromium pool.
	Browser browser.Config
	// MaxBodyBytes bounds request bodies; default 10 MiB.
	MaxBodyBytes int64
	// ShutdownTimeout bounds a graceful shutdown; default 30s.
	ShutdownTimeout time.Duration
	// LogRetention is how long request logs are kept; default 30 days.
	LogRetention time.Duration
	// Queue tunes the job queue (retries, workers); the DB is filled in.
	Queue queue.Config
	// Egress guards outbound connections (webhooks); Allow opens ranges.
	Egress egress.Config
	// Webhooks tunes deliveries (signature header, retry schedule, …).
	Webhooks delivery.Config
	// DisableCallbacks turns off post-render storing, logging and billing.
	// Only the benchmark uses it, to measure what callbacks cost.
	DisableCallbacks bool
	Logger           *slog.Logger
}

// OpenStore opens (without migrating) the database named by the config:
// SQLite in dataDir by default, sqlite:PATH, or a postgres:// URL.
func OpenStore(dataDir, database string) (store.Store, error) {
	dataDir = cmp.Or(dataDir, "./data")
	switch {
	case database == "":
		return sqlite.Open(sqlite.Config{Path: filepath.Join(dataDir, "renderhook.db")})
	case strings.HasPrefix(database, "sqlite://"):
		return sqlite.Open(sqlite.Config{Path: strings.TrimPrefix(database, "sqlite://")})
	case strings.HasPrefix(database, "sqlite:"):
		return sqlite.Open(sqlite.Config{Path: strings.TrimPrefix(database, "sqlite:")})
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return postgres.Open(context.Background(), postgres.Config{URL: database})
	}
	return nil, fmt.Errorf("unsupported --database %q: use postgres://…, sqlite:PATH, or leave it empty for SQLite in --data-dir", redactURL(database))
}

// redactURL hides a password in a database URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// Server is a running renderhook.
type Server struct {
	cfg      Config
	log      *slog.Logger
	Store    store.Store
	Bucket   blob.Bucket
	Signer   *blob.Signer
	Pool     *browser.Pool
	Renderer *render.Service
	Queue    *queue.Queue
	Notify   *delivery.Service
	Guard    *egress.Guard
	API      *api.Server
	http     *http.Server
	ln       net.Listener
}

// New opens the store and applies migrations, and prepares every component;
// nothing listens or launches until Start.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.Addr = cmp.Or(cfg.Addr, "127.0.0.1:8080")
	cfg.DataDir = cmp.Or(cfg.DataDir, "./data")
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, 30*time.Second)
	log := cmp.Or(cfg.Logger, slog.Default())
	cfg.Browser.Logger = cmp.Or(cfg.Browser.Logger, log)

	st, err := OpenStore(cfg.DataDir, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Server{cfg: cfg, log: log, Store: st}
	if err := s.init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	if err := Migrate(ctx, s.Store); err != nil {
		return err
	}
	bucket, err := blob.OpenURL(ctx, cmp.Or(s.cfg.Storage, "file://"+filepath.Join(s.cfg.DataDir, "files")), blob.Options{
		PublicURL: s.cfg.StoragePublicURL, URLExpiry: s.cfg.StorageURLExpiry, CreateBucket: s.cfg.StorageCreateBucket,
	})
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	s.Bucket = bucket
	var rnd [32]byte
	_, _ = rand.Read(rnd[:])
	key, err := s.Store.Setting(ctx, "file_url_key", hex.EncodeToString(rnd[:]))
	if err != nil {
		return fmt.Errorf("load file URL key: %w", err)
	}
	keyBytes, err := hex.DecodeString(key)
	if err != nil {
		return fmt.Errorf("decode file URL key: %w", err)
	}
	// File URLs are the bucket's own when it makes them (S3), else signed
	// /files/ URLs on PublicURL.
	s.Signer = blob.NewSigner(keyBytes, cmp.Or(s.cfg.PublicURL, "http://"+s.cfg.Addr)).WithBucket(bucket)
	if s.Guard, err = egress.New(s.cfg.Egress); err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	// URL and HTML renders (the v1 API) load only what the guard allows.
	bcfg := s.cfg.Browser
	bcfg.Egress = s.Guard
	if s.Pool, err = browser.New(bcfg); err != nil {
		return fmt.Errorf("browser pool: %w", err)
	}
	qcfg := s.cfg.Queue
	qcfg.Store, qcfg.Logger = s.Store, s.log
	// An async render job may wait for a tab and then render; River must
	// not take it for stuck while it does.
	asyncTimeout := 2*cmp.Or(s.cfg.Browser.RenderTimeout, 30*time.Second) + 10*time.Second
	qcfg.RescueAfter = max(qcfg.RescueAfter, asyncTimeout+5*time.Second)
	if s.Queue, err = queue.New(qcfg); err != nil {
		return err
	}
	workers := s.Queue.Workers
	callback.Register(workers, callback.Config{Store: s.Store, Bucket: s.Bucket, Logger: s.log})
	s.Queue.AddPeriodic(requestlog.Retention(workers, s.Store, cmp.Or(s.cfg.LogRetention, 30*24*time.Hour), time.Hour, s.log))
	wcfg := s.cfg.Webhooks
	wcfg.Store, wcfg.Queue, wcfg.Guard, wcfg.Logger = s.Store, s.Queue, s.Guard, s.log
	if s.Notify, err = delivery.New(wcfg); err != nil {
		return err
	}
	s.Notify.Register(workers)
	rcfg := render.Config{Store: s.Store, Browser: s.Pool, URLBrowser: s.Pool, Bucket: s.Bucket, Signer: s.Signer, Queue: s.Queue, Notify: s.Notify, Logger: s.log}
	if s.cfg.DisableCallbacks {
		rcfg.Queue, rcfg.Notify = nil, nil
	}
	if s.Renderer, err = render.NewService(rcfg); err != nil {
		return err
	}
	s.Renderer.RegisterAsync(workers, asyncTimeout)
	console, err := ui.New(ctx, ui.Config{
		Store: s.Store, Renderer: s.Renderer, Signer: s.Signer, Notify: s.Notify, CheckURL: s.Guard.CheckURL, Logger: s.log,
	})
	if err != nil {
		return err
	}
	if s.API, err = api.New(api.Config{
		Store: s.Store, Renderer: s.Renderer, Bucket: s.Bucket, Signer: s.Signer,
		Notify: s.Notify, CheckURL: s.Guard.CheckURL, Ready: s.Pool.Ready, MaxBodyBytes: s.cfg.MaxBodyBytes, Logger: s.log, Version: Version,
		UI: console,
	}); err != nil {
		return err
	}
	return nil
}

// Migrate applies renderhook's migrations and River's to the store's database.
func Migrate(ctx context.Context, st store.Store) error {
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := queue.Migrate(ctx, st); err != nil {
		return err
	}
	return nil
}

// Start launches the browser and begins serving on cfg.Addr (or on ln when
// given, as tests do with a random port).
func (s *Server) Start(ctx context.Context, ln net.Listener) error {
	if err := s.Pool.Start(ctx); err != nil {
		return fmt.Errorf("start browser: %w", err)
	}
	if err := s.Queue.Start(ctx); err != nil {
		_ = s.Pool.Stop(ctx)
		return err
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			_ = s.Queue.Stop(ctx)
			_ = s.Pool.Stop(ctx)
			return fmt.Errorf("listen: %w", err)
		}
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// DataDir is the directory holding the SQLite database and local files.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Stop shuts down in order: HTTP first (finishing requests in flight),
// then the job workers (finishing or handing back their jobs), then the
// browser, then the database.
func (s *Server) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if s.http != nil {
		errs = append(errs, s.http.Shutdown(ctx))
	}
	if s.Queue != nil && s.http != nil {
		errs = append(errs, s.Queue.Stop(ctx))
	}
	if s.Pool != nil {
		errs = append(errs, s.Pool.Stop(ctx))
	}
	errs = append(errs, s.Store.Close())
	return errors.Join(errs...)
}
