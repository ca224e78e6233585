package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseSignatureHeader checks that the parser never panics, that it
// accepts a header exactly when VerifyAt gets past parsing, and that an
// accepted header verifies exactly when one of its signatures is right.
func FuzzParseSignatureHeader(f *testing.F) {
	for _, h := range []string{
		seedHeader,
		"sha256=" + seedHex + ",t=1705016013",
		"t=1705016013, sha256=" + seedHex + ",sha256=" + strings.Repeat("0", 64),
		"t=1705016013",
		"t=abc,sha256=" + seedHex,
		"t=1705016013;sha256;;==,,,",
		"t=1705016013,v1=" + seedHex,
		"",
		"t=0,sha256=" + seedHex,
	} {
		f.Add(h, []byte(seedBody))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		const secret = "fuzz_secret"
		ts, sigs, perr := parseSignatureHeader(header)
		verr := VerifyAt(body, header, secret, 0, time.Unix(0, 0))
		if perr != nil {
			if !errors.Is(perr, ErrInvalidHeader) {
				t.Fatalf("parse error %v does not match ErrInvalidHeader", perr)
			}
			if !errors.Is(verr, ErrInvalidHeader) {
				t.Fatalf("parser rejected %q (%v) but VerifyAt returned %v", header, perr, verr)
			}
			return
		}
		if ts < 0 || len(sigs) == 0 {
			t.Fatalf("accepted %q with t=%d and %d signatures", header, ts, len(sigs))
		}
		want := signatureMAC(secret, ts, body)
		matches := slices.ContainsFunc(sigs, func(s []byte) bool { return bytes.Equal(s, want) })
		if matches != (verr == nil) {
			t.Fatalf("header %q: a signature matches: %v, but VerifyAt returned %v", header, matches, verr)
		}
		if verr != nil && !errors.Is(verr, ErrSignatureMismatch) {
			t.Fatalf("accepted header %q failed with %v, want ErrSignatureMismatch", header, verr)
		}

		// The canonical spelling of what was parsed parses to the same thing.
		canon := "t=" + strconv.FormatInt(ts, 10)
		for _, s := range sigs {
			canon += ",sha256=" + hex.EncodeToString(s)
		}
		ts2, sigs2, err := parseSignatureHeader(canon)
		if err != nil || ts2 != ts || !slices.EqualFunc(sigs, sigs2, bytes.Equal) {
			t.Fatalf("canonical form %q of %q parsed to t=%d, %x, %v", canon, header, ts2, sigs2, err)
		}

		// Adding the right signature to an accepted header makes it valid,
		// and our own signature for that timestamp is valid too.
		if err := VerifyAt(body, header+",sha256="+hex.EncodeToString(want), secret, 0, time.Unix(0, 0)); err != nil {
			t.Fatalf("header %q plus the right signature: %v", header, err)
		}
		if err := VerifyAt(body, Sign(secret, time.Unix(ts, 0), body), secret, 0, time.Unix(0, 0)); err != nil {
			t.Fatalf("Sign at t=%d: %v", ts, err)
		}
	})
}

// FuzzVerifyStandard checks that VerifyStandardAt never panics, accepts
// only headers that contain the exact expected v1 signature, and accepts
// whatever SignStandard produces for the same inputs, but not for another
// body.
func FuzzVerifyStandard(f *testing.F) {
	f.Add([]byte(`{"test": 2432232314}`), "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add([]byte(`{}`), "msg_1", "0", "v1,AAAA v1a,BBBB", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	f.Add([]byte(``), "", "01", "", "whsec_")
	f.Add([]byte(`x`), "a.b", "-5", "v1,", "whsec_!!")
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sigHeader, secret string) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderStandardSignature, sigHeader)
		err := VerifyStandardAt(body, h, secret, 0, time.Unix(0, 0))

		key, kerr := decodeStandardSecret(secret)
		if kerr != nil {
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("secret %q is unusable (%v) but VerifyStandardAt returned %v", secret, kerr, err)
			}
			if _, serr := SignStandard(secret, "msg", time.Unix(0, 0), body); !errors.Is(serr, ErrInvalidSecret) {
				t.Fatalf("SignStandard with unusable secret %q: %v", secret, serr)
			}
			return
		}
		if err == nil {
			want := "v1," + standardMAC(key, id, ts, body)
			if !slices.Contains(strings.Fields(sigHeader), want) {
				t.Fatalf("accepted %q without the expected %q", sigHeader, want)
			}
			if _, perr := parseUnix(ts); perr != nil || id == "" {
				t.Fatalf("accepted id %q, timestamp %q", id, ts)
			}
		}

		n, perr := parseUnix(ts)
		if perr != nil || id == "" {
			return
		}
		signed, err := SignStandardHeaders([]string{secret}, id, time.Unix(n, 0), body)
		if err != nil {
			t.Fatalf("SignStandardHeaders: %v", err)
		}
		if err := VerifyStandardAt(body, signed, secret, 0, time.Unix(0, 0)); err != nil {
			t.Fatalf("own signature for id %q, t=%d: %v", id, n, err)
		}
		// The raw key, without the prefix, is the same secret.
		if err := VerifyStandardAt(body, signed, base64.StdEncoding.EncodeToString(key), 0, time.Unix(0, 0)); err != nil {
			t.Fatalf("own signature with the unprefixed secret: %v", err)
		}
		if err := VerifyStandardAt(append(bytes.Clone(body), 'x'), signed, secret, 0, time.Unix(0, 0)); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("own signature over another body: %v, want ErrSignatureMismatch", err)
		}
	})
}
