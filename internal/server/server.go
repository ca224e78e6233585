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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/metrics"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/sqlite"
	"github.com/renderhook/renderhook/internal/takumi"
	"github.com/renderhook/renderhook/internal/tracing"
	"github.com/renderhook/renderhook/internal/ui"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// Role is what a node does; any number of nodes of each role may share one
// PostgreSQL database and one bucket.
type Role string

// The roles of a node.
const (
	// RoleAll serves the API and works jobs: the only role on SQLite.
	RoleAll Role = "all"
	// RoleAPI serves the API and renders synchronous requests; the jobs it
	// inserts (callbacks, async renders, webhook deliveries) are worked by
	// other nodes.
	RoleAPI Role = "api"
	// RoleWorker works jobs (async renders, callbacks, webhook deliveries,
	// River's periodic and maintenance work) and serves only /healthz.
	RoleWorker Role = "worker"
)

// Config is everything a renderhook server needs. The zero value of a
// field selects its default: the server's own are applied by WithDefaults,
// each component's by its own Config (browser, queue, delivery, …).
type Config struct {
	// Addr is the listen address; default DefaultAddr.
	Addr string
	// Role is what this node does; default RoleAll. RoleAPI and
	// RoleWorker need PostgreSQL: on SQLite one process does everything.
	Role Role
	// DataDir holds the SQLite database and the local file store; default
	// DefaultDataDir.
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
	// "" means presigned URLs.
	StoragePublicURL string
	// StorageURLExpiry is how long presigned URLs work; default
	// blob.DefaultURLExpiry.
	StorageURLExpiry time.Duration
	// StorageCreateBucket creates a missing S3 bucket instead of failing.
	StorageCreateBucket bool
	// StorageCredentialsKey seals the spaces' own S3 secret keys (and an
	// async v1 render's own credentials): comma-separated AES-256 keys, 64
	// hex digits each, the first sealing and all opening (sealed.ParseKeys).
	// "" keeps no such secret: PUT /api/storage refuses a secret key.
	StorageCredentialsKey string
	// Browser configures the Chromium pool.
	Browser browser.Config
	// Takumi configures the browserless renderer of renderType takumi and
	// auto (internal/takumi); its Fetch is the egress guard's client.
	Takumi takumi.Config
	// NoTakumi leaves takumi off: every render uses Chromium. Without node
	// or the helper's packages (scripts/install-deps.sh) it is off anyway.
	NoTakumi bool
	// Template bounds each render's template executions (HTML size, steps, time).
	Template render.Limits
	// MaxBodyBytes bounds request bodies; default api.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// SyncRedirectAfter is how long a v1 sync render is waited for before
	// its answer is a 307 to its status URL (api.Config.SyncRedirectAfter);
	// default api.DefaultSyncRedirectAfter.
	SyncRedirectAfter time.Duration
	// HTTP bounds client connections: read, write and idle timeouts, the
	// minimum body rate and the header cap (see HTTPConfig).
	HTTP HTTPConfig
	// ShutdownTimeout bounds a graceful shutdown (see Stop); default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// LogRetention is how long request logs, and everything else a
	// request left (render options, spooled bytes, webhook deliveries,
	// finished jobs), are kept: requestlog.Purge; default
	// requestlog.DefaultRetention.
	LogRetention time.Duration
	// RenderSecretOverlap is how long a rotated-out render secret or
	// GET-render token keeps working; default capability.DefaultOverlap.
	RenderSecretOverlap time.Duration
	// NodeID is this node's stable identity (see queue.Config.NodeID);
	// default: generated once and kept in DataDir/node-id.
	NodeID string
	// Queue tunes the job queue (retries, workers); the DB is filled in.
	Queue queue.Config
	// Egress guards outbound connections (webhooks); Allow opens ranges.
	Egress egress.Config
	// Webhooks tunes deliveries (signature header, retry schedule, …).
	Webhooks delivery.Config
	// RenderFollowUp, when set, takes the callback jobs and the webhook
	// deliveries of recorded renders instead of the job queue and the
	// webhook service. The benchmark's baseline sets a no-op one to
	// measure what callbacks cost; its renders are still recorded.
	RenderFollowUp interface {
		render.Enqueuer
		render.Notifier
	}
	// MetricsAddr is where /metrics is served: "" on Addr beside the API,
	// host:port on a listener of its own, MetricsOff nowhere.
	MetricsAddr string
	// Logger receives every component's log lines; default slog.Default().
	Logger *slog.Logger
}

// The defaults of the server's own Config fields, applied by WithDefaults.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultDataDir         = "./data"
	DefaultShutdownTimeout = 30 * time.Second
)

