package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// ProxyConfig configures a [Proxy].
type ProxyConfig struct {
	// Guard decides which destinations the proxy may connect to. Required.
	Guard *Guard
	// Deny, if set, is asked about every destination host (a name or an IP
	// literal, without port) before it is dialled; a non-nil error refuses
	// it like a forbidden address. The browser uses it for its ad blocklist.
	Deny func(host string) error
	// OnRefused, if set, is called with the destination ("host:port") and
	// the reason whenever the guard or Deny refuses a connection. It may be
	// called from several goroutines at once.
	OnRefused func(hostport string, err error)
	// MaxBytes caps the bytes received from upstream servers over the
	// proxy's lifetime, all connections together; 0 means no cap. Past it,
	// open connections are cut and new ones refused with ErrTransferLimit,
	// so a page cannot pull unbounded data into the browser's memory.
	MaxBytes int64
	// Upstream, if set, is asked for each new connection whether it goes
	// through a further HTTP proxy ("http://[user:pass@]host:port"; nil:
	// straight to the destination). The upstream's own address is what
	// the guard then checks at connect time, the destination host is
	// checked as CheckURL checks a URL's (no literal forbidden address,
	// no localhost name) and by Deny, and the upstream's credentials are
	// sent as Proxy-Authorization. A client's proxy option uses it.
	Upstream func() *url.URL
	// Logger receives unexpected errors. Default slog.Default().
	Logger *slog.Logger
}

// ErrTransferLimit is the refusal of a connection through a [Proxy] once its
// ProxyConfig.MaxBytes have been received.
var ErrTransferLimit = errors.New("transfer limit reached")

// Proxy is an HTTP forward proxy on a loopback port whose every upstream
// connection is made by [Guard.Dialer]. It exists so a headless browser,
// which cannot take a dialer, still has all its traffic checked at connect
// time: point the browser's proxy setting at [Proxy.Addr] (with loopback not
// bypassed) and every page load, subresource, fetch, redirect and websocket
// goes through the guard, on the address the name actually resolved to.
//
// It speaks CONNECT (https, wss, and ws, which browsers tunnel too) and
// absolute-form plain-HTTP requests. A refused CONNECT is answered 403, which
// browsers report as a tunnel failure; a refused plain-HTTP request has its
// connection closed with no response, so it fails the same way rather than
// showing the page an answer no server gave.
//
// Only local processes can reach it (it listens on 127.0.0.1), and it adds no
// forwarding headers, so upstream servers learn nothing about the service.
type Proxy struct {
	cfg       ProxyConfig
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	forward   *httputil.ReverseProxy

	received atomic.Int64 // bytes read from upstream servers

	mu      sync.Mutex
	tunnels map[net.Conn]struct{} // hijacked connections, closed by Close
	closed  bool
	wg      sync.WaitGroup // tunnel copy goroutines
}

// proxyReadHeaderTimeout bounds how long a client may take to send a request
// head; the browser sends it at once.
const proxyReadHeaderTimeout = 10 * time.Second

// errRefusedByDeny marks a refusal by ProxyConfig.Deny.
var errRefusedByDeny = errors.New("refused")

// NewProxy starts a proxy listening on 127.0.0.1 at a free port. Call Close
// to stop it.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.Guard == nil {
		return nil, errors.New("start egress proxy: no guard")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Binding a loopback port does not block, so no caller's context is needed.
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start egress proxy: %w", err)
	}
	p := &Proxy{cfg: cfg, ln: ln, tunnels: make(map[net.Conn]struct{})}
	p.transport = &http.Transport{
		// Never chain to a proxy from the environment: the guard must see
		// the destination's address, or the client's upstream proxy's.
		Proxy:                 p.upstreamFor,
		DialContext:           p.dial,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		// Pass bodies through as the server encoded them.
		DisableCompression: true,
	}
	p.forward = &httputil.ReverseProxy{
		// The incoming request is already absolute-form; keep its URL and
		// Host, and add no X-Forwarded-* headers.
		Rewrite:      func(*httputil.ProxyRequest) {},
		Transport:    p.transport,
		ErrorHandler: p.forwardError,
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: proxyReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("egress proxy stopped", "err", err)
		}
	}()
	return p, nil
}

// Addr returns the proxy's address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and closes every connection through it, tunnels
// included, so nothing a page opened outlives it.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
	err := p.srv.Close()
	p.transport.CloseIdleConnections()
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("close egress proxy: %w", err)
	}
	return nil
}

