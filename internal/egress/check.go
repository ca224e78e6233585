package egress

import (
	"fmt"
	"net/netip"
)

// rule names a range of addresses and why it is refused. Within a table the
// first match wins, so specific entries come before the ranges holding them.
type rule struct {
	prefix netip.Prefix
	reason string
}

func newRule(prefix, reason string) rule {
	return rule{netip.MustParsePrefix(prefix), reason}
}

// v4Rules are the IPv4 ranges that are not the public internet
// (IANA special-purpose registry), plus metadata endpoints.
var v4Rules = []rule{
	newRule("169.254.169.254/32", "the cloud metadata address (link-local)"),
	newRule("100.100.100.200/32", "the Alibaba Cloud metadata address"),
	// 168.63.129.16 is public address space, but inside Azure it is the
	// platform's WireServer (host agent, DNS, health probes).
	newRule("168.63.129.16/32", "the Azure platform endpoint (WireServer)"),
	newRule("255.255.255.255/32", "the broadcast address"),
	newRule("0.0.0.0/8", `unspecified ("this network")`),
	newRule("10.0.0.0/8", "private (RFC 1918)"),
	newRule("100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"),
	newRule("127.0.0.0/8", "loopback"),
	newRule("169.254.0.0/16", "link-local"),
	newRule("172.16.0.0/12", "private (RFC 1918)"),
	newRule("192.0.0.0/24", "reserved for IETF protocol assignments"),
	newRule("192.0.2.0/24", "reserved for documentation"),
	newRule("192.88.99.0/24", "the 6to4 relay anycast range"),
	newRule("192.168.0.0/16", "private (RFC 1918)"),
	newRule("198.18.0.0/15", "reserved for benchmarking"),
	newRule("198.51.100.0/24", "reserved for documentation"),
	newRule("203.0.113.0/24", "reserved for documentation"),
	newRule("224.0.0.0/4", "multicast"),
	newRule("240.0.0.0/4", "reserved (240.0.0.0/4)"),
}

// v6Rules are IPv6 ranges refused outright. IPv4-mapped addresses never get
// here (they are unmapped first), and anything outside 2000::/3 that is not
// NAT64 is refused by a catch-all after these.
var v6Rules = []rule{
	newRule("::/128", "unspecified"),
	newRule("::1/128", "loopback"),
	// ::a.b.c.d was deprecated by RFC 4291; nothing legitimate uses it.
	newRule("::/96", "an IPv4-compatible IPv6 address (deprecated)"),
	newRule("100::/64", "discard-only (RFC 6666)"),
	newRule("fd00:ec2::254/128", "the AWS IPv6 metadata address"),
	newRule("fc00::/7", "unique-local (private)"),
	newRule("fe80::/10", "link-local"),
	newRule("fec0::/10", "site-local (deprecated)"),
	newRule("ff00::/8", "multicast"),
	newRule("2001:2::/48", "reserved for benchmarking"),
	newRule("2001:10::/28", "ORCHID (not routable)"),
	newRule("2001:20::/28", "ORCHIDv2 (not routable)"),
	newRule("2001:db8::/32", "reserved for documentation"),
	newRule("3fff::/20", "reserved for documentation"),
	newRule("5f00::/16", "an SRv6 SID (not globally routable)"),
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	globalUnicast  = netip.MustParsePrefix("2000::/3")
)

// Check reports whether outbound connections may reach ip: nil, or an error
// wrapping [ErrForbiddenAddress] that names the address and the reason,
// e.g. "forbidden address: 127.0.0.1 is loopback".
//
// Everything but public unicast is refused unless it lies in an Allow
// prefix. IPv6 addresses that carry an IPv4 address (IPv4-mapped, NAT64,
// 6to4, Teredo) are refused when the IPv4 address inside would be.
func (g *Guard) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: not a valid IP address", ErrForbiddenAddress)
	}
	if reason := g.refusal(ip); reason != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, reason)
	}
	return nil
}

// refusal returns why ip is refused, or "" if it may be reached.
func (g *Guard) refusal(ip netip.Addr) string {
	a := ip.WithZone("").Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return ""
		}
	}
	if a.Is4() {
		return match(v4Rules, a)
	}
	if reason := match(v6Rules, a); reason != "" {
		return reason
	}
	for _, e := range embeddedIPv4(a) {
		if reason := g.refusal(e.addr); reason != "" {
			return fmt.Sprintf("%s %s, which is %s", e.phrase, e.addr, reason)
		}
	}
	if !globalUnicast.Contains(a) && !nat64WellKnown.Contains(a) && !nat64LocalUse.Contains(a) {
		return "outside IPv6 global unicast (2000::/3)"
	}
	return ""
}

func match(rules []rule, a netip.Addr) string {
	for _, rl := range rules {
		if rl.prefix.Contains(a) {
			return rl.reason
		}
	}
	return ""
}

type embedded struct {
	phrase string // completed by the address, e.g. "a 6to4 address embedding"
	addr   netip.Addr
}

// embeddedIPv4 returns the IPv4 addresses a translation mechanism would
// deliver traffic for a to.
func embeddedIPv4(a netip.Addr) []embedded {
	b := a.As16()
	switch {
	case nat64WellKnown.Contains(a):
		return []embedded{{"a NAT64 address embedding", netip.AddrFrom4([4]byte(b[12:16]))}}
	case nat64LocalUse.Contains(a):
		// RFC 8215 lets the operator pick the prefix length inside the
		// /48, which changes where the IPv4 address sits. We assume the
		// usual /96 layout (IPv4 in the last 32 bits), like 64:ff9b::/96.
		return []embedded{{"a local-use NAT64 address embedding", netip.AddrFrom4([4]byte(b[12:16]))}}
	case sixToFour.Contains(a):
		return []embedded{{"a 6to4 address embedding", netip.AddrFrom4([4]byte(b[2:6]))}}
	case teredo.Contains(a):
		// RFC 4380: the Teredo server in bits 32-63, the client (the
		// host actually reached) in the last 32 bits, inverted.
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []embedded{
			{"a Teredo address for client", netip.AddrFrom4(client)},
			{"a Teredo address with server", netip.AddrFrom4([4]byte(b[4:8]))},
		}
	}
	return nil
}