// WithDefaults returns c with the server's own zero fields set to their
// defaults, HTTP's included (HTTPConfig.WithDefaults). Each component's
// defaults stay in its Config and are applied by its constructor.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, DefaultAddr)
	c.DataDir = cmp.Or(c.DataDir, DefaultDataDir)
	c.Role = cmp.Or(c.Role, RoleAll)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.LogRetention = cmp.Or(c.LogRetention, requestlog.DefaultRetention)
	c.HTTP = c.HTTP.WithDefaults(c.Browser.RenderTimeout)
	return c
}

// The margins of the job limits the queue's rescue waits out.
const (
	// AsyncRenderMargin is what an async render job's limit leaves beyond
	// waiting for a tab and rendering (a render timeout each): recording
	// the render and its follow-up work.
	AsyncRenderMargin = 10 * time.Second
	// RescueMargin is how much longer than the longest job limit River's
	// rescuer waits before it takes a job for stuck.
	RescueMargin = 5 * time.Second
)

// AsyncRenderLimit is how long one async render job may run: it may wait
// for a tab as long as a render takes, then render, then record
// (AsyncRenderMargin). River must not take it for stuck while it does.
func (c Config) AsyncRenderLimit() time.Duration {
	return 2*renderTimeout(c.Browser.RenderTimeout) + AsyncRenderMargin
}

// MinRescueAfter is the least, and the default, queue RescueAfter the
// server runs with: the longest limit of a job kind (an async render's,
// a webhook delivery's: delivery.Config.JobLimit, the queue's JobTimeout)
// plus RescueMargin. A shorter one would make River's rescuer skip the
// jobs of a dead node until that limit passed, so the takeover bound
// would be longer than it says.
func (c Config) MinRescueAfter() time.Duration {
	return max(c.AsyncRenderLimit(), c.Webhooks.JobLimit(), jobTimeout(c.Queue)) + RescueMargin
}

// renderTimeout is the browser's effective render timeout for a
// browser.Config.RenderTimeout of d.
func renderTimeout(d time.Duration) time.Duration {
	return browser.Config{RenderTimeout: d}.WithDefaults().RenderTimeout
}

// jobTimeout is the queue's effective JobTimeout for q.
func jobTimeout(q queue.Config) time.Duration { return q.WithDefaults().JobTimeout }

// OpenStore opens (without migrating) the database named by the config:
// SQLite in dataDir by default, sqlite:PATH, or a postgres:// URL.
func OpenStore(dataDir, database string) (store.Store, error) {
	dataDir = cmp.Or(dataDir, DefaultDataDir)
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

// secureDataDir makes an existing data directory 0700, so only the
// service's user can read the database, the local files and
// quickstart.json: Chromium runs as another user (browser.Config.ChromiumUser)
// and a compromised renderer must find nothing there. The stores create a
// missing one 0700 themselves.
func secureDataDir(dir string, log *slog.Logger) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil { //nolint:gosec // a directory: its owner needs x to enter it
			return fmt.Errorf("data dir %s: make it 0700 (only the service user may read it): %w", dir, err)
		}
		log.Info("data dir made private", "dir", dir, "was", st.Mode().Perm().String())
	}
	return nil
}

// closeLock releases a data dir lock taken by lockDataDir (nil: none).
func closeLock(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// isPostgres reports whether a --database value names PostgreSQL.
func isPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// ClientIDPrefix is how the job-queue client ID of the process pid in
// role begins on this host (the start time follows), as it shows in River's
// leader table and in its jobs' attempted_by: operators (and tests) can
// tell which node worked a job.
func ClientIDPrefix(role Role, pid int) string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", "-", "_").Replace(cmp.Or(host, "unknown_host"))
	if len(host) > 50 {
		host = host[:50]
	}
	return fmt.Sprintf("%s_%s_%d_", role, host, pid)
}