// dial connects to addr through the guard, after asking Deny.
func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: bad destination %q", ErrInvalidURL, addr)
	}
	if p.cfg.Deny != nil {
		if err := p.cfg.Deny(host); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errRefusedByDeny, host, err)
		}
	}
	if p.overLimit() {
		return nil, fmt.Errorf("%w: %d bytes received", ErrTransferLimit, p.received.Load())
	}
	c, err := p.cfg.Guard.Dialer().DialContext(ctx, network, addr)
	if err != nil || p.cfg.MaxBytes <= 0 {
		return c, err
	}
	return &countingConn{Conn: c, p: p}, nil
}

func (p *Proxy) overLimit() bool {
	return p.cfg.MaxBytes > 0 && p.received.Load() > p.cfg.MaxBytes
}

// countingConn counts what an upstream connection receives against
// ProxyConfig.MaxBytes and fails reads once the cap is passed.
type countingConn struct {
	net.Conn
	p *Proxy
}

func (c *countingConn) Read(b []byte) (int, error) {
	if c.p.overLimit() {
		return 0, ErrTransferLimit
	}
	n, err := c.Conn.Read(b)
	c.p.received.Add(int64(n))
	return n, err
}

// refused reports whether err is a refusal (as opposed to a network failure)
// and tells OnRefused about it.
func (p *Proxy) refused(hostport string, err error) bool {
	if !errors.Is(err, ErrForbiddenAddress) && !errors.Is(err, errRefusedByDeny) && !errors.Is(err, ErrInvalidURL) &&
		!errors.Is(err, ErrTransferLimit) {
		return false
	}
	if p.cfg.OnRefused != nil {
		p.cfg.OnRefused(hostport, err)
	}
	return true
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "egress proxy: only absolute http:// requests and CONNECT", http.StatusBadRequest)
		return
	}
	if up := p.upstream(); up != nil {
		if err := p.checkDestination(hostPort(r.URL.Host, "80")); err != nil {
			p.forwardError(w, r, err)
			return
		}
	}
	p.forward.ServeHTTP(w, r)
}

// forwardError answers a plain-HTTP request that could not be forwarded.
func (p *Proxy) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	if p.refused(hostPort(r.URL.Host, "80"), err) {
		// No response at all: the browser reports a network error, as for a
		// refused tunnel.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, herr := hj.Hijack(); herr == nil {
				c.Close()
				return
			}
		}
		http.Error(w, "egress proxy: destination refused", http.StatusForbidden)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the browser gave up on the request
	}
	// Nor for a server that could not be reached or broke off: the browser
	// sees the network error it would see without a proxy (so a render
	// can retry it), not a 502 page no server sent.
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, herr := hj.Hijack(); herr == nil {
			c.Close()
			return
		}
	}
	http.Error(w, "egress proxy: upstream failed", http.StatusBadGateway)
}

// connect opens a tunnel to the CONNECT target and pipes bytes both ways.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	dest := r.Host
	if _, _, err := net.SplitHostPort(dest); err != nil {
		http.Error(w, "egress proxy: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	upstream, err := p.dialTunnel(r.Context(), dest)
	if err != nil {
		if p.refused(dest, err) {
			http.Error(w, "egress proxy: destination refused", http.StatusForbidden)
			return
		}
		http.Error(w, "egress proxy: connect failed", http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "egress proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	if !p.track(client, upstream) {
		client.Close()
		upstream.Close()
		return
	}
	var once sync.Once
	done := func() { once.Do(func() { p.untrack(client, upstream) }) }
	go func() {
		defer p.wg.Done()
		defer done()
		// Bytes the client sent after the CONNECT head are already buffered.
		if n := buf.Reader.Buffered(); n > 0 {
			head, _ := buf.Peek(n)
			if _, err := upstream.Write(head); err != nil {
				return
			}
		}
		_, _ = io.Copy(upstream, client)
	}()
	go func() {
		defer p.wg.Done()
		defer done()
		_, _ = io.Copy(client, upstream)
	}()
}

// track registers a tunnel's two connections so Close can end them, and
// counts its two copy goroutines; it refuses once the proxy is closed. The
// count is taken under the lock so it cannot race Close's Wait.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(2)
	for _, c := range conns {
		p.tunnels[c] = struct{}{}
	}
	return true
}

// untrack closes a finished tunnel's connections and forgets them.
func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(p.tunnels, c)
	}
}

// hostPort adds defaultPort to a URL host that has none.
func hostPort(host, defaultPort string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(trimBrackets(host), defaultPort)
}

func trimBrackets(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}
