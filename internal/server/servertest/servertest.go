// Package servertest runs real renderhook servers for tests of other
// packages: a random loopback port, a temporary data dir, Chromium, and a
// space with a token; on the test backends when they are configured
// (PostgreSQL and S3, as make test's second pass does), else on SQLite and
// local files.
package servertest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/blob/s3test"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/webhook"
)

// RequireChromium skips the test when no Chromium is installed.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := browser.FindChromium(); err != nil {
		t.Skip("chromium not installed: run `make test`, which installs it")
	}
}

// Backend is the database and file store a test server runs on.
type Backend struct {
	// DB is "" (SQLite in the data dir) unless RENDERHOOK_TEST_DATABASE_URL
	// names a PostgreSQL database; then it is a URL to a fresh schema of
	// that database, dropped after the test.
	DB string
	// Storage is "" (files in the data dir) unless
	// RENDERHOOK_TEST_STORAGE_URL names an S3 server; then it is the URL
	// of a fresh bucket on it (created by the server), removed after.
	Storage string
}

// TestBackend picks the backend of a test from the environment (see
// Backend).
func TestBackend(t testing.TB) Backend {
	var b Backend
	if pgtest.Enabled() {
		b.DB = pgtest.URL(t)
	}
	if s3test.Enabled() {
		b.Storage = s3test.URL(t)
	}
	return b
}

// Apply sets cfg's database and storage to b's where cfg leaves them
// unset.
func (b Backend) Apply(cfg *server.Config) {
	if cfg.Database == "" {
		cfg.Database = b.DB
	}
	if cfg.Storage == "" && b.Storage != "" {
		cfg.Storage, cfg.StorageCreateBucket = b.Storage, true
	}
}

// Start runs cfg as a real server on a random loopback port, in a fresh
// data dir, stopped when the test ends, on the test backend (TestBackend)
// unless cfg names a database or storage. It returns the server and its
// base URL (also its PublicURL).
func Start(t testing.TB, cfg server.Config) (*server.Server, string) {
	t.Helper()
	RequireChromium(t)
	if cfg.Database == "" || cfg.Storage == "" {
		TestBackend(t).Apply(&cfg)
	}
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg.DataDir, cfg.PublicURL = t.TempDir(), base
	ctx := context.Background()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx, ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv, base
}

// NewSpace creates a space with a webhook secret and returns its id and a
// fresh API token.
func NewSpace(t testing.TB, st store.Store, name string) (spaceID, token string) {
	t.Helper()
	ctx := context.Background()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: name, CreatedAt: time.Now(), WebhookSecret: secret}
	if err := st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	tok, _, err := auth.CreateToken(ctx, st, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sp.ID, tok
}
