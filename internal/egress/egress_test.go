package egress

import (
	"github.com/renderhook/renderhook/internal/egress/egresstest"

	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newGuard builds a Guard allowing the comma-separated allow list, with no
// working DNS unless cfg supplies a resolver: this machine's resolver is
// not on loopback, and tests must not send traffic anywhere else.
func newGuard(t *testing.T, allow string, cfg Config) *Guard {
	t.Helper()
	prefixes, err := ParseAllowList(allow)
	if err != nil {
		t.Fatalf("ParseAllowList(%q): %v", allow, err)
	}
	cfg.Allow = prefixes
	if cfg.Resolver == nil {
		cfg.Resolver = noDNS(t)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// noDNS is a resolver that fails the test if a DNS query is attempted.
func noDNS(t *testing.T) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			t.Errorf("unexpected DNS query to %s %s", network, address)
			return nil, errors.New("DNS disabled in tests")
		},
	}
}

// fakeDNS is a resolver that answers every A query with answer (see
// egresstest.FakeResolver).
func fakeDNS(answer netip.Addr) (r *net.Resolver, queries *atomic.Int32) {
	return egresstest.FakeResolver(answer)
}

// loopbackServer is an httptest server on loopback that counts requests and
// accepted TCP connections.
type loopbackServer struct {
	*httptest.Server
	hits  atomic.Int32
	conns atomic.Int32
}

func newLoopbackServer(t *testing.T, h http.HandlerFunc) *loopbackServer {
	t.Helper()
	s := &loopbackServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	// net/http reports StateNew from its accept loop, in accept order,
	// before serving the connection.
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// getErr is the error of a GET that must fail (the body closed should it
// not).
func getErr(client *http.Client, url string) error {
	res, err := client.Get(url)
	if err == nil {
		res.Body.Close()
	}
	return err
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

// assertOnlyConnectionIs makes a request that must succeed, then proves that
// no earlier dial to s established a TCP connection: one that had would sit
// ahead of this request's in the accept queue and be counted first.
func (s *loopbackServer) assertOnlyConnectionIs(t *testing.T, client *http.Client, rawURL string) {
	t.Helper()
	resp, err := client.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s with loopback allowed: %v", rawURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET %s = %d %q, want 200 \"ok\"", rawURL, resp.StatusCode, body)
	}
	if got := s.conns.Load(); got != 1 {
		t.Errorf("server accepted %d connections, want 1 (the refused dial connected)", got)
	}
	if got := s.hits.Load(); got != 1 {
		t.Errorf("handler ran %d times, want 1", got)
	}
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("error = %v, want one wrapping ErrForbiddenAddress", err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not mention %q", err, msg)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	g := newGuard(t, "", Config{})

	refused := []struct {
		addr string
		msg  string // substring of the error
	}{
		// IPv4 special-purpose ranges.
		{"127.0.0.1", "127.0.0.1 is loopback"},
		{"127.255.255.254", "is loopback"},
		{"0.0.0.0", `0.0.0.0 is unspecified ("this network")`},
		{"0.1.2.3", "this network"},
		{"10.0.0.1", "10.0.0.1 is private (RFC 1918)"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.0.1", "169.254.0.1 is link-local"},
		{"169.254.169.254", "169.254.169.254 is the cloud metadata address"},
		{"100.100.100.200", "100.100.100.200 is the Alibaba Cloud metadata address"},
		{"168.63.129.16", "Azure"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "255.255.255.255 is the broadcast address"},
		{"240.0.0.1", "reserved (240.0.0.0/4)"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"192.0.0.170", "IETF protocol assignments"},
		{"192.88.99.1", "6to4 relay"},

		// IPv6 ranges.
		{"::1", "::1 is loopback"},
		{"::", ":: is unspecified"},
		{"fe80::1", "fe80::1 is link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fd00:ec2::254", "fd00:ec2::254 is the AWS IPv6 metadata address"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"100::1", "discard-only"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001:2::1", "benchmarking"},
		{"2001:10::1", "ORCHID"},
		{"5f00::1", "SRv6"},
		{"4000::1", "outside IPv6 global unicast"},

		// IPv4 addresses in IPv6 clothing.
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1 is loopback"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:0.0.0.0", "this network"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"::169.254.169.254", "IPv4-compatible"},
		{"::8.8.8.8", "IPv4-compatible"},
		{"64:ff9b::127.0.0.1", "64:ff9b::7f00:1 is a NAT64 address embedding 127.0.0.1, which is loopback"},
		{"64:ff9b::169.254.169.254", "NAT64 address embedding 169.254.169.254, which is the cloud metadata address"},
		{"64:ff9b::10.0.0.1", "NAT64 address embedding 10.0.0.1, which is private"},
		{"64:ff9b:1::10.0.0.1", "local-use NAT64 address embedding 10.0.0.1"},
		{"64:ff9b:1:abcd::127.0.0.1", "local-use NAT64 address embedding 127.0.0.1"},
		{"2002:7f00:1::1", "6to4 address embedding 127.0.0.1, which is loopback"},
		{"2002:a9fe:a9fe::", "6to4 address embedding 169.254.169.254"},
		{"2002:c0a8:101:1::1", "6to4 address embedding 192.168.1.1"},
		// Teredo: server 8.8.8.8, client 127.0.0.1 (stored inverted).
		{"2001:0:808:808::80ff:fffe", "Teredo address for client 127.0.0.1, which is loopback"},
		// The RFC 4380 example: client 192.0.2.45.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo address for client 192.0.2.45"},
		// Server 10.0.0.1, client 8.8.8.8.
		{"2001:0:a00:1::f7f7:f7f7", "Teredo address with server 10.0.0.1"},
	}
	for _, tt := range refused {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			wantForbidden(t, g.Check(netip.MustParseAddr(tt.addr)), tt.msg)
		})
	}

	public := []string{
		"8.8.8.8", "1.1.1.1", "9.9.9.9", "11.0.0.1", "100.63.255.255",
		"100.128.0.1", "169.255.0.1", "172.15.255.255", "172.32.0.1",
		"192.169.0.1", "198.20.0.1", "223.255.255.255",
		"2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1",
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b:1::8.8.8.8",
		"2002:808:808::1", "2001:0:808:808::f7f7:f7f7",
	}
	for _, addr := range public {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			if err := g.Check(netip.MustParseAddr(addr)); err != nil {
				t.Errorf("Check(%s) = %v, want nil", addr, err)
			}
		})
	}

	t.Run("zero address", func(t *testing.T) {
		t.Parallel()
		wantForbidden(t, g.Check(netip.Addr{}), "not a valid IP address")
	})
}

