package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxURLLength is the longest URL [Guard.CheckURL] accepts, in bytes.
const MaxURLLength = 2048

// CheckURL validates a client-supplied outbound URL (a webhook_url, a page
// to render) when the request arrives, so the client gets a 400 instead of
// a failed job later. It returns an error wrapping [ErrInvalidURL] if raw is
// longer than [MaxURLLength], unparsable, not http or https, has no host,
// has an unusable port or carries credentials; and one wrapping
// [ErrForbiddenAddress] if the host is a literal IP that [Guard.Check]
// refuses or a localhost name while loopback is not allowed.
//
// Literal IPv4 hosts are read the way browsers read them (WHATWG URL, which
// follows inet_aton), so "2130706433", "0177.0.0.1" and "0x7f.1" are all
// 127.0.0.1. Host names are not resolved: the connect-time check in
// [Guard.Control] covers what they resolve to.
func (g *Guard) CheckURL(raw string) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidURL, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "":
		return fmt.Errorf("%w: missing scheme (want http or https)", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme %q is not http or https", ErrInvalidURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: missing host", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: must not contain credentials (user info)", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is out of range", ErrInvalidURL, p)
		}
	}
	return g.checkHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
}

// checkHost checks the host part of a URL, without brackets or port.
func (g *Guard) checkHost(host string, bracketed bool) error {
	if bracketed {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return fmt.Errorf("%w: host [%s] is not an IPv6 address", ErrInvalidURL, host)
		}
		return g.Check(a)
	}

	// Browsers map full-width characters to ASCII before anything else
	// (IDNA), so "１２７．０．０．１" is 127.0.0.1 to them.
	name := strings.TrimSuffix(foldWidth(host), ".")
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("%w: host %q has an empty label", ErrInvalidURL, host)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < utf8.RuneSelf && !isHostByte(c) {
			return fmt.Errorf("%w: host %q contains %q", ErrInvalidURL, host, c)
		}
	}

	if isLocalhostName(name) {
		if g.refusal(netip.IPv6Loopback()) == "" || g.refusal(netip.AddrFrom4([4]byte{127, 0, 0, 1})) == "" {
			return nil
		}
		return fmt.Errorf("%w: host %q is loopback", ErrForbiddenAddress, host)
	}

	a, isIP, err := parseIPv4Host(name)
	if !isIP {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: host %q is not a valid IPv4 address: %v", ErrInvalidURL, host, err)
	}
	if reason := g.refusal(a); reason != "" {
		if host == a.String() {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, a, reason)
		}
		return fmt.Errorf("%w: host %q is %s, which is %s", ErrForbiddenAddress, host, a, reason)
	}
	return nil
}

// isHostByte reports whether an ASCII byte may appear in a host name. The
// URL parser also lets through sub-delimiters like "!" and "*", which no
// DNS name uses.
func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
}

// isLocalhostName reports whether a lower-case host name always means the
// local machine: "localhost" and its subdomains (RFC 6761; browsers resolve
// them to loopback without DNS), and Debian's other /etc/hosts names.
func isLocalhostName(name string) bool {
	switch name {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback":
		return true
	}
	return strings.HasSuffix(name, ".localhost")
}

// foldWidth lower-cases s and maps the characters IDNA turns into ASCII
// digits, letters and dots that matter for spotting IP addresses and
// localhost: full-width forms, ideographic full stops and mathematical
// digits. It is not full IDNA; it only needs to catch disguised numbers.
func foldWidth(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 0xFF01 && c <= 0xFF5E: // full-width ASCII
			c -= 0xFEE0
		case c == 0x3002 || c == 0xFF61: // ideographic / half-width full stop
			c = '.'
		case c >= 0x1D7CE && c <= 0x1D7FF: // mathematical digits
			c = '0' + (c-0x1D7CE)%10
		}
		b.WriteRune(c)
	}
	return strings.ToLower(b.String())
}

// parseIPv4Host parses a lower-case host name the way the WHATWG URL
// standard (and so the browser) does: if the last label is a number in
// decimal, octal (leading 0) or hex (0x), the whole host is an IPv4 address
// of one to four inet_aton-style parts, and anything else is invalid. isIP
// is false for ordinary host names.
func parseIPv4Host(name string) (a netip.Addr, isIP bool, err error) {
	parts := strings.Split(name, ".")
	last := parts[len(parts)-1]
	if _, ok := parseIPv4Number(last); !ok && strings.Trim(last, "0123456789") != "" {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errors.New("more than four parts")
	}
	var n uint64
	for i, p := range parts {
		v, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, true, fmt.Errorf("part %q is not a number", p)
		}
		if i < len(parts)-1 {
			if v > 255 {
				return netip.Addr{}, true, fmt.Errorf("part %q is larger than 255", p)
			}
			n = n<<8 | v
			continue
		}
		// The last part fills all remaining bytes.
		rest := uint(8 * (5 - len(parts)))
		if v >= 1<<rest {
			return netip.Addr{}, true, fmt.Errorf("part %q is too large", p)
		}
		n = n<<rest | v
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

// parseIPv4Number parses one part of a WHATWG IPv4 address. Values beyond
// 32 bits saturate, which is enough to reject them.
func parseIPv4Number(s string) (uint64, bool) {
	base := uint64(10)
	switch {
	case strings.HasPrefix(s, "0x"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true // "0x" alone is zero
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	case s == "":
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return 0, false
		}
		v = min(v*base+d, 1<<33)
	}
	return v, true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10, true
	}
	return 0, false
}
