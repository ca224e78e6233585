// Package webhook signs and verifies the webhooks renderhook sends when a
// render finishes. Receivers import it to check that a request really came
// from their renderhook server and was not replayed long after it was sent.
//
// Every webhook attempt carries two independent signatures over the raw
// request body, so a receiver can check whichever it already supports:
//
//   - The [HeaderSignature] header, "t={unix seconds},sha256={hex}", an
//     HMAC-SHA256 keyed with the secret string's bytes over "{t}." + body
//     (the scheme Urlbox uses; see [Sign] and [Verify]).
//   - Standard Webhooks (standardwebhooks.com): [HeaderID],
//     [HeaderTimestamp] and [HeaderStandardSignature], "v1,{base64}", an
//     HMAC-SHA256 keyed with the base64-decoded part of a "whsec_" secret
//     over "{id}.{timestamp}." + body (see [SignStandard] and
//     [VerifyStandard]).
//
// Verify the bytes exactly as received, before any JSON decoding: a body
// that is re-encoded, even without changing its meaning, no longer matches.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Header names. Go's net/http canonicalizes header names ("Webhook-Id"),
// and HTTP compares them case-insensitively, so either spelling works.
const (
	// HeaderSignature carries the "t=...,sha256=..." signature. A server
	// may be configured to send it under another name, such as
	// X-Urlbox-Signature; the value is the same.
	HeaderSignature = "X-Renderhook-Signature"
	// HeaderID carries the Standard Webhooks message id, the same for
	// every retry of one message so receivers can drop duplicates.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the Standard Webhooks send time in unix
	// seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderStandardSignature carries one or more space-separated
	// Standard Webhooks signatures, "v1,{base64}".
	HeaderStandardSignature = "webhook-signature"
)

// DefaultTolerance is how far a signed timestamp may be from the
// receiver's clock, in either direction, before the webhook is refused as
// stale or replayed. A tolerance of zero or less turns the check off.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret; the rest is base64.
const secretPrefix = "whsec_"

// Sentinel errors. Verification errors wrap exactly one of them with a
// detail message, so callers can branch with [errors.Is].
var (
	// ErrInvalidHeader means a signature header is malformed: unparsable,
	// incomplete or holding an unknown field.
	ErrInvalidHeader = errors.New("webhook: malformed signature header")
	// ErrMissingSignature means the request carries no signature at all.
	// It also matches ErrInvalidHeader, since an absent or empty header is
	// the most common malformed one.
	ErrMissingSignature error = &refinedError{msg: "webhook: missing signature", parent: ErrInvalidHeader}
	// ErrTimestampOutOfTolerance means the signature is authentic but its
	// timestamp is too old or too far in the future: a replay, or clocks
	// that disagree.
	ErrTimestampOutOfTolerance = errors.New("webhook: timestamp outside tolerance")
	// ErrSignatureMismatch means no signature in the header matches the
	// body, timestamp (and id) under the given secret: the body was
	// altered, or the secret is wrong.
	ErrSignatureMismatch = errors.New("webhook: signature mismatch")
	// ErrInvalidSecret means the secret itself is unusable: empty, or not
	// base64 where Standard Webhooks needs it. It points at configuration,
	// not at the request.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
)

// refinedError is a sentinel that is also a kind of a broader one.
type refinedError struct {
	msg    string
	parent error
}

func (e *refinedError) Error() string { return e.msg }
func (e *refinedError) Unwrap() error { return e.parent }

// NewSecret returns a new random secret in the Standard Webhooks form,
// "whsec_" followed by the base64 of 32 random bytes. Both schemes accept
// it: the "t=...,sha256=..." scheme keys its HMAC with the whole string,
// Standard Webhooks with the decoded bytes.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// parseUnix parses a timestamp strictly: decimal digits only, no sign, no
// leading zeros, within int64. Being strict keeps the signed text and the
// parsed number in one-to-one correspondence.
func parseUnix(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("timestamp %.32q is not decimal unix seconds", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("timestamp %.32q has leading zeros", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %.32q: %w", s, err)
	}
	return n, nil
}

// checkTimestamp reports whether t (unix seconds) is within tolerance of
// now in either direction. The difference is computed in uint64 so that
// absurd timestamps cannot overflow into acceptance.
func checkTimestamp(t int64, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		return nil
	}
	n := now.Unix()
	var diff uint64
	if n >= t {
		diff = uint64(n) - uint64(t) //nolint:gosec // wraps on purpose: the modular difference is the exact distance when n >= t
	} else {
		diff = uint64(t) - uint64(n) //nolint:gosec // as above, with t > n
	}
	if diff <= uint64(tolerance/time.Second) {
		return nil
	}
	if n >= t {
		return fmt.Errorf("%w: signed %ds before now, tolerance %s", ErrTimestampOutOfTolerance, diff, tolerance)
	}
	return fmt.Errorf("%w: signed %ds in the future, tolerance %s", ErrTimestampOutOfTolerance, diff, tolerance)
}
