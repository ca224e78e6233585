package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sign returns the [HeaderSignature] value for body sent at t:
// "t={unix seconds},sha256={hex HMAC-SHA256}", keyed with the bytes of
// secret as they are (a "whsec_" prefix is part of the key) over
// "{t}." + body.
func Sign(secret string, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",sha256=" + hex.EncodeToString(signatureMAC(secret, ts, body))
}

// Verify checks a [HeaderSignature] value against body and secret, and
// that its timestamp is within tolerance of the current time (zero or
// less skips the time check; [DefaultTolerance] is the usual choice).
// Pass the raw body bytes as received. The error wraps
// [ErrMissingSignature], [ErrInvalidHeader], [ErrSignatureMismatch],
// [ErrTimestampOutOfTolerance] or [ErrInvalidSecret].
func Verify(body []byte, header, secret string, tolerance time.Duration) error {
	return VerifyAt(body, header, secret, tolerance, time.Now())
}

// VerifyAt is [Verify] with the receiver's clock given as now, for
// checking a webhook captured earlier and for tests.
//
// The header is a comma-separated list of key=value fields in any order:
// exactly one t and at least one sha256 (any one matching suffices, so a
// sender may sign with an old and a new secret during a rotation). Unknown
// fields, non-hex or short signatures and duplicate timestamps are
// malformed. The signature is checked before the timestamp, so an
// out-of-tolerance error means the webhook was authentic but stale.
func VerifyAt(body []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	want := signatureMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		// Compare every entry so timing does not reveal which one matched.
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: none of %d sha256 signatures matches the body", ErrSignatureMismatch, len(sigs))
	}
	return checkTimestamp(ts, now, tolerance)
}

// signatureMAC is HMAC-SHA256(secret, "{ts}." + body).
func signatureMAC(secret string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseSignatureHeader splits "t=...,sha256=...[,sha256=...]" into the
// timestamp and the decoded signatures. Spaces and tabs around fields are
// allowed; anything else out of place is an error wrapping
// ErrInvalidHeader.
func parseSignatureHeader(header string) (ts int64, sigs [][]byte, err error) {
	if strings.Trim(header, " \t") == "" {
		return 0, nil, ErrMissingSignature
	}
	haveTS := false
	i := 0
	for field := range strings.SplitSeq(header, ",") {
		i++
		field = strings.Trim(field, " \t")
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: field %d is not key=value", ErrInvalidHeader, i)
		}
		switch key {
		case "t":
			if haveTS {
				return 0, nil, fmt.Errorf("%w: more than one t", ErrInvalidHeader)
			}
			haveTS = true
			if ts, err = parseUnix(val); err != nil {
				return 0, nil, fmt.Errorf("%w: %w", ErrInvalidHeader, err)
			}
		case "sha256":
			if len(val) != 2*sha256.Size {
				return 0, nil, fmt.Errorf("%w: sha256 has %d characters, want %d hex digits", ErrInvalidHeader, len(val), 2*sha256.Size)
			}
			sig, err := hex.DecodeString(val)
			if err != nil {
				return 0, nil, fmt.Errorf("%w: sha256 is not hex: %w", ErrInvalidHeader, err)
			}
			sigs = append(sigs, sig)
		default:
			return 0, nil, fmt.Errorf("%w: unknown field %.16q", ErrInvalidHeader, key)
		}
	}
	if !haveTS {
		return 0, nil, fmt.Errorf("%w: no t", ErrInvalidHeader)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no sha256", ErrInvalidHeader)
	}
	return ts, sigs, nil
}
