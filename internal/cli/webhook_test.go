package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// seedVectors is the webhook package's test vectors file; among them is
// the scheme's worked example (Urlbox's documentation), so the command
// line checks the same bytes the package does (TestSeedExampleVector
// keeps it there).
const seedVectors = "../../webhook/testdata/webhook-signature-vectors.json"

// seedExample returns the worked example's secret, body and header.
func seedExample(t *testing.T) (secret, body, header string) {
	t.Helper()
	b, err := os.ReadFile(seedVectors)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		SignatureHeader []struct{ Name, Secret, Body, Header string } `json:"signature_header"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", seedVectors, err)
	}
	for _, v := range f.SignatureHeader {
		if v.Name == "seed example: render.succeeded" {
			return v.Secret, v.Body, v.Header
		}
	}
	t.Fatalf("%s has no seed example", seedVectors)
	return "", "", ""
}

// runWebhook runs `renderhook webhook ...` with body on stdin. It swaps the
// package-level stdin, so its callers must not run in parallel.
func runWebhook(t *testing.T, body string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(body)
	t.Cleanup(func() { stdin = old })
	var out, errb bytes.Buffer
	code = Main(append([]string{"webhook"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestWebhookVerifySeedExample(t *testing.T) {
	seedSecret, seedBody, seedHeader := seedExample(t)
	// The example is from 2024; --tolerance 0 skips the time check.
	code, out, errOut := runWebhook(t, seedBody, "verify", "--secret", seedSecret, "--signature", seedHeader, "--tolerance", "0")
	if code != 0 || out != "valid\n" {
		t.Fatalf("seed example: exit %d, stdout %q, stderr %q; want 0 and valid", code, out, errOut)
	}

	tampered := strings.Replace(seedBody, "359081", "359082", 1)
	code, out, errOut = runWebhook(t, tampered, "verify", "--secret", seedSecret, "--signature", seedHeader, "--tolerance", "0")
	if code == 0 || out != "" || !strings.Contains(errOut, "signature mismatch") {
		t.Fatalf("tampered body: exit %d, stdout %q, stderr %q; want non-zero and a signature mismatch", code, out, errOut)
	}

	// A trailing newline, as `echo` adds, is a different body.
	if code, _, _ = runWebhook(t, seedBody+"\n", "verify", "--secret", seedSecret, "--signature", seedHeader, "--tolerance", "0"); code == 0 {
		t.Fatal("body with a trailing newline verified")
	}

	// With the default tolerance the 2024 timestamp is stale.
	code, _, errOut = runWebhook(t, seedBody, "verify", "--secret", seedSecret, "--signature", seedHeader)
	if code == 0 || !strings.Contains(errOut, "timestamp outside tolerance") {
		t.Fatalf("default tolerance: exit %d, stderr %q; want a stale timestamp", code, errOut)
	}
}

func TestWebhookVerifyStandard(t *testing.T) {
	args := []string{"verify", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"--signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "--tolerance", "0"}
	body := `{"test": 2432232314}`

	code, out, errOut := runWebhook(t, body, append(args, "--id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "--timestamp", "1614265330")...)
	if code != 0 || out != "valid\n" {
		t.Fatalf("Standard Webhooks example: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runWebhook(t, body, append(args, "--id", "msg_other", "--timestamp", "1614265330")...)
	if code == 0 || !strings.Contains(errOut, "signature mismatch") {
		t.Fatalf("altered id: exit %d, stderr %q; want a signature mismatch", code, errOut)
	}
	code, _, errOut = runWebhook(t, body, args...)
	if code == 0 || !strings.Contains(errOut, "--id and --timestamp") {
		t.Fatalf("v1 without --id: exit %d, stderr %q", code, errOut)
	}
}

func TestWebhookSignThenVerify(t *testing.T) {
	seedSecret, _, _ := seedExample(t)
	body := "{\"event\":\"render.failed\"}\n"
	code, out, errOut := runWebhook(t, body, "sign", "--secret", seedSecret, "--timestamp", "1705016013")
	want := "X-Renderhook-Signature: t=1705016013,sha256="
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("sign: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, sig, _ := strings.Cut(strings.TrimSpace(out), ": ")
	if code, out, errOut = runWebhook(t, body, "verify", "--secret", seedSecret, "--signature", sig, "--tolerance", "0"); code != 0 {
		t.Fatalf("verify what sign printed: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	secret := "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	code, out, errOut = runWebhook(t, body, "sign", "--standard", "--secret", secret, "--id", "msg_1", "--timestamp", "1705016013")
	if code != 0 {
		t.Fatalf("sign --standard: exit %d, stderr %q", code, errOut)
	}
	headers := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		headers[k] = v
	}
	if headers["webhook-id"] != "msg_1" || headers["webhook-timestamp"] != "1705016013" || !strings.HasPrefix(headers["webhook-signature"], "v1,") {
		t.Fatalf("sign --standard printed %q", out)
	}
	code, out, errOut = runWebhook(t, body, "verify", "--secret", secret, "--signature", headers["webhook-signature"],
		"--id", "msg_1", "--timestamp", "1705016013", "--tolerance", "0")
	if code != 0 {
		t.Fatalf("verify what sign --standard printed: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
