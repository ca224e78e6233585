package store

import (
	"crypto/rand"
	"encoding/base32"
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
