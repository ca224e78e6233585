package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random id with a type prefix, such as "tpl_3k9…", in the
// style of Stripe: the prefix tells a reader what the id names, and the 100
// random bits make ids unguessable.
func NewID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:])[:20])
}

// NewRenderID returns a render id: a UUIDv7, the shape the webhook payloads
// of hosted screenshot APIs use, and time-ordered for the index.
func NewRenderID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// NewSecret returns 256 random bits as hex, for HMAC keys such as a space's
// render secret.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewToken returns 128 random bits as hex, for bearer-style secrets such as
// a space's GET-render token.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FillRenderKeys gives a space about to be created the render key, render
// secret and GET-render token it lacks.
func FillRenderKeys(sp *Space) {
	if sp.RenderKey == "" {
		sp.RenderKey = NewID("rk")
	}
	if sp.RenderSecret == "" {
		sp.RenderSecret = NewSecret()
	}
	if sp.GetRenderToken == "" {
		sp.GetRenderToken = NewToken()
	}
}
