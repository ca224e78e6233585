// Package capability makes and checks the signed capabilities renderhook
// hands out instead of API tokens: page-render links (?sig=, optionally
// with ?exp=) and the signatures of file URLs, and it rotates the
// space-level values they rest on (the render secret and the GET-render
// token) with an overlap during which the previous value still works.
//
// Every signature is an HMAC-SHA256 keyed with a key derived from the
// secret for one purpose only (HMAC(secret, purpose)), over the purpose's
// domain tag, the target's id and the parameters, each length-prefixed.
// So a signature made for one page does not open another, and one made
// for a file URL is no page link, and the other way round. The v1 API's
// signed links are the one exception: they keep Urlbox's construction
// (HMAC-SHA256 of the query with the secret itself) so links made by
// Urlbox's SDKs keep working; see v1link.go.
package capability

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Purposes: each is both the label its key is derived with and the domain
// tag at the start of every message signed for it.
const (
	// PurposePageLink signs GET /api/render/{pageId} links.
	PurposePageLink = "renderhook/page-link/v2"
	// PurposeFileURL signs renderhook's own /files/… URLs.
	PurposeFileURL = "renderhook/file-url/v2"
)

// DefaultOverlap is how long a rotated-out render secret or GET-render
// token keeps working.
const DefaultOverlap = 24 * time.Hour

// Errors of signature checks.
var (
	// ErrBadSignature: the signature is missing, malformed or does not
	// match the target and its parameters (403).
	ErrBadSignature = errors.New("bad signature")
	// ErrExpired: the signature is valid but its exp has passed (403).
	ErrExpired = errors.New("signed link expired")
)

// keyLabel starts every derivation label. Its NUL byte can be in no URL's
// query, so no derived key is ever a v1 link token (Urlbox's construction,
// HMAC of the raw query under the secret itself): a space that signs
// queries chosen by others for v1 links cannot be made to hand out a key.
const keyLabel = "renderhook key\x00"

// Key derives the key of one purpose from a secret.
func Key(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel + purpose))
	return m.Sum(nil)
}

// MAC returns hex HMAC-SHA256, keyed with Key(secret, purpose), of the
// purpose's domain tag followed by parts, each prefixed by its length so
// no two different lists of parts sign alike.
func MAC(secret []byte, purpose string, parts ...string) string {
	m := hmac.New(sha256.New, Key(secret, purpose))
	var n [8]byte
	for _, p := range append([]string{purpose}, parts...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Equal compares an expected hex MAC with a client's, in constant time and
// ignoring the client's hex case.
func Equal(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(got))) == 1
}

// PageSig is the sig of a page link: the MAC, under the space's render
// secret, of the page id and the raw query without its sig parameter,
// exactly as sent (exp, when present, is part of it).
func PageSig(secret, pageID, query string) string {
	return MAC([]byte(secret), PurposePageLink, pageID, query)
}

// SignPageQuery returns query with the sig of pageID appended, after an
// exp parameter when exp is not zero: the query of a link a space hands
// out. query is used exactly as given, so it must already be encoded.
func SignPageQuery(secret, pageID, query string, exp time.Time) string {
	if !exp.IsZero() {
		if query != "" {
			query += "&"
		}
		query += "exp=" + strconv.FormatInt(exp.Unix(), 10)
	}
	sig := PageSig(secret, pageID, query)
	if query == "" {
		return "sig=" + sig
	}
	return query + "&sig=" + sig
}

// PageLink returns the path and query of a signed GET render link of
// pageID: /api/render/{pageId}?{query}[&exp=…]&sig=…, for the CLI, the
// console and anyone else that hands links out.
func PageLink(secret, pageID, query string, exp time.Time) string {
	return "/api/render/" + url.PathEscape(pageID) + "?" + SignPageQuery(secret, pageID, query, exp)
}

