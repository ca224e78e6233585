package egress_test

import (
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/renderhook/renderhook/internal/egress"
)

// A guard built from the --egress-allow flag: the office network may
// receive webhooks, everything else private stays out of reach.
func ExampleGuard_CheckURL() {
	allow, err := egress.ParseAllowList("10.20.0.0/16")
	if err != nil {
		log.Fatal(err)
	}
	guard, err := egress.New(egress.Config{Allow: allow})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range []string{
		"https://hooks.example.com/render-done",
		"http://10.20.1.5:8080/hook",
		"http://0x7f.1/",
		"http://169.254.169.254/latest/meta-data/",
		"ftp://example.com/",
	} {
		fmt.Println(guard.CheckURL(u))
	}
	fmt.Println(guard.Check(netip.MustParseAddr("64:ff9b::10.0.0.1")))
	// Output:
	// <nil>
	// <nil>
	// forbidden address: host "0x7f.1" is 127.0.0.1, which is loopback
	// forbidden address: 169.254.169.254 is the cloud metadata address (link-local)
	// invalid URL: scheme "ftp" is not http or https
	// forbidden address: 64:ff9b::a00:1 is a NAT64 address embedding 10.0.0.1, which is private (RFC 1918)
}

// A proxy for a program that cannot take a dialer, such as Chromium: point
// its proxy setting at Addr, and every connection it makes is checked on
// the address the name resolved to. Here the metadata service is refused.
func ExampleNewProxy() {
	guard, err := egress.New(egress.Config{})
	if err != nil {
		log.Fatal(err)
	}
	proxy, err := egress.NewProxy(egress.ProxyConfig{
		Guard: guard,
		OnRefused: func(hostport string, err error) {
			fmt.Println("refused", hostport)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer proxy.Close()

	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxy.Addr()})}}
	res, err := client.Get("http://169.254.169.254/latest/meta-data/")
	if err != nil {
		fmt.Println("request failed")
	} else {
		res.Body.Close()
	}
	// Output:
	// refused 169.254.169.254:80
	// request failed
}
