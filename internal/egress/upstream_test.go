package egress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/egress/egresstest"
)

// upstreamProxy is a Proxy chained to up.
func upstreamProxy(t *testing.T, g *Guard, up *url.URL) *proxyFixture {
	t.Helper()
	return newProxyWith(t, ProxyConfig{Guard: g, Upstream: func() *url.URL { return up }})
}

// TestProxyUpstream checks that with an upstream every request, plain and
// tunnelled, reaches its destination through the upstream proxy with the
// upstream's credentials.
func TestProxyUpstream(t *testing.T) {
	t.Parallel()
	h := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok "+r.URL.Path) }
	plain := newLoopbackServer(t, h)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(h))
	t.Cleanup(tlsSrv.Close)
	const auth = "Basic dXNlcjpwYXNz" // user:pass
	fwd := egresstest.NewForwardProxy(t, auth)
	up, _ := url.Parse(strings.Replace(fwd.URL, "http://", "http://user:pass@", 1))
	f := upstreamProxy(t, newGuard(t, "127.0.0.0/8", Config{}), up)

	for _, srv := range []*httptest.Server{plain.Server, tlsSrv} {
		f.wantBody(t, srv, "/x", "ok /x")
	}
	targets, auths := fwd.Seen()
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	if !slices.Contains(targets, plain.URL+"/x") || !slices.Contains(targets, tlsHost) {
		t.Errorf("upstream saw %v, want the plain URL and a CONNECT to %s", targets, tlsHost)
	}
	for _, a := range auths {
		if a != auth {
			t.Errorf("upstream got Proxy-Authorization %q, want %q", a, auth)
		}
	}
	if plain.hits.Load() != 1 {
		t.Errorf("plain server hits = %d", plain.hits.Load())
	}

	// Wrong credentials: the upstream's 407 fails the tunnel.
	bad, _ := url.Parse(strings.Replace(fwd.URL, "http://", "http://user:nope@", 1))
	fb := upstreamProxy(t, newGuard(t, "127.0.0.0/8", Config{}), bad)
	if resp, err := fb.client(tlsSrv).Get(tlsSrv.URL + "/x"); err == nil {
		resp.Body.Close()
		t.Error("tunnel with wrong upstream credentials succeeded")
	}
}

// TestProxyUpstreamGuarded checks the guard still applies: an upstream at
// a forbidden address is refused at connect time, and a destination that
// is a literal forbidden address is refused before the upstream is asked.
func TestProxyUpstreamGuarded(t *testing.T) {
	t.Parallel()
	fwd := egresstest.NewForwardProxy(t, "")
	up, _ := url.Parse(fwd.URL)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsSrv.Close)

	// Loopback not allowed: the upstream itself is forbidden.
	f := upstreamProxy(t, newGuard(t, "", Config{}), up)
	if resp, err := f.client(tlsSrv).Get(tlsSrv.URL + "/"); err == nil {
		resp.Body.Close()
		t.Error("tunnel through a loopback upstream succeeded without loopback allowed")
	}
	if targets, _ := fwd.Seen(); len(targets) != 0 {
		t.Errorf("the forbidden upstream was reached: %v", targets)
	}

	// The upstream allowed, the destination a literal metadata address.
	f = upstreamProxy(t, newGuard(t, "127.0.0.0/8", Config{}), up)
	for _, target := range []string{"http://169.254.169.254/latest", "https://169.254.169.254/", "http://10.1.2.3/"} {
		if resp, err := f.client(nil).Get(target); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s through the chain succeeded", target)
		}
	}
	if targets, _ := fwd.Seen(); len(targets) != 0 {
		t.Errorf("the upstream was asked for forbidden destinations: %v", targets)
	}
	if got := f.refusals(); len(got) != 3 {
		t.Errorf("refusals = %v, want the three destinations", got)
	}
	if err := f.checkDestination("10.0.0.1:80"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("checkDestination(10.0.0.1:80) = %v", err)
	}
}