// VerifyPage checks the sig of rawQuery, a GET page render's query as
// sent, for pageID under any of secrets (the current render secret and,
// within its overlap, the previous one), then its exp against now.
func VerifyPage(secrets []string, pageID, rawQuery string, now time.Time) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil || len(q["sig"]) != 1 {
		return fmt.Errorf("%w: give exactly one sig", ErrBadSignature)
	}
	signed := QueryWithout(rawQuery, "sig")
	ok := false
	for _, s := range secrets {
		if s != "" && Equal(PageSig(s, pageID, signed), q.Get("sig")) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: the sig does not match this page and query: sign the page id and the query string without sig, exactly as sent", ErrBadSignature)
	}
	if !q.Has("exp") {
		return nil
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || len(q["exp"]) != 1 {
		return fmt.Errorf("%w: exp must be one unix time in seconds", ErrBadSignature)
	}
	if now.Unix() >= exp {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// QueryWithout returns a raw query string without the components whose
// name is name, keeping everything else exactly as sent.
func QueryWithout(raw, name string) string {
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if k != name {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}

// RenderSecrets are the render secrets a space's links may be signed with
// at now: the current one and, until its overlap ends, the previous one.
func RenderSecrets(sp *store.Space, now time.Time) []string {
	out := []string{sp.RenderSecret}
	if sp.RenderSecretPrev != "" && sp.RenderSecretPrevUntil != nil && now.Before(*sp.RenderSecretPrevUntil) {
		out = append(out, sp.RenderSecretPrev)
	}
	return out
}

// ValidGetToken reports whether gt is the space's GET-render token at now:
// the current one or, until its overlap ends, the previous one.
func ValidGetToken(sp *store.Space, gt string, now time.Time) bool {
	if gt == "" {
		return false
	}
	ok := sp.GetRenderToken != "" && subtle.ConstantTimeCompare([]byte(gt), []byte(sp.GetRenderToken)) == 1
	if sp.GetRenderTokenPrev != "" && sp.GetRenderTokenPrevUntil != nil && now.Before(*sp.GetRenderTokenPrevUntil) &&
		subtle.ConstantTimeCompare([]byte(gt), []byte(sp.GetRenderTokenPrev)) == 1 {
		ok = true
	}
	return ok
}

// Rotation is the answer of a rotation: the new value, shown once, and
// when the previous one stops working.
type Rotation struct {
	Value              string
	PreviousValidUntil time.Time
}

// RotateRenderSecret gives the space a new render secret; the previous one
// keeps verifying links for overlap (DefaultOverlap when zero, not at all
// when NoOverlap).
func RotateRenderSecret(ctx context.Context, st store.Store, spaceID string, overlap time.Duration, now time.Time) (*Rotation, error) {
	r := &Rotation{Value: store.NewSecret(), PreviousValidUntil: now.Add(overlapOr(overlap)).UTC()}
	if err := st.RotateRenderSecret(ctx, spaceID, r.Value, r.PreviousValidUntil); err != nil {
		return nil, fmt.Errorf("rotate render secret: %w", err)
	}
	return r, nil
}

// RotateGetRenderToken gives the space a new GET-render token; the
// previous one keeps working for overlap (DefaultOverlap when zero, not at
// all when NoOverlap).
func RotateGetRenderToken(ctx context.Context, st store.Store, spaceID string, overlap time.Duration, now time.Time) (*Rotation, error) {
	r := &Rotation{Value: store.NewToken(), PreviousValidUntil: now.Add(overlapOr(overlap)).UTC()}
	if err := st.RotateGetRenderToken(ctx, spaceID, r.Value, r.PreviousValidUntil); err != nil {
		return nil, fmt.Errorf("rotate GET-render token: %w", err)
	}
	return r, nil
}

// NoOverlap, as a rotation's overlap, ends the previous value at once:
// what to do after a leak.
const NoOverlap time.Duration = -1

func overlapOr(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return DefaultOverlap
	}
	return d
}
