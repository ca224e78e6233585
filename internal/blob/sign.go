package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
)

// Signer makes and checks the HMAC-signed URLs under which renderhook
// serves stored files, so a file URL can be shared (or put in <img src>)
// without a token, while nobody can guess another file's URL.
type Signer struct {
	key     []byte
	baseURL string
}

// NewSigner returns a signer; baseURL is the server's public URL.
func NewSigner(key []byte, baseURL string) *Signer {
	return &Signer{key: key, baseURL: strings.TrimRight(baseURL, "/")}
}

func (s *Signer) sig(key string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("file:" + key))
	return hex.EncodeToString(m.Sum(nil))
}

// URL returns the public URL of the file stored under key.
func (s *Signer) URL(key string) string {
	return s.baseURL + "/files/" + (&url.URL{Path: key}).EscapedPath() + "?sig=" + s.sig(key)
}

// BaseURL is the server's public URL, without a trailing slash.
func (s *Signer) BaseURL() string { return s.baseURL }

// Verify reports whether sig is the signature of key, in constant time.
func (s *Signer) Verify(key, sig string) bool {
	return hmac.Equal([]byte(s.sig(key)), []byte(sig))
}
