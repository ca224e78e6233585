package egress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxyFixture is a running Proxy and what it reported refusing.
type proxyFixture struct {
	*Proxy
	mu      sync.Mutex
	refused []string
}

func newProxy(t *testing.T, g *Guard, deny func(string) error) *proxyFixture {
	t.Helper()
	return newProxyWith(t, ProxyConfig{Guard: g, Deny: deny})
}

// newProxyWith starts a proxy of cfg that records its refusals.
func newProxyWith(t *testing.T, cfg ProxyConfig) *proxyFixture {
	t.Helper()
	f := &proxyFixture{}
	cfg.OnRefused = func(hp string, err error) {
		f.mu.Lock()
		f.refused = append(f.refused, hp)
		f.mu.Unlock()
	}
	p, err := NewProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f.Proxy = p
	return f
}

func (f *proxyFixture) refusals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refused...)
}

// client returns an HTTP client that sends everything through the proxy
// (absolute-form for http, CONNECT for https) and trusts srv's certificate.
func (f *proxyFixture) client(srv *httptest.Server) *http.Client {
	proxyURL := &url.URL{Scheme: "http", Host: f.Addr()}
	var tr *http.Transport
	if srv != nil && srv.TLS != nil {
		tr = srv.Client().Transport.(*http.Transport).Clone()
	} else {
		tr = &http.Transport{}
	}
	tr.Proxy = http.ProxyURL(proxyURL)
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// wantBody GETs path of srv through the proxy and checks the body.
func (f *proxyFixture) wantBody(t *testing.T, srv *httptest.Server, path, want string) {
	t.Helper()
	resp, err := f.client(srv).Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", srv.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != want {
		t.Errorf("GET %s: body %q, want %q", srv.URL, body, want)
	}
}

func TestProxyForwardsAllowed(t *testing.T) {
	t.Parallel()
	var forwarded sync.Map
	h := func(w http.ResponseWriter, r *http.Request) {
		forwarded.Store(r.URL.Path, r.Header.Get("X-Forwarded-For")+r.Header.Get("Forwarded")+r.Header.Get("Proxy-Connection"))
		_, _ = io.WriteString(w, "ok")
	}
	plain := newLoopbackServer(t, h)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(h))
	t.Cleanup(tlsSrv.Close)
	f := newProxy(t, newGuard(t, "127.0.0.0/8", Config{}), nil)

	for _, srv := range []*httptest.Server{plain.Server, tlsSrv} {
		f.wantBody(t, srv, "/x", "ok")
	}
	if v, _ := forwarded.Load("/x"); v != "" {
		t.Errorf("the proxy told the server about itself: %q", v)
	}
	if r := f.refusals(); len(r) != 0 {
		t.Errorf("refusals %v, want none", r)
	}
}

func TestProxyRefuses(t *testing.T) {
	t.Parallel()
	plain := newLoopbackServer(t, ok)
	var tlsHits atomic.Int32
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
	}))
	t.Cleanup(tlsSrv.Close)
	_, plainPort, _ := net.SplitHostPort(plain.Listener.Addr().String())
	resolver, _ := fakeDNS(netip.MustParseAddr("127.0.0.1"))
	f := newProxy(t, newGuard(t, "", Config{Resolver: resolver}), nil)

	for _, target := range []string{
		plain.URL + "/x",  // literal loopback, plain HTTP
		tlsSrv.URL + "/x", // literal loopback, CONNECT
		"http://rebind.example:" + plainPort + "/x", // a name resolving to loopback
	} {
		resp, err := f.client(tlsSrv).Get(target)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s through the proxy: status %d, want a failure", target, resp.StatusCode)
		}
	}
	if n := plain.conns.Load(); n != 0 {
		t.Errorf("the refused plain server accepted %d connections", n)
	}
	if n := tlsHits.Load(); n != 0 {
		t.Errorf("the refused TLS server served %d requests", n)
	}
	want := []string{
		strings.TrimPrefix(plain.URL, "http://"),
		strings.TrimPrefix(tlsSrv.URL, "https://"),
		"rebind.example:" + plainPort,
	}
	got := f.refusals()
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("refusals %v do not include %s", got, w)
		}
	}
}

func TestProxyDeny(t *testing.T) {
	t.Parallel()
	srv := newLoopbackServer(t, ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resolver, _ := fakeDNS(netip.MustParseAddr("127.0.0.1"))
	f := newProxy(t, newGuard(t, "127.0.0.0/8", Config{Resolver: resolver}), func(host string) error {
		if host == "ads.example" {
			return errors.New("listed")
		}
		return nil
	})
	if resp, err := f.client(nil).Get("http://ads.example:" + port + "/"); err == nil {
		resp.Body.Close()
		t.Error("denied host was forwarded")
	}
	if srv.hits.Load() != 0 {
		t.Error("denied host reached the server")
	}
	resp, err := f.client(nil).Get("http://fine.example:" + port + "/")
	if err != nil {
		t.Fatalf("allowed host: %v", err)
	}
	resp.Body.Close()
	if got := f.refusals(); len(got) != 1 || got[0] != "ads.example:"+port {
		t.Errorf("refusals %v, want [ads.example:%s]", got, port)
	}
}

// TestProxyCloseCutsTunnels: nothing opened through the proxy outlives it.
func TestProxyCloseCutsTunnels(t *testing.T) {
	t.Parallel()
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { upstream.Close() })
	f := newProxy(t, newGuard(t, "127.0.0.0/8", Config{}), nil)

	conn, err := net.Dial("tcp", f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %[1]s\r\n\r\n", upstream.Addr())
	// Read as the answer to a CONNECT: a 2xx has no body, the connection
	// is the tunnel.
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v, %v", resp, err)
	}
	// The answer has no length, so closing its body reads nothing of the tunnel.
	defer resp.Body.Close()
	up, err := upstream.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	// The tunnel carries bytes both ways.
	if _, err := io.WriteString(conn, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if err := up.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(up, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel: read %q, %v", buf, err)
	}

	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Read(buf); err == nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		t.Errorf("upstream read after Close = %v, want EOF or reset", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestProxyRejectsOriginForm(t *testing.T) {
	t.Parallel()
	f := newProxy(t, newGuard(t, "127.0.0.0/8", Config{}), nil)
	resp, err := http.Get("http://" + f.Addr() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: status %d, want 400", resp.StatusCode)
	}
}

// TestProxyMaxBytes: past the cap, transfers are cut and new connections
// refused.
func TestProxyMaxBytes(t *testing.T) {
	t.Parallel()
	srv := newLoopbackServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 64<<10))
	})
	var refused atomic.Int32
	p, err := NewProxy(ProxyConfig{Guard: newGuard(t, "127.0.0.0/8", Config{}), MaxBytes: 16 << 10,
		OnRefused: func(string, error) { refused.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	client := (&proxyFixture{Proxy: p}).client(nil)

	resp, err := client.Get(srv.URL + "/big")
	if err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && len(body) == 64<<10 {
			t.Fatalf("got all %d bytes through a 16 KiB cap", len(body))
		}
	}
	hits := srv.hits.Load()
	if resp, err := client.Get(srv.URL + "/again"); err == nil {
		resp.Body.Close()
		t.Error("a request after the cap went through")
	}
	if srv.hits.Load() != hits || refused.Load() == 0 {
		t.Errorf("after the cap: server hits %d → %d, refusals %d", hits, srv.hits.Load(), refused.Load())
	}
}