// nodeID returns the configured node identity, or the one kept in
// dataDir/node-id, generated there on first use.
func nodeID(configured, dataDir string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 { //nolint:gosec // a file of the operator's --data-dir
		return strings.TrimSpace(string(b)), nil
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	id := "node_" + hex.EncodeToString(rnd[:])
	// Private, as secureDataDir and the stores make the data dir.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
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
	cfg    Config
	log    *slog.Logger
	Store  store.Store
	Bucket blob.Bucket
	Signer *blob.Signer
	Pool   *browser.Pool
	// Takumi is the browserless renderer; nil when it is off (NoTakumi, or
	// node or its packages missing).
	Takumi   *takumi.Renderer
	Renderer *render.Service
	Queue    *queue.Queue
	Notify   *delivery.Service
	Guard    *egress.Guard
	API      *api.Server
	// Metrics holds the Prometheus families; nil when MetricsAddr is off.
	Metrics *metrics.Metrics
	tracing *tracing.Provider
	http    *http.Server
	ln      net.Listener
	// metricsHTTP serves /metrics on MetricsAddr, when it has its own.
	metricsHTTP *http.Server
	metricsLn   net.Listener
	stopWatch   func() // ends the metrics' River event subscription
	// lock is the data dir's lock on SQLite (lockDataDir), held until the
	// store is closed.
	lock *os.File
}

// lockDataDir takes an exclusive lock on dataDir for a server on SQLite:
// one process serves a SQLite database, and the restart resume (queue)
// hands back every job left running, which is safe only because no other
// process can be working them. The kernel drops the lock when the process
// dies, so a restart after a crash takes it at once. CLI commands that
// open the database (space, token) take no lock.
func lockDataDir(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600) //nolint:gosec // a file of the operator's --data-dir
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another renderhook serve (SQLite is served by one process; stop it first, or use PostgreSQL for several nodes): %w", dataDir, err)
	}
	return f, nil
}

