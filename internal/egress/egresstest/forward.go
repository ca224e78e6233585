package egresstest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"testing"
)

// ForwardProxy is a plain HTTP forward proxy on loopback for tests of
// chained proxies: it speaks CONNECT and absolute-form requests, dials
// destinations directly (no guard: it stands for a client's own proxy),
// and records every request's target and Proxy-Authorization. With Auth
// set, a request without that Proxy-Authorization gets a 407.
type ForwardProxy struct {
	*httptest.Server
	Auth string

	mu      sync.Mutex
	targets []string
	auths   []string
}

// NewForwardProxy starts a ForwardProxy requiring auth ("" for none),
// closed when the test ends.
func NewForwardProxy(t testing.TB, auth string) *ForwardProxy {
	t.Helper()
	p := &ForwardProxy{Auth: auth}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// Seen returns the targets (host:port for CONNECT, the URL otherwise) and
// the Proxy-Authorization of each request, in order.
func (p *ForwardProxy) Seen() (targets, auths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...), append([]string(nil), p.auths...)
}

func (p *ForwardProxy) serve(w http.ResponseWriter, r *http.Request) {
	target := r.URL.String()
	if r.Method == http.MethodConnect {
		target = r.Host
	}
	auth := r.Header.Get("Proxy-Authorization")
	p.mu.Lock()
	p.targets = append(p.targets, target)
	p.auths = append(p.auths, auth)
	p.mu.Unlock()
	if p.Auth != "" && auth != p.Auth {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method != http.MethodConnect {
		(&httputil.ReverseProxy{Rewrite: func(*httputil.ProxyRequest) {}}).ServeHTTP(w, r)
		return
	}
	// A test's stand-in for a client's own proxy: it dials what it is
	// asked to, as such a proxy would.
	upstream, err := new(net.Dialer).DialContext(r.Context(), "tcp", r.Host) //nolint:gosec // G704: deliberately unguarded, see above
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n")
	go func() {
		_, _ = io.Copy(upstream, client)
		upstream.Close()
	}()
	go func() {
		_, _ = io.Copy(client, upstream)
		client.Close()
	}()
}
