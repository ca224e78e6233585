package blob_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/renderhook/renderhook/internal/blob"
)

// s3Recorder is an HTTP server standing in for an S3 endpoint: it keeps
// each request's method, path, headers and body, and answers status (an
// S3 XML error when not 200).
type s3Recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	status int
}

func newS3Recorder(t *testing.T, status int) *s3Recorder {
	rec := &s3Recorder{status: status}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs, rec.bodies = append(rec.reqs, r), append(rec.bodies, body)
		rec.mu.Unlock()
		if rec.status != http.StatusOK {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(rec.status)
			_, _ = io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`)
			return
		}
		w.Header().Set("ETag", `"abc"`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *s3Recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the endpoint got no request")
	}
	return r.reqs[len(r.reqs)-1], r.bodies[len(r.bodies)-1]
}

// TestTargetPutHeaders: what the bucket receives from an upload: a signed
// PUT of the bytes at /bucket/key, the content type, the storage class,
// and the public-read ACL unless the bucket is private.
func TestTargetPutHeaders(t *testing.T) {
	srv := newS3Recorder(t, http.StatusOK)
	data := []byte("\x89PNG fake bytes")
	for _, private := range []bool{false, true} {
		tg := blob.Target{Endpoint: srv.URL, Bucket: "shots", Region: "eu-west-2", PathStyle: true, AccessKey: "AKTEST", SecretKey: "SKTEST",
			Key: "a/b.png", StorageClass: "REDUCED_REDUNDANCY", Private: private}
		u, err := tg.Put(context.Background(), http.DefaultTransport, data, "image/png")
		if err != nil {
			t.Fatal(err)
		}
		if u != srv.URL+"/shots/a/b.png" {
			t.Fatalf("URL %s", u)
		}
		r, body := srv.last(t)
		h := r.Header
		switch {
		case r.Method != http.MethodPut || r.URL.Path != "/shots/a/b.png":
			t.Fatalf("%s %s", r.Method, r.URL.Path)
		case !strings.Contains(string(body), string(data)) || h.Get("X-Amz-Decoded-Content-Length") != "15":
			// Over plain http the client signs the body in aws-chunked
			// frames; the bytes are inside.
			t.Fatalf("body %q (%s)", body, h.Get("X-Amz-Decoded-Content-Length"))
		case h.Get("Content-Type") != "image/png" || h.Get("X-Amz-Storage-Class") != "REDUCED_REDUNDANCY":
			t.Fatalf("headers %v", h)
		case !strings.Contains(h.Get("Authorization"), "Credential=AKTEST/") || !strings.Contains(h.Get("Authorization"), "/eu-west-2/s3/"):
			t.Fatalf("authorization %q", h.Get("Authorization"))
		case strings.Contains(h.Get("Authorization"), "SKTEST"):
			t.Fatal("the secret was sent")
		case private && h.Get("X-Amz-Acl") != "":
			t.Fatalf("a private bucket got ACL %q", h.Get("X-Amz-Acl"))
		case !private && h.Get("X-Amz-Acl") != "public-read":
			t.Fatalf("a public bucket got ACL %q", h.Get("X-Amz-Acl"))
		}
	}
	// cdn_host makes the URL, not the upload.
	tg := blob.Target{Endpoint: srv.URL, Bucket: "shots", PathStyle: true, AccessKey: "A", SecretKey: "S", Key: "c d.png", CDNHost: "cdn.example.com"}
	if u, err := tg.Put(context.Background(), http.DefaultTransport, data, "image/png"); err != nil || u != "https://cdn.example.com/c%20d.png" {
		t.Fatalf("cdn: %s %v", u, err)
	}
}

// TestTargetRefused: a bucket's refusal is ErrTarget with the bucket's
// code, and says nothing of the secret or a presigned URL's signature.
func TestTargetRefused(t *testing.T) {
	srv := newS3Recorder(t, http.StatusForbidden)
	tg := blob.Target{Endpoint: srv.URL, Bucket: "shots", PathStyle: true, AccessKey: "AKTEST", SecretKey: "SKTEST", Key: "k.png"}
	_, err := tg.Put(context.Background(), http.DefaultTransport, []byte("x"), "image/png")
	if !errors.Is(err, blob.ErrTarget) || !strings.Contains(err.Error(), "AccessDenied") || strings.Contains(err.Error(), "SKTEST") {
		t.Fatalf("err %v", err)
	}
	pre := blob.Target{PresignedURL: srv.URL + "/shots/k.png?X-Amz-Signature=deadbeef&X-Amz-Credential=AK", Key: "k.png"}
	_, err = pre.Put(context.Background(), http.DefaultTransport, []byte("x"), "image/png")
	if !errors.Is(err, blob.ErrTarget) || !strings.Contains(err.Error(), "403: AccessDenied") || strings.Contains(err.Error(), "deadbeef") {
		t.Fatalf("presigned err %v", err)
	}
	// A connection error quotes no URL either.
	pre.PresignedURL = "http://127.0.0.1:1/k.png?X-Amz-Signature=deadbeef"
	if _, err = pre.Put(context.Background(), http.DefaultTransport, []byte("x"), "image/png"); !errors.Is(err, blob.ErrTarget) || strings.Contains(err.Error(), "deadbeef") {
		t.Fatalf("unreachable: %v", err)
	}
}

// TestTargetPresigned: the file is PUT to the presigned URL as given, and
// the URL answered is it without its query.
func TestTargetPresigned(t *testing.T) {
	srv := newS3Recorder(t, http.StatusOK)
	pre := blob.Target{PresignedURL: srv.URL + "/shots/k.png?X-Amz-Signature=abc", Key: "ignored"}
	u, err := pre.Put(context.Background(), http.DefaultTransport, []byte("bytes"), "image/png")
	if err != nil || u != srv.URL+"/shots/k.png" {
		t.Fatalf("%s %v", u, err)
	}
	r, body := srv.last(t)
	if r.Method != http.MethodPut || r.URL.RawQuery != "X-Amz-Signature=abc" || string(body) != "bytes" {
		t.Fatalf("%s %s %q", r.Method, r.URL, body)
	}
}

// TestTargetRefusalBounded: what a bucket says when it refuses an upload
// is the render's error (its row, its answers, its webhooks), at no cost
// to the client; a hostile endpoint's long message (minio-go reads up to
// 1 MB of it, a presigned PUT's answer up to 64 KB) must not become that:
// the reason is cut to a line of at most MaxReason bytes.
func TestTargetRefusalBounded(t *testing.T) {
	long := strings.Repeat("A", 60<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>`+long+"\n"+`injected line</Message></Error>`)
	}))
	t.Cleanup(srv.Close)
	for name, tg := range map[string]blob.Target{
		"s3":        {Endpoint: srv.URL, Bucket: "shots", PathStyle: true, AccessKey: "AK", SecretKey: "SK", Key: "k.png"},
		"presigned": {PresignedURL: srv.URL + "/shots/k.png?X-Amz-Signature=abc", Key: "k.png"},
	} {
		_, err := tg.Put(context.Background(), http.DefaultTransport, []byte("x"), "image/png")
		if !errors.Is(err, blob.ErrTarget) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("%s: %v", name, err)
		}
		if n := len(err.Error()); n > 2*blob.MaxReason || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s: the bucket's refusal made a %d-byte error (or one of several lines)", name, n)
		}
	}
}
