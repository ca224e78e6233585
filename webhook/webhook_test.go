package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// seedBody and seedHeader are the worked example of the signature scheme's
// original documentation (Urlbox), checked there with
// openssl dgst -sha256 -hmac 'your_webhook_secret'.
const (
	seedSecret = "your_webhook_secret"
	seedBody   = `{"event":"render.succeeded","renderId":"e9617143-2a95-4962-9cc9-d72f3c413b9c","result":{"renderUrl":"https://renders.urlbox.io/urlbox1/renders/571f54138cd8b877077d3788/2024/1/11/e9617143-2a95-4962-9cc9-d72f3c413b9c.png","size":359081},"meta":{"startTime":"2024-01-11T23:32:11.908Z","endTime":"2024-01-11T23:33:32.500Z"}}`
	seedHex    = "861986740b3b3c8afee299afe74ff7a6249271c776b3efe5b5fd184201f1a07e"
	seedHeader = "t=1705016013,sha256=" + seedHex
)

var seedTime = time.Unix(1705016013, 0)

func TestSignSeedExample(t *testing.T) {
	t.Parallel()
	if got := Sign(seedSecret, seedTime, []byte(seedBody)); got != seedHeader {
		t.Fatalf("Sign = %q, want %q", got, seedHeader)
	}
	if err := VerifyAt([]byte(seedBody), seedHeader, seedSecret, DefaultTolerance, seedTime.Add(time.Minute)); err != nil {
		t.Fatalf("VerifyAt seed example: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t)
	body := []byte(`{"event":"render.succeeded","renderId":"r_1"}`)
	header := Sign(secret, time.Now(), body)
	if err := Verify(body, header, secret, DefaultTolerance); err != nil {
		t.Fatalf("Verify of a fresh signature: %v", err)
	}
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-2] = '2'
	if err := Verify(tampered, header, secret, DefaultTolerance); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("Verify of a tampered body = %v, want ErrSignatureMismatch", err)
	}
	if err := Verify(body, header, secret+"x", DefaultTolerance); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("Verify with another secret = %v, want ErrSignatureMismatch", err)
	}
}

func TestVerifyHeaderForms(t *testing.T) {
	t.Parallel()
	body := []byte(seedBody)
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		header string
		want   error // nil: valid
	}{
		{"fields in either order", "sha256=" + seedHex + ",t=1705016013", nil},
		{"spaces after commas", "t=1705016013, sha256=" + seedHex, nil},
		{"matching signature second", "t=1705016013,sha256=" + other + ",sha256=" + seedHex, nil},
		{"matching signature first", "t=1705016013,sha256=" + seedHex + ",sha256=" + other, nil},
		{"upper-case hex", "t=1705016013,sha256=" + strings.ToUpper(seedHex), nil},
		{"only wrong signatures", "t=1705016013,sha256=" + other + ",sha256=" + other, ErrSignatureMismatch},
		{"whitespace only", " \t", ErrMissingSignature},
		{"duplicate t", "t=1705016013,t=1705016013,sha256=" + seedHex, ErrInvalidHeader},
		{"leading zero t", "t=01705016013,sha256=" + seedHex, ErrInvalidHeader},
		{"signed t", "t=+1705016013,sha256=" + seedHex, ErrInvalidHeader},
		{"negative t", "t=-1,sha256=" + seedHex, ErrInvalidHeader},
		{"t overflows int64", "t=99999999999999999999,sha256=" + seedHex, ErrInvalidHeader},
		{"empty sha256", "t=1705016013,sha256=", ErrInvalidHeader},
		{"sha256 too long", "t=1705016013,sha256=" + seedHex + "00", ErrInvalidHeader},
		{"extra field", "t=1705016013,sha256=" + seedHex + ",v0=x", ErrInvalidHeader},
		{"trailing comma", "t=1705016013,sha256=" + seedHex + ",", ErrInvalidHeader},
		{"key case matters", "T=1705016013,SHA256=" + seedHex, ErrInvalidHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantVerify(t, VerifyAt(body, tt.header, seedSecret, DefaultTolerance, seedTime), tt.want)
		})
	}
}

// wantVerify checks a verification's outcome: valid when want is nil,
// else an error that is want.
func wantVerify(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func TestMissingSignatureIsMalformed(t *testing.T) {
	t.Parallel()
	err := VerifyAt([]byte(seedBody), "", seedSecret, DefaultTolerance, seedTime)
	if !errors.Is(err, ErrMissingSignature) || !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("empty header: %v, want both ErrMissingSignature and ErrInvalidHeader", err)
	}
	if errors.Is(ErrInvalidHeader, ErrMissingSignature) {
		t.Fatal("ErrInvalidHeader must not match ErrMissingSignature")
	}
}

