package capability_test

import (
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
)

func TestV1LinkToken(t *testing.T) {
	// echo -n 'url=example.com' | openssl dgst -sha256 -hmac secret
	const want = "de54f8be734f0bd5b22b4689548d5da09e18857b08e87ace0c66578b611d77ae"
	if got := capability.V1LinkToken("secret", "url=example.com"); got != want {
		t.Fatalf("token %q, want openssl's %q", got, want)
	}
}

// TestValidV1Link: a link signed with the render secret, or within the
// overlap the previous one, checks out, in either hex case; another
// query, secret or an empty token does not.
func TestValidV1Link(t *testing.T) {
	now := time.Now()
	until := now.Add(time.Hour)
	sp := &store.Space{RenderSecret: "secret", RenderSecretPrev: "old", RenderSecretPrevUntil: &until}
	const q = "url=example.com"
	tok := capability.V1LinkToken("secret", q)
	for name, c := range map[string]struct {
		at           time.Time
		query, token string
		want         bool
	}{
		"current secret":              {now, q, tok, true},
		"upper-case hex":              {now, q, strings.ToUpper(tok), true},
		"previous secret, in overlap": {now, q, capability.V1LinkToken("old", q), true},
		"previous secret, after":      {until.Add(time.Second), q, capability.V1LinkToken("old", q), false},
		"another query":               {now, "url=example.org", tok, false},
		"another secret":              {now, q, capability.V1LinkToken("other", q), false},
		"empty token":                 {now, q, "", false},
	} {
		if got := capability.ValidV1Link(sp, c.at, c.query, c.token); got != c.want {
			t.Errorf("%s: valid = %v, want %v", name, got, c.want)
		}
	}
}