func TestCheckAllow(t *testing.T) {
	t.Parallel()
	g := newGuard(t, "127.0.0.0/8, 10.1.0.0/16, fd00::/8, ::ffff:192.168.0.0/112", Config{})

	for _, addr := range []string{
		"127.0.0.1", "127.3.2.1", "::ffff:127.0.0.1", // mapped form unwraps to 127/8
		"64:ff9b::127.0.0.1", "2002:7f00:1::", // so do the translated forms
		"10.1.2.3", "fd00::1", "fd00:ec2::254",
		"192.168.4.4", // from the IPv4-mapped prefix
		"8.8.8.8",     // public stays reachable
	} {
		if err := g.Check(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", addr, err)
		}
	}
	for _, tt := range []struct{ addr, msg string }{
		{"10.2.0.1", "private"},
		{"::1", "loopback"}, // 127.0.0.0/8 does not cover IPv6 loopback
		{"169.254.169.254", "cloud metadata"},
		{"fc00::1", "unique-local"},
		{"192.169.0.1", ""}, // public: nil
	} {
		err := g.Check(netip.MustParseAddr(tt.addr))
		if tt.msg == "" {
			if err != nil {
				t.Errorf("Check(%s) = %v, want nil", tt.addr, err)
			}
			continue
		}
		wantForbidden(t, err, tt.msg)
	}

	t.Run("IPv6 prefix does not cover IPv4", func(t *testing.T) {
		t.Parallel()
		g := newGuard(t, "::/0", Config{})
		wantForbidden(t, g.Check(netip.MustParseAddr("::ffff:10.0.0.1")), "private")
		if err := g.Check(netip.MustParseAddr("fe80::1")); err != nil {
			t.Errorf("Check(fe80::1) with ::/0 allowed = %v, want nil", err)
		}
	})
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()

	got, err := ParseAllowList(" 10.0.0.0/8, 127.0.0.1 ,::1,fd00::/8,,")
	if err != nil {
		t.Fatalf("ParseAllowList: %v", err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fd00::/8"),
	}
	if len(got) != len(want) {
		t.Fatalf("ParseAllowList = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %v, want %v", i, got[i], want[i])
		}
	}

	if got, err := ParseAllowList(""); err != nil || len(got) != 0 {
		t.Errorf(`ParseAllowList("") = %v, %v; want empty, nil`, got, err)
	}

	for _, tt := range []struct{ in, msg string }{
		{"banana", `"banana": not an IP address or CIDR prefix`},
		{"10.0.0.0/8,10.0.0.0/33", `"10.0.0.0/33"`},
		{"256.0.0.1", `"256.0.0.1"`},
		{"10.0.0.0/8;192.168.0.0/16", "not an IP address or CIDR prefix"},
		{"10.0.0.1/8", "did you mean 10.0.0.0/8?"},
		{"fe80::1%eth0", "zones"},
		{"http://10.0.0.1/", "not an IP address"},
	} {
		_, err := ParseAllowList(tt.in)
		if err == nil {
			t.Errorf("ParseAllowList(%q) succeeded, want error", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseAllowList(%q) error %q does not mention %q", tt.in, err, tt.msg)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	if _, err := New(Config{DialTimeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("New with negative DialTimeout: err = %v, want a 'negative' error", err)
	}
	if _, err := New(Config{Allow: []netip.Prefix{{}}}); err == nil || !strings.Contains(err.Error(), "allow entry 0") {
		t.Errorf("New with zero prefix: err = %v, want an 'allow entry 0' error", err)
	}

	g := newGuard(t, "", Config{})
	d := g.Dialer()
	if d.Timeout != DefaultDialTimeout {
		t.Errorf("Dialer().Timeout = %v, want %v", d.Timeout, DefaultDialTimeout)
	}
	if d.Control == nil || d.ControlContext != nil {
		t.Error("Dialer() must set Control and leave ControlContext nil")
	}

	c := g.HTTPClient(ClientOptions{})
	if c.Timeout != DefaultClientTimeout {
		t.Errorf("HTTPClient().Timeout = %v, want %v", c.Timeout, DefaultClientTimeout)
	}
	tr := c.Transport.(*http.Transport)
	// An environment proxy would make Control see the proxy's address.
	if tr.Proxy != nil {
		t.Error("HTTPClient transport uses a proxy, want none")
	}
	if tr.ResponseHeaderTimeout != DefaultClientTimeout || tr.TLSHandshakeTimeout != 10*time.Second {
		t.Errorf("transport timeouts = %v header, %v TLS", tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout)
	}
	short := g.HTTPClient(ClientOptions{Timeout: 2 * time.Second}).Transport.(*http.Transport)
	if short.TLSHandshakeTimeout != 2*time.Second || short.ResponseHeaderTimeout != 2*time.Second {
		t.Errorf("with Timeout 2s, transport timeouts = %v header, %v TLS; want both 2s",
			short.ResponseHeaderTimeout, short.TLSHandshakeTimeout)
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	g := newGuard(t, "", Config{})

	wantForbidden(t, g.Control("tcp4", "169.254.169.254:80", nil), "cloud metadata")
	wantForbidden(t, g.Control("tcp6", "[fe80::1%eth0]:443", nil), "link-local")
	wantForbidden(t, g.Control("unix", "/var/run/docker.sock", nil), `network "unix"`)
	wantForbidden(t, g.Control("tcp", "example.com:80", nil), "cannot parse")
	if err := g.Control("tcp", "[2606:4700::1111]:443", nil); err != nil {
		t.Errorf("Control(public) = %v, want nil", err)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	g := newGuard(t, "", Config{})

	long := "https://example.com/" + strings.Repeat("a", MaxURLLength)
	tests := []struct {
		url  string
		want error  // nil, ErrInvalidURL or ErrForbiddenAddress
		msg  string // substring of the error
	}{
		// Accepted.
		{"https://example.com/hook", nil, ""},
		{"http://example.com:8080/x?y=1#frag", nil, ""},
		{"HTTPS://Example.COM/", nil, ""},
		{"https://example.com./", nil, ""},
		{"https://under_score.example/", nil, ""},
		{"https://xn--bcher-kva.example/", nil, ""},
		{"https://bücher.example/", nil, ""},
		{"https://foo.0xg/", nil, ""}, // last label is not a number
		{"http://8.8.8.8/", nil, ""},
		{"http://134744072/", nil, ""}, // 8.8.8.8
		{"http://0x08.0x08.0x08.0x08/", nil, ""},
		{"http://[2606:4700::1111]:443/", nil, ""},
		{"http://[::ffff:8.8.8.8]/", nil, ""},
		{long[:MaxURLLength], nil, ""},

		// Not a usable URL.
		{long[:MaxURLLength+1], ErrInvalidURL, "longer than 2048 bytes"},
		{"ftp://example.com/", ErrInvalidURL, `scheme "ftp" is not http or https`},
		{"file:///etc/passwd", ErrInvalidURL, `scheme "file"`},
		{"javascript:alert(1)", ErrInvalidURL, `scheme "javascript"`},
		{"gopher://example.com/", ErrInvalidURL, "scheme"},
		{"example.com/hook", ErrInvalidURL, "missing scheme"},
		{"//example.com/hook", ErrInvalidURL, "missing scheme"},
		{"", ErrInvalidURL, "missing scheme"},
		{"http://", ErrInvalidURL, "missing host"},
		{"http:///path", ErrInvalidURL, "missing host"},
		{"http:example.com", ErrInvalidURL, "missing host"},
		{"http://:80/", ErrInvalidURL, "missing host"},
		{"http://user:pass@example.com/", ErrInvalidURL, "credentials"},
		{"http://user@example.com/", ErrInvalidURL, "credentials"},
		{"http://@example.com/", ErrInvalidURL, "credentials"},
		{"http://example.com:0/", ErrInvalidURL, "port"},
		{"http://example.com:65536/", ErrInvalidURL, "port"},
		{"http://[::1/", ErrInvalidURL, "missing ']'"},
		{"http://exa mple.com/", ErrInvalidURL, "invalid character"},
		{"http://ex!ample.com/", ErrInvalidURL, `contains '!'`},
		{"http://example..com/", ErrInvalidURL, "empty label"},
		{"http://.example.com/", ErrInvalidURL, "empty label"},
		{"http://127.0.0.1../", ErrInvalidURL, "empty label"},
		{"http://1.2.3.4.5/", ErrInvalidURL, "more than four parts"},
		{"http://256.1.1.1/", ErrInvalidURL, "larger than 255"},
		{"http://1.2.3.256/", ErrInvalidURL, "too large"},
		{"http://0x100000000/", ErrInvalidURL, "too large"},
		{"http://1.2.3.09/", ErrInvalidURL, `"09" is not a number`},
		{"http://foo.123/", ErrInvalidURL, `"foo" is not a number`},

		// Literal addresses that Check refuses, in every spelling.
		{"http://127.0.0.1/", ErrForbiddenAddress, "127.0.0.1 is loopback"},
		{"http://127.0.0.1:8080/x", ErrForbiddenAddress, "127.0.0.1 is loopback"},
		{"http://127.0.0.1./", ErrForbiddenAddress, `host "127.0.0.1." is 127.0.0.1, which is loopback`},
		{"http://127.1/", ErrForbiddenAddress, `host "127.1" is 127.0.0.1, which is loopback`},
		{"http://2130706433/", ErrForbiddenAddress, `host "2130706433" is 127.0.0.1`},
		{"http://0177.0.0.1/", ErrForbiddenAddress, `host "0177.0.0.1" is 127.0.0.1`},
		{"http://0x7f.1/", ErrForbiddenAddress, `host "0x7f.1" is 127.0.0.1`},
		{"http://0X7F000001/", ErrForbiddenAddress, "127.0.0.1"},
		{"http://017700000001/", ErrForbiddenAddress, "127.0.0.1"},
		{"http://0/", ErrForbiddenAddress, "0.0.0.0"},
		{"http://0x/", ErrForbiddenAddress, "0.0.0.0"},
		{"http://10.0.0.1/", ErrForbiddenAddress, "private"},
		{"http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress, "cloud metadata"},
		{"http://0xa9.0xfe.0xa9.0xfe/", ErrForbiddenAddress, "169.254.169.254"},
		{"http://[::1]/", ErrForbiddenAddress, "::1 is loopback"},
		{"http://[::ffff:127.0.0.1]/", ErrForbiddenAddress, "loopback"},
		{"http://[::ffff:7f00:1]/", ErrForbiddenAddress, "loopback"},
		{"http://[fe80::1%25eth0]:80/", ErrForbiddenAddress, "link-local"},
		{"http://[64:ff9b::a9fe:a9fe]/", ErrForbiddenAddress, "NAT64 address embedding 169.254.169.254"},
		{"http://[fd00:ec2::254]/", ErrForbiddenAddress, "AWS"},
		{"http://１２７．０．０．１/", ErrForbiddenAddress, "127.0.0.1"},
		{"http://127。0。0。1/", ErrForbiddenAddress, "127.0.0.1"},
		{"http://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/", ErrForbiddenAddress, "127.0.0.1"},

		// Names that always mean this machine.
		{"http://localhost/", ErrForbiddenAddress, `host "localhost" is loopback`},
		{"http://LOCALHOST:8080/", ErrForbiddenAddress, "loopback"},
		{"http://localhost./", ErrForbiddenAddress, "loopback"},
		{"http://api.localhost/", ErrForbiddenAddress, "loopback"},
		{"http://ip6-localhost/", ErrForbiddenAddress, "loopback"},
		{"http://ｌｏｃａｌｈｏｓｔ/", ErrForbiddenAddress, "loopback"},
	}
	for _, tt := range tests {
		name := tt.url
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := g.CheckURL(tt.url)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckURL = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckURL = %v, want error wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("CheckURL error %q does not mention %q", err, tt.msg)
			}
		})
	}

	t.Run("loopback allowed", func(t *testing.T) {
		t.Parallel()
		g := newGuard(t, "127.0.0.0/8", Config{})
		for _, u := range []string{"http://127.0.0.1:8080/", "http://0x7f.1/", "http://localhost/", "http://[::ffff:127.0.0.1]/"} {
			if err := g.CheckURL(u); err != nil {
				t.Errorf("CheckURL(%q) = %v, want nil", u, err)
			}
		}
		for _, u := range []string{"http://[::1]/", "http://10.0.0.1/"} {
			if err := g.CheckURL(u); !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("CheckURL(%q) = %v, want ErrForbiddenAddress", u, err)
			}
		}
	})
}

func TestHTTPClientRefusesLoopback(t *testing.T) {
	t.Parallel()
	srv := newLoopbackServer(t, ok)

	refusing := newGuard(t, "", Config{}).HTTPClient(ClientOptions{})
	resp, err := refusing.Get(srv.URL + "/hook")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded with status %d, want refusal", srv.URL, resp.StatusCode)
	}
	wantForbidden(t, err, "is loopback")
	if srv.hits.Load() != 0 {
		t.Fatal("handler ran for a refused request")
	}

	// The same server is reachable once loopback is allowed, and the
	// refused attempt left no connection behind.
	allowing := newGuard(t, "127.0.0.0/8,::1", Config{}).HTTPClient(ClientOptions{})
	srv.assertOnlyConnectionIs(t, allowing, srv.URL+"/hook")
}

