// Package auth mints API tokens and resolves a presented token to its space.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// TokenPrefix starts every API token, so leaked tokens are easy to scan for.
const TokenPrefix = "rh_"

// ErrInvalidToken means the token is missing, malformed, unknown or revoked.
var ErrInvalidToken = errors.New("invalid API token")

// displayPrefixLen is how much of a token is kept in clear for lists and logs.
const displayPrefixLen = len(TokenPrefix) + 8

// HashToken returns the SHA-256 under which a token is stored. A fast hash is
// right here: tokens carry 192 random bits, so there is nothing to brute-force.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// DisplayPrefix is the part of a token safe to show, e.g. "rh_AbCd1234".
func DisplayPrefix(token string) string {
	if len(token) <= displayPrefixLen {
		return token
	}
	return token[:displayPrefixLen]
}

// CreateToken mints a new token for the space and stores its hash. The
// returned secret is the only time the token is visible.
func CreateToken(ctx context.Context, st store.Store, spaceID string) (secret string, tok *store.Token, err error) {
	var b [24]byte // 192 bits
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("read random: %w", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	tok = &store.Token{
		ID:        store.NewID("tok"),
		SpaceID:   spaceID,
		Prefix:    DisplayPrefix(secret),
		Hash:      HashToken(secret),
		CreatedAt: time.Now().UTC(),
	}
	if err := st.CreateToken(ctx, tok); err != nil {
		return "", nil, fmt.Errorf("store token: %w", err)
	}
	return secret, tok, nil
}

// Authenticate resolves a bearer token to its token record.
func Authenticate(ctx context.Context, st store.Store, token string) (*store.Token, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return nil, ErrInvalidToken
	}
	return ByHash(ctx, st, HashToken(token))
}

// ByHash resolves a token's SHA-256 (HashToken) to its token record, as
// a console session carries it; ErrInvalidToken when none matches.
func ByHash(ctx context.Context, st store.Store, hash []byte) (*store.Token, error) {
	tok, err := st.GetTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	// The lookup matched on the hash already; comparing again in constant
	// time keeps the check honest whatever the database's comparison does.
	if subtle.ConstantTimeCompare(tok.Hash, hash) != 1 {
		return nil, ErrInvalidToken
	}
	return tok, nil
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	t := strings.TrimSpace(header[len(scheme):])
	return t, t != ""
}
