package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/egress/egresstest"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/testkit"
)

// refusedAddr is where the SSRF test's forbidden listener runs: loopback,
// but outside the one address (v1Allowed) the server may reach.
const refusedAddr = "127.0.0.3"

// TestV1SSRFTable sends URL renders whose targets are private, loopback or
// metadata addresses in every spelling we know, through POST
// /v1/render/sync, to a server that may reach only v1Allowed and whose
// resolver answers every host name with refusedAddr. None may render, and
// a listener on refusedAddr must never see a connection: not from the
// pre-check, not from Chromium, not through a redirect or an embed.
func TestV1SSRFTable(t *testing.T) {
	requireChromium(t)
	forbidden := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<h1>secret</h1>")
	}))
	conns := egresstest.CountConns(forbidden)
	if err := testkit.StartOn(t, forbidden, refusedAddr+":0"); err != nil {
		t.Skipf("cannot listen on %s: %v", refusedAddr, err)
	}
	_, port, _ := net.SplitHostPort(forbidden.Listener.Addr().String())

	site := newV1Site(t)
	// A public-looking page (on the one reachable address) that redirects
	// to, or embeds, the forbidden listener.
	pages := serveAllowed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://"+refusedAddr+":"+port+"/", http.StatusFound)
		case "/embed":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><body style="margin:0;background:#fff"><img src="http://%s:%s/x.png"><iframe src="http://intranet.example:%s/"></iframe>`+
				`<script>fetch("http://[::ffff:%s]:%s/f").catch(()=>{})</script></body>`, refusedAddr, port, port, refusedAddr, port)
		}
	}))

	resolver, queries := egresstest.FakeResolver(netip.MustParseAddr(refusedAddr))
	cfg := egressAllow(v1Allowed + "/32")
	cfg.Resolver = resolver
	e := startServerCfg(t, server.Config{
		Browser: browser.Config{MaxTabs: 2, RenderTimeout: 15 * time.Second},
		Egress:  cfg,
	})
	_ = site

	p := ":" + port
	forms := []string{
		"http://" + refusedAddr + p + "/",
		"http://127.0.0.1" + p + "/",
		"http://localhost" + p + "/",
		"http://LOCALHOST." + p + "/",
		"http://2130706435" + p + "/",         // decimal 127.0.0.3
		"http://0177.0.0.3" + p + "/",         // octal
		"http://0x7f.0.0.3" + p + "/",         // hex
		"http://0x7f000003" + p + "/",         // one hex number
		"http://127.3" + p + "/",              // short form
		"http://[::ffff:127.0.0.3]" + p + "/", // IPv4-mapped IPv6
		"http://[::ffff:7f00:3]" + p + "/",
		"http://[64:ff9b::7f00:3]" + p + "/", // NAT64
		"http://[::1]" + p + "/",
		"http://0.0.0.0" + p + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://10.0.0.1/",
		"http://[::ffff:10.0.0.1]/",
		"http://012.0.0.1/", // octal 10.0.0.1
		"http://167772161/", // decimal 10.0.0.1
		"http://172.16.0.1/",
		"http://192.168.1.1/",
		"http://100.64.0.1/", // CGNAT
		"http://[fe80::1]/",
		"file:///etc/passwd",
		"http://intranet.example" + p + "/", // resolves to refusedAddr
		"https://intranet.example" + p + "/",
		pages.URL + "/redirect", // allowed page redirecting to a refused one
	}
	if len(forms) < 20 {
		t.Fatalf("only %d forms", len(forms))
	}
	for _, u := range forms {
		t.Run(u, func(t *testing.T) {
			r := e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": u, "timeout": 10000})
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d %s, want a 4xx refusal", r.Status, r.Body)
			}
		})
	}
	// The embedding page renders, without any of what it embeds.
	r := e.do("POST", "/v1/render/sync", e.token, map[string]any{"url": pages.URL + "/embed", "timeout": 10000})
	if r.Status != http.StatusOK {
		t.Fatalf("embedding page: %d %s", r.Status, r.Body)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the refused listener saw %d connection(s)", n)
	}
	// The host names did go to the resolver (refused at connect time, by
	// address): the test would pass vacuously otherwise.
	if queries.Load() == 0 {
		t.Fatal("no host name was ever resolved")
	}
	if !strings.Contains(string(r.Body), "renderUrl") {
		t.Fatalf("embedding page answer: %s", r.Body)
	}
}
