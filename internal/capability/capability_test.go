package capability_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
)

func TestQueryWithout(t *testing.T) {
	for raw, want := range map[string]string{
		"a=1&sig=ff&b=%20":  "a=1&b=%20",
		"sig=ff":            "",
		"sig&a=1":           "a=1",
		"a=1&signature=x":   "a=1&signature=x",
		"b=2&a=1&sig=1&c=3": "b=2&a=1&c=3",
	} {
		if got := capability.QueryWithout(raw, "sig"); got != want {
			t.Errorf("QueryWithout(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestPageLinkBoundToPageQueryAndTime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secrets := []string{"s3cret"}
	q := capability.SignPageQuery("s3cret", "pg_card", "tweak:title=Hi", time.Time{})
	if err := capability.VerifyPage(secrets, "pg_card", q, now); err != nil {
		t.Fatalf("own page: %v", err)
	}
	for name, c := range map[string]struct{ page, query string }{
		"another page":        {"pg_invoice", q},
		"changed query":       {"pg_card", strings.Replace(q, "Hi", "Ho", 1)},
		"added parameter":     {"pg_card", q + "&format=pdf"},
		"no sig":              {"pg_card", "tweak:title=Hi"},
		"two sigs":            {"pg_card", q + "&sig=00"},
		"empty-query sig":     {"pg_invoice", capability.SignPageQuery("s3cret", "pg_card", "", time.Time{})},
		"old unbound sig":     {"pg_card", "tweak:title=Hi&sig=" + oldSig("s3cret", "tweak:title=Hi")},
		"another secret":      {"pg_card", capability.SignPageQuery("other", "pg_card", "tweak:title=Hi", time.Time{})},
		"file-URL sig reused": {"pg_card", "tweak:title=Hi&sig=" + capability.MAC([]byte("s3cret"), capability.PurposeFileURL, "tweak:title=Hi")},
	} {
		if err := capability.VerifyPage(secrets, c.page, c.query, now); err == nil {
			t.Errorf("%s: accepted %s for %s", name, c.query, c.page)
		}
	}
	// exp is inside the MAC: valid before, expired at and after, and
	// cannot be moved.
	exp := capability.SignPageQuery("s3cret", "pg_card", "tweak:title=Hi", now.Add(time.Minute))
	if err := capability.VerifyPage(secrets, "pg_card", exp, now); err != nil {
		t.Fatalf("before exp: %v", err)
	}
	if err := capability.VerifyPage(secrets, "pg_card", exp, now.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at exp: %v", err)
	}
	later := strings.Replace(exp, "exp=1800000060", "exp=1900000000", 1)
	if err := capability.VerifyPage(secrets, "pg_card", later, now.Add(time.Hour)); err == nil || strings.Contains(err.Error(), "expired") {
		t.Fatalf("moved exp: %v", err)
	}
	// The previous secret, passed within its overlap, still verifies.
	if err := capability.VerifyPage([]string{"new", "s3cret"}, "pg_card", q, now); err != nil {
		t.Fatalf("previous secret: %v", err)
	}
}

func TestMACPartsAreLengthPrefixed(t *testing.T) {
	k := []byte("k")
	if capability.MAC(k, "p", "ab", "c") == capability.MAC(k, "p", "a", "bc") {
		t.Fatal("parts are ambiguous")
	}
	if capability.MAC(k, "p", "x") == capability.MAC(k, "q", "x") {
		t.Fatal("purposes sign alike")
	}
}

func TestOverlap(t *testing.T) {
	now := time.Now()
	until := now.Add(time.Hour)
	sp := &store.Space{RenderSecret: "new", RenderSecretPrev: "old", RenderSecretPrevUntil: &until,
		GetRenderToken: "gtnew", GetRenderTokenPrev: "gtold", GetRenderTokenPrevUntil: &until}
	if got := capability.RenderSecrets(sp, now); len(got) != 2 || got[0] != "new" || got[1] != "old" {
		t.Fatalf("within overlap: %v", got)
	}
	if got := capability.RenderSecrets(sp, until); len(got) != 1 || got[0] != "new" {
		t.Fatalf("after overlap: %v", got)
	}
	if !capability.ValidGetToken(sp, "gtnew", until) || !capability.ValidGetToken(sp, "gtold", now) {
		t.Fatal("valid gt refused")
	}
	if capability.ValidGetToken(sp, "gtold", until) || capability.ValidGetToken(sp, "", now) || capability.ValidGetToken(sp, "x", now) {
		t.Fatal("invalid gt accepted")
	}
}

func FuzzVerifyPage(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add("pg_a", capability.SignPageQuery("s", "pg_a", "tweak:x=1", now.Add(time.Hour)))
	f.Add("pg_a", "sig=zz&exp=-1")
	f.Add("pg_a", "%zz&sig=1")
	f.Fuzz(func(t *testing.T, page, raw string) {
		err := capability.VerifyPage([]string{"s"}, page, raw, now)
		if err == nil && !strings.Contains(raw, "sig=") {
			t.Fatalf("accepted %q without a sig", raw)
		}
	})
}

// oldSig is the page sig before links were bound to their page:
// HMAC-SHA256 of the query with the render secret itself.
func oldSig(secret, query string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(query))
	return hex.EncodeToString(m.Sum(nil))
}

// TestPageSigVector pins the construction documented in README.md (its
// Python snippet gives the same hex), so links made outside Go keep
// working.
func TestPageSigVector(t *testing.T) {
	const want = "1e05888bf83c882fe9d0edf6996a290723b57473efb82e58a1ea252030c2c993"
	if got := capability.PageSig("s3cret", "pg_card", "tweak:title=Hi&exp=1800000000"); got != want {
		t.Fatalf("PageSig = %s, want %s", got, want)
	}
	if got := capability.SignPageQuery("s3cret", "pg_card", "tweak:title=Hi", time.Unix(1800000000, 0)); got != "tweak:title=Hi&exp=1800000000&sig="+want {
		t.Fatalf("SignPageQuery = %s", got)
	}
}

// TestDerivedKeyIsNoV1Token: a v1 link token is HMAC(secret, raw query);
// no derived key may equal the token of any query, or a space that signs
// others' queries for v1 links would hand out its page-link key. The
// derivation label holds a NUL, which no URL query can.
func TestDerivedKeyIsNoV1Token(t *testing.T) {
	for _, purpose := range []string{capability.PurposePageLink, capability.PurposeFileURL} {
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write([]byte(purpose))
		if hex.EncodeToString(capability.Key([]byte("s3cret"), purpose)) == hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("the %s key is the v1 token of the query %q", purpose, purpose)
		}
	}
	if _, err := url.Parse("http://x/v1/k/t/png?a\x00b"); err == nil { //nolint:staticcheck // the URL is invalid on purpose: the test asserts it does not parse
		t.Fatal("a URL with a NUL in its query parses: the derivation label could be a query")
	}
}