// New opens the store and applies migrations, and prepares every component;
// nothing listens or launches until Start.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.HTTP.validate(cfg.Browser.RenderTimeout); err != nil {
		return nil, err
	}
	log := cmp.Or(cfg.Logger, slog.Default())
	cfg.Browser.Logger = cmp.Or(cfg.Browser.Logger, log)
	switch cfg.Role {
	case RoleAll:
	case RoleAPI, RoleWorker:
		if !isPostgres(cfg.Database) {
			return nil, fmt.Errorf("--role %s needs a shared database (--database postgres://…): on SQLite one process serves the API and works the jobs, use --role all", cfg.Role)
		}
	default:
		return nil, fmt.Errorf("unknown --role %q: all, api or worker", cfg.Role)
	}

	if err := secureDataDir(cfg.DataDir, log); err != nil {
		return nil, err
	}
	var lock *os.File
	if !isPostgres(cfg.Database) {
		var err error
		if lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	st, err := OpenStore(cfg.DataDir, cfg.Database)
	if err != nil {
		closeLock(lock)
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Server{cfg: cfg, log: log, Store: st, lock: lock}
	if err := s.init(ctx); err != nil {
		st.Close()
		closeLock(lock)
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	if err := Migrate(ctx, s.Store); err != nil {
		return err
	}
	var err error
	if s.tracing, err = tracing.FromEnv(ctx, Version); err != nil {
		return err
	}
	if s.tracing.On() {
		s.log = slog.New(tracing.LogHandler(s.log.Handler()))
	}
	if err := s.initStorage(ctx); err != nil {
		return err
	}
	if s.Guard, err = egress.New(s.cfg.Egress); err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	// URL and HTML renders (the v1 API) load only what the guard allows.
	bcfg := s.cfg.Browser
	bcfg.Egress = s.Guard
	if s.Pool, err = browser.New(bcfg); err != nil {
		return fmt.Errorf("browser pool: %w", err)
	}
	s.initTakumi()
	if s.cfg.MetricsAddr != MetricsOff {
		s.Metrics = metrics.New(metrics.Config{Browser: s.Pool, Jobs: metrics.JobCounts(s.Store)})
	}
	if err := s.initQueue(); err != nil {
		return err
	}
	if err := s.initDelivery(); err != nil {
		return err
	}
	return s.initServices(ctx)
}

// initTakumi makes the takumi renderer, unless it is off or cannot run
// here (then renderType takumi and auto render with Chromium). Its images
// are fetched through the egress guard, bounded as the template proxy is.
func (s *Server) initTakumi() {
	if s.cfg.NoTakumi {
		return
	}
	tcfg := s.cfg.Takumi
	if tcfg.Fetch == nil {
		tcfg.Fetch = s.Guard.HTTPClient(egress.ClientOptions{Timeout: tcfg.WithDefaults().Timeout})
	}
	if err := takumi.Available(tcfg); err != nil {
		s.log.Warn("takumi is off: renderType takumi and auto render with Chromium", "err", err)
		return
	}
	s.Takumi = takumi.New(tcfg)
}

// initStorage opens the bucket and makes the file URL signer.
func (s *Server) initStorage(ctx context.Context) error {
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
	return nil
}

// initQueue makes the job queue for this node's role.
func (s *Server) initQueue() error {
	var err error
	qcfg := s.cfg.Queue
	qcfg.Store, qcfg.Logger = s.Store, s.log
	qcfg.Middleware = s.tracing.RiverMiddleware()
	// An API node inserts jobs (in the transactions that record renders)
	// but leaves working them, and River's leader duties, to the others.
	qcfg.InsertOnly = s.cfg.Role == RoleAPI
	qcfg.FinishedJobRetention = s.cfg.LogRetention
	// Random bytes after the start second: containers on one host network
	// all run as pid 1, and two started in one second must not share an id
	// (the restart resume hands back the jobs an id last attempted).
	var idRnd [4]byte
	_, _ = rand.Read(idRnd[:])
	qcfg.ID = ClientIDPrefix(s.cfg.Role, os.Getpid()) + strconv.FormatInt(time.Now().Unix(), 10) + "_" + hex.EncodeToString(idRnd[:])
	if isPostgres(s.cfg.Database) && !qcfg.InsertOnly {
		if qcfg.NodeID, err = nodeID(s.cfg.NodeID, s.cfg.DataDir); err != nil {
			return err
		}
	}
	// The rescue delay stays above every job kind's own limit.
	qcfg.RescueAfter = max(qcfg.RescueAfter, s.cfg.MinRescueAfter())
	if s.Queue, err = queue.New(qcfg); err != nil {
		return err
	}
	return nil
}

// initDelivery registers the job workers (callbacks, retention, webhook
// deliveries) and makes the webhook service.
func (s *Server) initDelivery() error {
	var err error
	workers := s.Queue.Workers
	callback.Register(workers, s.Queue, callback.Config{Store: s.Store, Bucket: s.Bucket, Logger: s.log})
	s.Queue.AddPeriodic(requestlog.Retention(workers, s.Store, s.cfg.LogRetention, requestlog.DefaultInterval, s.log))
	wcfg := s.cfg.Webhooks
	wcfg.Store, wcfg.Queue, wcfg.Guard, wcfg.Logger = s.Store, s.Queue, s.Guard, s.log
	if s.Metrics != nil {
		wcfg.Observer = s.Metrics
	}
	// A render.succeeded's renderUrl is made again when an attempt is
	// sent later than a prompt first one (a presigned URL expires).
	if wcfg.Files == nil {
		wcfg.Files = s.Signer
		if l, ok := s.Bucket.(interface{ URLLifetime() time.Duration }); ok {
			wcfg.FileURLLifetime = l.URLLifetime()
		}
	}
	if s.Notify, err = delivery.New(wcfg); err != nil {
		return err
	}
	s.Notify.Register(workers, s.Queue)
	if s.Metrics != nil {
		s.Metrics.AddParked(s.Notify.ParkedDestinations)
	}
	return nil
}

// initServices makes the render service, the console and the API on top of
// the rest.
func (s *Server) initServices(ctx context.Context) error {
	var err error
	workers := s.Queue.Workers
	ob := observedBrowser{pool: s.Pool, m: s.Metrics, tr: s.tracing.Tracer()}
	// With tracing on, the render service and the API see the store
	// through tracedStore (transaction spans, trace ids in log entries).
	st := s.Store
	if s.tracing.On() {
		st = tracedStore{Store: s.Store, tr: s.tracing.Tracer()}
	}
	ring, err := sealed.ParseKeys(s.cfg.StorageCredentialsKey)
	if err != nil {
		return fmt.Errorf("--storage-credentials-key: %w", err)
	}
	rcfg := render.Config{Store: st, Browser: ob, URLBrowser: ob, Bucket: s.Bucket, Signer: s.Signer, Queue: s.Queue, Notify: s.Notify, Limits: s.cfg.Template,
		Egress: s.Guard, Sealer: ring, Logger: s.log}
	if s.Takumi != nil {
		rcfg.Takumi = observedTakumi{r: s.Takumi, m: s.Metrics, tr: s.tracing.Tracer()}
	}
	if f := s.cfg.RenderFollowUp; f != nil {
		rcfg.Queue, rcfg.Notify = f, f
	}
	if s.Renderer, err = render.NewService(rcfg); err != nil {
		return err
	}
	s.Renderer.RegisterAsync(workers, s.cfg.AsyncRenderLimit())
	console, err := ui.New(ctx, ui.Config{
		Store: s.Store, Renderer: s.Renderer, Signer: s.Signer, Notify: s.Notify, CheckURL: s.Guard.CheckURL, Logger: s.log,
		RenderSecretOverlap: s.cfg.RenderSecretOverlap,
	})
	if err != nil {
		return err
	}
	if s.API, err = api.New(api.Config{
		Store: st, Renderer: s.Renderer, Bucket: s.Bucket, Signer: s.Signer,
		Notify: s.Notify, CheckURL: s.Guard.CheckURL, Ready: s.Pool.Ready, Sandboxed: s.Pool.Sandboxed, MaxBodyBytes: s.cfg.MaxBodyBytes, Logger: s.log, Version: Version,
		SyncRedirectAfter: s.cfg.SyncRedirectAfter,
		UI:                console, RenderSecretOverlap: s.cfg.RenderSecretOverlap, Sealer: ring,
	}); err != nil {
		return err
	}
	if s.Metrics != nil {
		for _, r := range s.API.Routes() {
			s.Metrics.AddRoutes(strings.TrimSpace(r.Method + " " + r.Pattern))
		}
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
	if s.Takumi != nil {
		if err := s.Takumi.Start(ctx); err != nil {
			_ = s.Pool.Stop(ctx)
			return fmt.Errorf("start takumi: %w", err)
		}
	}
	if err := s.Queue.Start(ctx); err != nil {
		s.stopTakumi()
		_ = s.Pool.Stop(ctx)
		return err
	}
	if ln == nil {
		var err error
		if ln, err = new(net.ListenConfig).Listen(ctx, "tcp", s.cfg.Addr); err != nil {
			_ = s.Queue.Stop(ctx, time.Second)
			s.stopTakumi()
			_ = s.Pool.Stop(ctx)
			return fmt.Errorf("listen: %w", err)
		}
	}
	s.ln = ln
	handler := s.API.Handler()
	if s.cfg.Role == RoleWorker {
		handler = s.workerHandler()
	}
	s.http = s.cfg.HTTP.server(s.observe(handler))
	s.http.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return s.startMetrics(ctx)
}

// stopTakumi ends the takumi helper, if there is one.
func (s *Server) stopTakumi() {
	if s.Takumi != nil {
		s.Takumi.Stop()
	}
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

// Role is what this node does.
func (s *Server) Role() Role { return s.cfg.Role }

// workerHandler is all a worker node serves: /healthz for the load
// balancer or orchestrator (200 once the browser is ready), and a 404
// naming the role for everything else, so a worker put behind the API's
// load balancer by mistake is easy to spot.
func (s *Server) workerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.Pool.Ready() {
			a := reply.For(reply.JSON, reply.ErrNotReady)
			for k, v := range a.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(a.Status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": a.Code, "message": a.Message}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "version": Version, "role": string(RoleWorker), "sandbox": s.Pool.Sandboxed()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
			"code": "not_found", "message": "this node runs --role worker and serves no API; send requests to an api or all node",
		}})
	})
	return mux
}

