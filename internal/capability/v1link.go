package capability

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// V1LinkToken is the token of a v1 signed render link: hex HMAC-SHA256
// of the raw query string exactly as sent, keyed with the space's render
// secret itself. It is Urlbox's construction, kept so links made by its
// SDKs work, and the one signature here without a derived key or domain
// tag (keyLabel keeps the derived keys apart from it).
func V1LinkToken(secret, rawQuery string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(rawQuery))
	return hex.EncodeToString(m.Sum(nil))
}

// ValidV1Link reports whether token is a v1 link token of rawQuery under
// a render secret of sp at now (RenderSecrets), compared in constant time
// and ignoring the token's hex case.
func ValidV1Link(sp *store.Space, now time.Time, rawQuery, token string) bool {
	valid := false
	for _, secret := range RenderSecrets(sp, now) {
		if Equal(V1LinkToken(secret, rawQuery), token) {
			valid = true
		}
	}
	return valid
}
