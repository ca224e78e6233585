package browser

import (
	"strings"
	"testing"
)

func TestIsAdHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"doubleclick.net":             true,
		"stats.g.doubleclick.net":     true,
		"STATS.G.DoubleClick.NET.":    true,
		"notdoubleclick.net":          false,
		"doubleclick.net.example.com": false,
		"example.com":                 false,
		"google.com":                  false,
		"adservice.google.com":        true,
		"127.0.0.1":                   false,
		"":                            false,
		".":                           false,
	} {
		if got := isAdHost(host); got != want {
			t.Errorf("isAdHost(%q) = %v, want %v", host, got, want)
		}
	}
	if len(adHosts) < 20 {
		t.Errorf("bundled blocklist has %d hosts; is adblock.txt embedded?", len(adHosts))
	}
}

// FuzzIsAdHost checks the matcher's invariants on arbitrary hosts: it never
// panics, ignores case and a trailing dot, and a subdomain of a listed host is
// listed too.
func FuzzIsAdHost(f *testing.F) {
	for _, s := range []string{"doubleclick.net", "a.b.doubleclick.net.", "example.com", "", ".", "..", "xn--80ak6aa92e.com", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got := isAdHost(host)
		// Not EqualFold (SA6005): isAdHost lower-cases with ToLower, so the same is asked here.
		if up := strings.ToUpper(host); strings.ToLower(up) == strings.ToLower(host) && isAdHost(up) != got { //nolint:staticcheck // see above
			t.Errorf("isAdHost(%q) = %v but isAdHost(%q) = %v", host, got, up, !got)
		}
		if got && !isAdHost("sub."+host) {
			t.Errorf("isAdHost(%q) but not its subdomain", host)
		}
		if got && !isAdHost(strings.TrimSuffix(host, ".")+".") {
			t.Errorf("isAdHost(%q) but not with a trailing dot", host)
		}
	})
}
