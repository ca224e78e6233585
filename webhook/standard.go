package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignStandard returns one Standard Webhooks signature, "v1,{base64}",
// of body sent as message msgID at t. secret is "whsec_" + base64, or
// bare base64; anything else is an [ErrInvalidSecret] error.
func SignStandard(secret, msgID string, t time.Time, body []byte) (string, error) {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return "", err
	}
	if msgID == "" {
		return "", errors.New("sign webhook: empty message id")
	}
	return "v1," + standardMAC(key, msgID, strconv.FormatInt(t.Unix(), 10), body), nil
}

// SignStandardHeaders returns the three Standard Webhooks headers for body
// sent as message msgID at t, with one v1 signature per secret, space
// separated. Signing with the old and the new secret during a rotation
// lets receivers switch over at their own pace.
func SignStandardHeaders(secrets []string, msgID string, t time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("sign webhook: %w: none given", ErrInvalidSecret)
	}
	sigs := make([]string, 0, len(secrets))
	for i, secret := range secrets {
		sig, err := SignStandard(secret, msgID, t, body)
		if err != nil {
			return nil, fmt.Errorf("sign webhook with secret %d: %w", i, err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(t.Unix(), 10))
	h.Set(HeaderStandardSignature, strings.Join(sigs, " "))
	return h, nil
}

// VerifyStandard checks the Standard Webhooks headers in h against body
// and secret, and that webhook-timestamp is within tolerance of the
// current time (zero or less skips the time check). Pass the raw body
// bytes as received. The error wraps the same sentinels as [Verify].
func VerifyStandard(body []byte, h http.Header, secret string, tolerance time.Duration) error {
	return VerifyStandardAt(body, h, secret, tolerance, time.Now())
}

// VerifyStandardAt is [VerifyStandard] with the receiver's clock given as
// now.
//
// webhook-signature may hold several space-separated signatures; one
// matching v1 signature suffices. Entries of other versions (such as the
// asymmetric "v1a") are skipped, as the specification asks, but a header
// without any v1 entry is malformed.
func VerifyStandardAt(body []byte, h http.Header, secret string, tolerance time.Duration, now time.Time) error {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return err
	}
	sigHeader := strings.Join(headerValues(h, HeaderStandardSignature), " ")
	if strings.TrimSpace(sigHeader) == "" {
		return fmt.Errorf("%w: no %s header", ErrMissingSignature, HeaderStandardSignature)
	}
	id := headerValue(h, HeaderID)
	if id == "" {
		return fmt.Errorf("%w: no %s header", ErrInvalidHeader, HeaderID)
	}
	tsText := headerValue(h, HeaderTimestamp)
	ts, err := parseUnix(tsText)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidHeader, HeaderTimestamp, err)
	}
	want := []byte(standardMAC(key, id, tsText, body))
	v1, matched := 0, false
	for _, entry := range strings.Fields(sigHeader) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		v1++
		// Comparing the base64 text, not decoded bytes, leaves no second
		// spelling of a valid signature to accept.
		if hmac.Equal([]byte(sig), want) {
			matched = true
		}
	}
	if v1 == 0 {
		return fmt.Errorf("%w: no v1 signature in %s", ErrInvalidHeader, HeaderStandardSignature)
	}
	if !matched {
		return fmt.Errorf("%w: none of %d v1 signatures matches the body", ErrSignatureMismatch, v1)
	}
	return checkTimestamp(ts, now, tolerance)
}

// decodeStandardSecret returns the HMAC key of a Standard Webhooks secret.
func decodeStandardSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		// The decoder's message gives a byte offset, never secret material.
		return nil, fmt.Errorf("%w: not base64 after the %s prefix: %w", ErrInvalidSecret, secretPrefix, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	return key, nil
}

// standardMAC is base64(HMAC-SHA256(key, "{id}.{ts}." + body)).
func standardMAC(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// headerValues is h.Values(name), also finding keys stored without
// canonicalization, as in an http.Header literal {"webhook-id": ...}.
func headerValues(h http.Header, name string) []string {
	if v := h.Values(name); len(v) > 0 {
		return v
	}
	return h[name]
}

func headerValue(h http.Header, name string) string {
	if v := headerValues(h, name); len(v) > 0 {
		return v[0]
	}
	return ""
}
