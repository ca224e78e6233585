// Package servertest runs real renderhook servers for tests of other
// packages: a random loopback port, a temporary data dir, Chromium, and a
// space with a token.
package servertest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// RequireChromium skips the test when no Chromium is installed.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := browser.FindChromium(); err != nil {
		t.Skip("chromium not installed: run `make test`, which installs it")
	}
}

// Start runs cfg as a real server on a random loopback port, in a fresh
// data dir, stopped when the test ends. It returns the server and its base
// URL (also its PublicURL).
func Start(t testing.TB, cfg server.Config) (*server.Server, string) {
	t.Helper()
	RequireChromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
