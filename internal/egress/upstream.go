package egress

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// This file chains a [Proxy] to a further HTTP proxy (ProxyConfig.Upstream):
// the guard checks the upstream's address at connect time, and the
// destination as far as it can without resolving it (the upstream does).

// errUpstreamRefused marks an upstream proxy's refusal of a CONNECT.
var errUpstreamRefused = errors.New("upstream proxy refused the tunnel")

// upstream is the further proxy for a new connection, or nil.
func (p *Proxy) upstream() *url.URL {
	if p.cfg.Upstream == nil {
		return nil
	}
	return p.cfg.Upstream()
}

// upstreamFor is the plain-HTTP transport's Proxy: the transport sends
// the upstream's credentials as Proxy-Authorization itself.
func (p *Proxy) upstreamFor(*http.Request) (*url.URL, error) { return p.upstream(), nil }

// checkDestination refuses, for a connection through an upstream proxy
// (which resolves names itself), a destination Deny refuses or whose host
// CheckURL refuses: a literal forbidden address or a localhost name.
func (p *Proxy) checkDestination(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%w: bad destination %q", ErrInvalidURL, hostport)
	}
	if p.cfg.Deny != nil {
		if err := p.cfg.Deny(host); err != nil {
			return fmt.Errorf("%w: %s: %w", errRefusedByDeny, host, err)
		}
	}
	return p.cfg.Guard.CheckURL("http://" + hostport)
}

// dialTunnel connects to a CONNECT target: straight through the guard, or
// through the upstream proxy's own tunnel.
func (p *Proxy) dialTunnel(ctx context.Context, dest string) (net.Conn, error) {
	up := p.upstream()
	if up == nil {
		return p.dial(ctx, "tcp", dest)
	}
	if err := p.checkDestination(dest); err != nil {
		return nil, err
	}
	c, err := p.dial(ctx, "tcp", hostPort(up.Host, "80"))
	if err != nil {
		return nil, err
	}
	if err := connectThrough(c, up, dest); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connectThrough asks the upstream proxy on c for a tunnel to dest.
func connectThrough(c net.Conn, up *url.URL, dest string) error {
	if err := c.SetDeadline(time.Now().Add(proxyReadHeaderTimeout)); err != nil {
		return fmt.Errorf("upstream proxy: %w", err)
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Host: dest}, Host: dest, Header: make(http.Header)}
	if auth := proxyAuthorization(up); auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	if err := req.Write(c); err != nil {
		return fmt.Errorf("upstream proxy: send CONNECT: %w", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("upstream proxy: read CONNECT answer: %w", err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s", errUpstreamRefused, resp.Status)
	case br.Buffered() > 0:
		// The tunnel's bytes would be lost with br; a proxy has no reason
		// to speak before the client.
		return fmt.Errorf("%w: it sent data before the client", errUpstreamRefused)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("upstream proxy: %w", err)
	}
	return nil
}

// proxyAuthorization is the Basic Proxy-Authorization for up's user info,
// or "".
func proxyAuthorization(up *url.URL) string {
	if up.User == nil {
		return ""
	}
	pw, _ := up.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(up.User.Username()+":"+pw))
}
