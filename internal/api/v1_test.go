package api

import "testing"

func TestV1ETagMatch(t *testing.T) {
	for header, want := range map[string]bool{
		`"r1"`: true, `W/"r1"`: true, `"r0", "r1"`: true, `*`: true, `"r2"`: false, ``: false, `r1`: false,
	} {
		if got := etagMatch(header, `"r1"`); got != want {
			t.Errorf("etagMatch(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestV1HMAC(t *testing.T) {
	// echo -n 'url=example.com' | openssl dgst -sha256 -hmac secret
	const want = "de54f8be734f0bd5b22b4689548d5da09e18857b08e87ace0c66578b611d77ae"
	got := hmacHex("secret", "url=example.com")
	if got != want {
		t.Fatalf("hmac %q, want openssl's %q", got, want)
	}
	if !validHMAC("secret", "url=example.com", got) || !validHMAC("secret", "url=example.com", toUpper(got)) {
		t.Fatal("valid token refused")
	}
	if validHMAC("secret", "url=example.org", got) || validHMAC("other", "url=example.com", got) || validHMAC("secret", "url=example.com", "") {
		t.Fatal("invalid token accepted")
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}
