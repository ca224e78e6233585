package browser

import (
	_ "embed"
	"strings"
)

// adblockList is the bundled block_ads list: one host per line, # comments.
//
//go:embed adblock.txt
var adblockList string

// adHosts is adblockList parsed once.
var adHosts = parseHostList(adblockList)

// parseHostList reads a host list: one host per line, blank lines and lines
// starting with # ignored, hosts folded to lower case.
func parseHostList(s string) map[string]struct{} {
	hosts := make(map[string]struct{})
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		hosts[strings.ToLower(line)] = struct{}{}
	}
	return hosts
}

// isAdHost reports whether host, or a domain it is under, is on the block_ads
// list. host comes from a page's request (the proxy's CONNECT target or URL
// host), so it is untrusted: any case, maybe a trailing dot, maybe an IP.
// Matching walks up the labels, so "x.doubleclick.net" matches
// "doubleclick.net" but "notdoubleclick.net" does not.
func isAdHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for h != "" {
		if _, ok := adHosts[h]; ok {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
	return false
}
