// Package egress guards every outbound connection renderhook makes on a
// client's behalf: webhook POSTs, and the headless browser's page loads,
// which go through a [Proxy] that dials with the guard.
//
// A client chooses the URL, so without a guard it could point renderhook at
// its own loopback admin ports, the cloud metadata service or the private
// network it runs in (server-side request forgery). The guard refuses those
// destinations twice:
//
//   - at request time, [Guard.CheckURL] rejects malformed URLs and literal
//     IP hosts (in every spelling a browser accepts) so the API can answer
//     400 straight away;
//   - at connect time, [Guard.Control] runs inside [net.Dialer] on the IP the
//     host name actually resolved to, so a name that resolves (or rebinds)
//     to a forbidden address is refused before the socket connects.
//
// Only the connect-time check is a security boundary; CheckURL is for clear
// errors. Use [Guard.Dialer], [Guard.HTTPClient] or [Proxy] for every
// outbound connection.
package egress

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped by every error that refuses a destination
// because of its IP address (or a name that always means loopback). The
// wrapping message names the address and the reason, and is safe to return
// to an API client.
var ErrForbiddenAddress = errors.New("forbidden address")

// ErrInvalidURL is wrapped by [Guard.CheckURL] errors for URLs that are not
// acceptable outbound targets regardless of where they point.
var ErrInvalidURL = errors.New("invalid URL")

// Defaults applied by [New] and [Guard.HTTPClient] for zero values.
const (
	DefaultDialTimeout      = 5 * time.Second
	DefaultClientTimeout    = 15 * time.Second
	DefaultIdleConnsPerHost = 64

	// tlsHandshakeTimeout caps the TLS handshake; a client's Timeout lower
	// than this lowers it too.
	tlsHandshakeTimeout = 10 * time.Second
	// maxRedirects matches net/http's own limit when redirects are followed.
	maxRedirects = 10
)

// Config configures a [Guard].
type Config struct {
	// Allow lists prefixes that are reachable even though they fall in a
	// forbidden range, e.g. 10.0.0.0/8 for an internal webhook receiver or
	// 127.0.0.0/8 in development. Addresses are matched in their plain form,
	// so IPv4 prefixes also cover IPv4-mapped IPv6 (::ffff:a.b.c.d), and an
	// IPv4-mapped prefix such as ::ffff:10.0.0.0/104 is treated as
	// 10.0.0.0/8. An allowed IPv4 prefix also allows the NAT64, 6to4 and
	// Teredo spellings of its addresses. Empty means only public addresses
	// are reachable. See [ParseAllowList] for the flag syntax.
	Allow []netip.Prefix

	// DialTimeout bounds a single connection attempt, DNS lookup included.
	// Zero means DefaultDialTimeout.
	DialTimeout time.Duration

	// Resolver looks up host names for [Guard.Dialer] and
	// [Guard.HTTPClient]. Nil means net.DefaultResolver. Whatever it returns
	// is checked at connect time, so it need not be trusted.
	Resolver *net.Resolver
}

// WithDefaults returns c with a zero DialTimeout set to DefaultDialTimeout.
func (c Config) WithDefaults() Config {
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	return c
}

func (c *Config) validate() error {
	if c.DialTimeout < 0 {
		return fmt.Errorf("dial timeout %v must not be negative", c.DialTimeout)
	}
	for i, p := range c.Allow {
		if !p.IsValid() {
			return fmt.Errorf("allow entry %d is not a valid prefix", i)
		}
	}
	return nil
}

// Guard decides which destinations outbound connections may reach and hands
// out dialers and HTTP clients that enforce it. It is immutable and safe for
// concurrent use.
type Guard struct {
	allow       []netip.Prefix
	dialTimeout time.Duration
	resolver    *net.Resolver
}

// New returns a Guard for cfg, or an error if cfg is invalid.
func New(cfg Config) (*Guard, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("egress config: %w", err)
	}
	cfg = cfg.WithDefaults()
	g := &Guard{
		dialTimeout: cfg.DialTimeout,
		resolver:    cfg.Resolver,
	}
	for _, p := range cfg.Allow {
		g.allow = append(g.allow, normalizePrefix(p))
	}
	return g, nil
}

// normalizePrefix turns an IPv4-mapped IPv6 prefix into its IPv4 form, since
// addresses are unmapped before they are matched.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// ParseAllowList parses the --egress-allow flag: a comma-separated list of
// CIDR prefixes or bare IP addresses (taken as /32 or /128). Blank entries
// are ignored, so "" yields an empty list. Prefixes with host bits set
// (10.0.0.1/8) are rejected because they usually mean a typo.
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parseAllowEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("parse egress allow list: %q: %w", entry, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllowEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "%") {
		return netip.Prefix{}, errors.New("IPv6 zones are not allowed")
	}
	if !strings.Contains(entry, "/") {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("host bits are set; did you mean %s?", m)
	}
	return p, nil
}

// Control refuses to connect to a forbidden address. It has the signature of
// [net.Dialer.Control] and runs after name resolution, on the IP about to be
// connected to, for every address a dial tries. Non-IP networks (unix
// sockets) are refused.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("%w: network %q is not allowed", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrForbiddenAddress, address)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a new dialer that refuses forbidden addresses at connect
// time. Don't set its ControlContext: that would replace Control.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{
		Timeout:  g.dialTimeout,
		Control:  g.Control,
		Resolver: g.resolver,
	}
}

// ClientOptions configures an HTTP client from [Guard.HTTPClient].
type ClientOptions struct {
	// Timeout bounds a whole request, body included. Zero or negative means
	// DefaultClientTimeout.
	Timeout time.Duration

	// FollowRedirects makes the client follow up to 10 redirects, each
	// target checked with [Guard.CheckURL] as well as at connect time. By
	// default the client returns the 3xx response itself: a webhook
	// receiver has no reason to redirect, and a redirect is how a
	// harmless-looking URL would reach a forbidden one.
	FollowRedirects bool

	// IdleConnsPerHost is how many idle connections to one host are kept
	// for reuse; default DefaultIdleConnsPerHost. A client making that many requests at once to
	// one receiver should keep as many, or it closes and reopens
	// connections all the time.
	IdleConnsPerHost int
}

// HTTPClient returns a new HTTP client whose connections all go through
// [Guard.Dialer]. It ignores HTTP_PROXY and friends, because a proxy would
// make the connect-time check see the proxy's address instead of the
// destination's. Each call builds its own connection pool, so build one
// client per purpose and reuse it.
func (g *Guard) HTTPClient(opts ClientOptions) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.Dialer().DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           max(256, opts.IdleConnsPerHost),
		MaxIdleConnsPerHost:    cmp.Or(opts.IdleConnsPerHost, DefaultIdleConnsPerHost),
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if opts.FollowRedirects {
		client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if err := g.CheckURL(req.URL.String()); err != nil {
				return fmt.Errorf("redirect: %w", err)
			}
			return nil
		}
	}
	return client
}