// TestDialerChecksResolvedAddress dials a host name rather than an IP:
// Control must catch the loopback address it resolves to.
func TestDialerChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	srv := newLoopbackServer(t, ok)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// "localhost" comes from /etc/hosts; noDNS fails the test if the
	// lookup goes to a DNS server instead.
	conn, err := newGuard(t, "", Config{}).Dialer().DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err == nil {
		conn.Close()
		t.Fatal("dial localhost succeeded, want refusal")
	}
	wantForbidden(t, err, "is loopback")
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Addr == nil {
		t.Fatalf("error %v carries no resolved address", err)
	}
	if ap, err := netip.ParseAddrPort(opErr.Addr.String()); err != nil || !ap.Addr().IsLoopback() {
		t.Errorf("refused address = %v, want the loopback address localhost resolved to", opErr.Addr)
	}

	allowing := newGuard(t, "127.0.0.0/8,::1", Config{}).HTTPClient(ClientOptions{})
	srv.assertOnlyConnectionIs(t, allowing, "http://"+net.JoinHostPort("localhost", port)+"/")
}

// TestDNSRebinding resolves an innocent-looking public name to loopback, as
// a rebinding attacker's DNS server would after the URL was validated.
func TestDNSRebinding(t *testing.T) {
	t.Parallel()
	srv := newLoopbackServer(t, ok)
	serverAddr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	if !serverAddr.Addr().Is4() {
		t.Skip("needs an IPv4 loopback listener")
	}
	resolver, queries := fakeDNS(serverAddr.Addr())
	target := "http://" + net.JoinHostPort("rebind.example.com", strconv.Itoa(int(serverAddr.Port()))) + "/hook"

	g := newGuard(t, "", Config{Resolver: resolver})
	if err := g.CheckURL(target); err != nil {
		t.Fatalf("CheckURL(%q) = %v; host names must pass request-time checks", target, err)
	}
	resp, err := g.HTTPClient(ClientOptions{}).Get(target)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded with status %d, want refusal", target, resp.StatusCode)
	}
	wantForbidden(t, err, serverAddr.Addr().String()+" is loopback")
	if queries.Load() == 0 {
		t.Fatal("the fake DNS server was never asked")
	}

	allowing := newGuard(t, "127.0.0.0/8", Config{Resolver: resolver}).HTTPClient(ClientOptions{})
	srv.assertOnlyConnectionIs(t, allowing, target)
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	var next atomic.Int32
	srv := newLoopbackServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/next":
			next.Add(1)
			_, _ = io.WriteString(w, "followed")
		case "/to-ipv6-loopback":
			http.Redirect(w, r, "http://[::1]:1/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			http.Redirect(w, r, "/next", http.StatusFound)
		}
	})
	g := newGuard(t, "127.0.0.0/8", Config{})

	t.Run("not followed by default", func(t *testing.T) {
		resp, err := g.HTTPClient(ClientOptions{}).Get(srv.URL + "/")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/next" {
			t.Errorf("got %d Location %q, want the 302 to /next itself", resp.StatusCode, resp.Header.Get("Location"))
		}
		if next.Load() != 0 {
			t.Error("the redirect was followed")
		}
	})

	t.Run("followed when asked", func(t *testing.T) {
		resp, err := g.HTTPClient(ClientOptions{FollowRedirects: true}).Get(srv.URL + "/")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "followed" || next.Load() != 1 {
			t.Errorf("got %d %q after %d hits on /next, want 200 \"followed\" after 1", resp.StatusCode, body, next.Load())
		}
	})

	t.Run("followed redirect targets are checked", func(t *testing.T) {
		client := g.HTTPClient(ClientOptions{FollowRedirects: true})
		err := getErr(client, srv.URL+"/to-ipv6-loopback")
		wantForbidden(t, err, "::1 is loopback")
		err = getErr(client, srv.URL+"/to-file")
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("redirect to file:// = %v, want ErrInvalidURL", err)
		}
	})
}

func TestHTTPClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newLoopbackServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	client := newGuard(t, "127.0.0.0/8,::1", Config{}).HTTPClient(ClientOptions{Timeout: 100 * time.Millisecond})
	start := time.Now()
	err := getErr(client, srv.URL)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("GET on a stalled server = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("timeout took %v, want about 100ms", elapsed)
	}
}

// FuzzCheckURL checks that CheckURL never panics, only accepts URLs net/url
// parses as http or https with a host, and never accepts a literal IP host
// that Check refuses.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/hook", "http://127.0.0.1/", "http://0x7f.1/",
		"http://2130706433/", "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/",
		"http://[fe80::1%25eth0]/", "http://localhost./", "http://１２７．０．０．１/",
		"ftp://x/", "http://u:p@x/", "http:x", "http://1.2.3.4.5/", "http://0x/",
		"http://[64:ff9b::a9fe:a9fe]:80/", "http://foo.0xg/", "http://8.8.8.8:65535/",
	} {
		f.Add(s)
	}
	g, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := g.CheckURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("CheckURL(%q) = %v, wraps neither sentinel", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("CheckURL accepted %q, which net/url rejects: %v", raw, perr)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("CheckURL accepted %q with scheme %q", raw, u.Scheme)
		}
		if u.Hostname() == "" || u.User != nil {
			t.Fatalf("CheckURL accepted %q without a host or with user info", raw)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			if cerr := g.Check(a); cerr != nil {
				t.Fatalf("CheckURL accepted %q but Check refuses its host: %v", raw, cerr)
			}
		}
		if a, isIP, err := parseIPv4Host(strings.ToLower(u.Hostname())); isIP && err == nil {
			if cerr := g.Check(a); cerr != nil {
				t.Fatalf("CheckURL accepted %q but Check refuses its host %s: %v", raw, a, cerr)
			}
		}
	})
}