func TestToleranceBoundary(t *testing.T) {
	t.Parallel()
	body := []byte(seedBody)
	for _, tt := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"exactly tolerance old", seedTime.Add(DefaultTolerance), true},
		{"exactly tolerance ahead", seedTime.Add(-DefaultTolerance), true},
		{"within the last second", seedTime.Add(DefaultTolerance + 999*time.Millisecond), true},
		{"a second too old", seedTime.Add(DefaultTolerance + time.Second), false},
		{"a second too far ahead", seedTime.Add(-DefaultTolerance - time.Second), false},
		{"years later", seedTime.AddDate(30, 0, 0), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyAt(body, seedHeader, seedSecret, DefaultTolerance, tt.now)
			if tt.ok && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrTimestampOutOfTolerance) {
				t.Fatalf("got %v, want ErrTimestampOutOfTolerance", err)
			}
		})
	}
	// A huge timestamp must not overflow into acceptance.
	huge := "t=9223372036854775807,sha256=" + hex.EncodeToString(signatureMAC(seedSecret, 9223372036854775807, body))
	if err := VerifyAt(body, huge, seedSecret, DefaultTolerance, time.Unix(-9223372036, 0)); !errors.Is(err, ErrTimestampOutOfTolerance) {
		t.Fatalf("extreme timestamps: %v, want ErrTimestampOutOfTolerance", err)
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	t.Parallel()
	// An unset secret must never verify, not even a signature made with
	// the empty key, or a missing environment variable would accept forgeries.
	body := []byte("{}")
	header := Sign("", seedTime, body)
	if err := VerifyAt(body, header, "", 0, seedTime); !errors.Is(err, ErrInvalidSecret) {
		t.Fatalf("empty secret: %v, want ErrInvalidSecret", err)
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a := mustSecret(t)
	b := mustSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	raw, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("secret %q lacks the whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) != 32 {
		t.Fatalf("secret decodes to %d bytes, err %v; want 32", len(key), err)
	}
}

func TestStandardRoundTripWithRotation(t *testing.T) {
	t.Parallel()
	oldSecret := mustSecret(t)
	newSecret := mustSecret(t)
	body := []byte(`{"event":"render.succeeded"}`)
	now := time.Now()
	h, err := SignStandardHeaders([]string{oldSecret, newSecret}, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(HeaderStandardSignature))); n != 2 {
		t.Fatalf("webhook-signature has %d entries, want 2: %q", n, h.Get(HeaderStandardSignature))
	}
	for _, s := range []string{oldSecret, newSecret, strings.TrimPrefix(newSecret, "whsec_")} {
		if err := VerifyStandard(body, h, s, DefaultTolerance); err != nil {
			t.Fatalf("VerifyStandard with one of the signing secrets: %v", err)
		}
	}
	third := mustSecret(t)
	if err := VerifyStandard(body, h, third, DefaultTolerance); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("VerifyStandard with an unrelated secret = %v, want ErrSignatureMismatch", err)
	}
	if err := VerifyStandardAt(body, h, newSecret, DefaultTolerance, now.Add(time.Hour)); !errors.Is(err, ErrTimestampOutOfTolerance) {
		t.Fatalf("an hour later = %v, want ErrTimestampOutOfTolerance", err)
	}
	if err := VerifyStandardAt(body, h, newSecret, 0, now.Add(time.Hour)); err != nil {
		t.Fatalf("an hour later with the check off: %v", err)
	}
}

func TestVerifyStandardErrors(t *testing.T) {
	t.Parallel()
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	at := time.Unix(1614265330, 0)
	good := func() http.Header {
		return http.Header{
			"webhook-id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
			"webhook-timestamp": {"1614265330"},
			"webhook-signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		}
	}
	tests := []struct {
		name   string
		edit   func(http.Header)
		secret string
		want   error
	}{
		{"lower-case header literal", func(http.Header) {}, secret, nil},
		{"other versions are skipped", func(h http.Header) {
			h["webhook-signature"] = []string{"v1a,AAAA v2,zzz " + h["webhook-signature"][0]}
		}, secret, nil},
		{"no signature header", func(h http.Header) { delete(h, "webhook-signature") }, secret, ErrMissingSignature},
		{"no id", func(h http.Header) { delete(h, "webhook-id") }, secret, ErrInvalidHeader},
		{"no timestamp", func(h http.Header) { delete(h, "webhook-timestamp") }, secret, ErrInvalidHeader},
		{"timestamp in milliseconds text", func(h http.Header) { h["webhook-timestamp"] = []string{"1614265330.0"} }, secret, ErrInvalidHeader},
		{"only v1a", func(h http.Header) { h["webhook-signature"] = []string{"v1a,AAAA"} }, secret, ErrInvalidHeader},
		{"signature without padding", func(h http.Header) {
			h["webhook-signature"] = []string{strings.TrimRight(h["webhook-signature"][0], "=")}
		}, secret, ErrSignatureMismatch},
		{"id altered", func(h http.Header) { h["webhook-id"] = []string{"msg_other"} }, secret, ErrSignatureMismatch},
		{"secret not base64", func(http.Header) {}, "whsec_not base64!", ErrInvalidSecret},
		{"empty secret", func(http.Header) {}, "whsec_", ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := good()
			tt.edit(h)
			wantVerify(t, VerifyStandardAt(body, h, tt.secret, DefaultTolerance, at), tt.want)
		})
	}
}

func TestSignStandardErrors(t *testing.T) {
	t.Parallel()
	if _, err := SignStandard("whsec_%%%", "msg_1", seedTime, nil); !errors.Is(err, ErrInvalidSecret) {
		t.Fatalf("non-base64 secret: %v, want ErrInvalidSecret", err)
	}
	if _, err := SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "", seedTime, nil); err == nil {
		t.Fatal("empty message id: want an error")
	}
	if _, err := SignStandardHeaders(nil, "msg_1", seedTime, nil); !errors.Is(err, ErrInvalidSecret) {
		t.Fatalf("no secrets: %v, want ErrInvalidSecret", err)
	}
	if _, err := SignStandardHeaders([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "bad!"}, "msg_1", seedTime, nil); !errors.Is(err, ErrInvalidSecret) {
		t.Fatalf("one bad secret of two: %v, want ErrInvalidSecret", err)
	}
}

// mustSecret is a new secret from NewSecret, or the test fails.
func mustSecret(t *testing.T) string {
	t.Helper()
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