// TakeoverBound is the longest the jobs of a node that died (SIGKILL,
// power loss) wait before a surviving worker starts them again; see
// queue.Queue.TakeoverBound.
func (s *Server) TakeoverBound() time.Duration { return s.Queue.TakeoverBound() }

// Stop shuts down gracefully within cfg.ShutdownTimeout, in order: the
// HTTP server stops accepting connections and waits for the requests in
// flight (a sync render finishes and is answered); then the job workers
// stop fetching and wait for running jobs; then the browser; then the
// database. The last part of the timeout (a quarter, at most 5 s) is kept
// for a hard stop: requests still open are closed, and jobs still running
// are cancelled and handed back to the queue as failed attempts, which
// any worker retries.
func (s *Server) Stop(ctx context.Context) error {
	hard := min(5*time.Second, s.cfg.ShutdownTimeout/4)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	soft, cancelSoft := context.WithTimeout(ctx, s.cfg.ShutdownTimeout-hard)
	defer cancelSoft()
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(soft); err != nil {
			_ = s.http.Close()
			errs = append(errs, fmt.Errorf("stop HTTP server: %w", err))
		}
	}
	errs = append(errs, s.stopMetrics(soft))
	if s.Renderer != nil {
		// Sync renders handed off past SyncRedirectAfter finish before the
		// workers and the browser stop; one that does not is its job's.
		errs = append(errs, s.Renderer.WaitHandedOff(soft))
	}
	if s.Queue != nil {
		errs = append(errs, s.Queue.Stop(soft, hard))
	}
	if s.tracing != nil {
		errs = append(errs, s.tracing.Shutdown(soft))
	}
	s.stopTakumi()
	if s.Pool != nil {
		errs = append(errs, s.Pool.Stop(ctx))
	}
	errs = append(errs, s.Store.Close())
	closeLock(s.lock)
	return errors.Join(errs...)
}
