package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorsPath is the vectors file, kept in this package's testdata so a
// plain clone of the repository has it. Each vector names its source.
const vectorsPath = "testdata/webhook-signature-vectors.json"

type signatureVector struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	Secret     string `json:"secret"`
	Timestamp  int64  `json:"timestamp"`
	Body       string `json:"body"`
	Header     string `json:"header"`
	Now        int64  `json:"now"`
	ToleranceS int64  `json:"tolerance_s"`
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason"`
}

type standardVector struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	Secret     string `json:"secret"`
	ID         string `json:"id"`
	Timestamp  int64  `json:"timestamp"`
	Body       string `json:"body"`
	Signature  string `json:"signature"`
	Now        int64  `json:"now"`
	ToleranceS int64  `json:"tolerance_s"`
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason"`
}

type vectorFile struct {
	Description      string            `json:"description"`
	SignatureHeader  []signatureVector `json:"signature_header"`
	StandardWebhooks []standardVector  `json:"standard_webhooks"`
}

// reasons maps the vectors' reason strings onto this package's sentinels.
// A reason not listed here fails the test, so a new kind of vector cannot
// pass unchecked.
var reasons = map[string]error{
	"signature mismatch":          ErrSignatureMismatch,
	"timestamp outside tolerance": ErrTimestampOutOfTolerance,
	"malformed header":            ErrInvalidHeader,
	"missing signature":           ErrMissingSignature,
	"invalid secret":              ErrInvalidSecret,
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var f vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	// An unknown field would mean the vectors grew a dimension (a second
	// header, an encoding) that this test silently ignores.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode vectors: %v", err)
	}
	for _, v := range f.SignatureHeader {
		if v.Source == "" {
			t.Fatalf("vector %q does not say where it comes from (source)", v.Name)
		}
	}
	for _, v := range f.StandardWebhooks {
		if v.Source == "" {
			t.Fatalf("vector %q does not say where it comes from (source)", v.Name)
		}
	}
	if len(f.SignatureHeader) == 0 || len(f.StandardWebhooks) == 0 {
		t.Fatalf("vectors file has %d signature_header and %d standard_webhooks vectors; want both non-empty",
			len(f.SignatureHeader), len(f.StandardWebhooks))
	}
	return f
}

func checkOutcome(t *testing.T, err error, valid bool, reason string) {
	t.Helper()
	if valid {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want invalid (%s), got valid", reason)
	}
	if reason == "" {
		return
	}
	want, ok := reasons[reason]
	if !ok {
		t.Fatalf("vector reason %q has no matching sentinel error; extend reasons", reason)
	}
	if !errors.Is(err, want) {
		t.Fatalf("want an error matching %v (%q), got %v", want, reason, err)
	}
}

// TestSeedExampleVector keeps the seed's worked example among the vectors:
// the Urlbox documentation's secret, timestamp and published digest.
func TestSeedExampleVector(t *testing.T) {
	t.Parallel()
	const digest = "861986740b3b3c8afee299afe74ff7a6249271c776b3efe5b5fd184201f1a07e"
	for _, v := range loadVectors(t).SignatureHeader {
		if v.Secret == "your_webhook_secret" && v.Timestamp == 1705016013 && v.Valid &&
			v.Header == "t=1705016013,sha256="+digest {
			return
		}
	}
	t.Fatal("the seed's worked example (your_webhook_secret, t=1705016013) is not among the valid vectors")
}

func TestSignatureHeaderVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t).SignatureHeader {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(v.Now, 0)
			err := VerifyAt([]byte(v.Body), v.Header, v.Secret, time.Duration(v.ToleranceS)*time.Second, now)
			checkOutcome(t, err, v.Valid, v.Reason)
			if v.Valid {
				// Our signer must produce exactly the header a valid vector holds.
				if got := Sign(v.Secret, time.Unix(v.Timestamp, 0), []byte(v.Body)); got != v.Header {
					t.Errorf("Sign = %q, want %q", got, v.Header)
				}
			}
		})
	}
}

func TestStandardWebhooksVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t).StandardWebhooks {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			h.Set(HeaderID, v.ID)
			h.Set(HeaderTimestamp, strconv.FormatInt(v.Timestamp, 10))
			h.Set(HeaderStandardSignature, v.Signature)
			now := time.Unix(v.Now, 0)
			err := VerifyStandardAt([]byte(v.Body), h, v.Secret, time.Duration(v.ToleranceS)*time.Second, now)
			checkOutcome(t, err, v.Valid, v.Reason)
			if v.Valid {
				// The vector's signature list must contain what we sign.
				sig, err := SignStandard(v.Secret, v.ID, time.Unix(v.Timestamp, 0), []byte(v.Body))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(strings.Fields(v.Signature), sig) {
					t.Errorf("SignStandard = %q, not among %q", sig, v.Signature)
				}
			}
		})
	}
}
