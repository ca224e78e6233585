package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/blob/s3test"
)

// testBucket runs the behaviour every Bucket shares.
func testBucket(t *testing.T, b blob.Bucket) {
	ctx := context.Background()
	data := []byte("\x89PNG fake bytes")
	if err := b.Put(ctx, "spc_a/r1.png", data, "image/png"); err != nil {
		t.Fatal(err)
	}
	f, size, err := b.Open(ctx, "spc_a/r1.png")
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(data)) {
		t.Fatalf("size %d, want %d", size, len(data))
	}
	if _, err := f.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(rest, data[5:]) {
		t.Fatalf("read after seek %q %v", rest, err)
	}
	// Overwrite replaces the object.
	if err := b.Put(ctx, "spc_a/r1.png", []byte("v2"), "image/png"); err != nil {
		t.Fatal(err)
	}
	if f, size, err := b.Open(ctx, "spc_a/r1.png"); err != nil || size != 2 {
		t.Fatalf("after overwrite: %d %v", size, err)
	} else {
		f.Close()
	}
	if _, _, err := b.Open(ctx, "spc_a/missing.png"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a//b", "a/./b", "a\\b"} {
		if err := b.Put(ctx, bad, data, "image/png"); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Put(%q) = %v, want ErrBadKey", bad, err)
		}
	}
	if err := b.Delete(ctx, "spc_a/r1.png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(ctx, "spc_a/r1.png"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("deleted object: %v", err)
	}
	if err := b.Delete(ctx, "spc_a/r1.png"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestLocal(t *testing.T) {
	b, err := blob.OpenURL(context.Background(), "file://"+filepath.Join(t.TempDir(), "files"), blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testBucket(t, b)
	if _, ok := b.(blob.URLer); ok {
		t.Fatal("local files must be served through the signed /files/ URLs")
	}
	s := blob.NewSigner([]byte("k"), "http://h").WithBucket(b)
	u, err := s.FileURL(context.Background(), "spc_a/r 1.png")
	if err != nil || !strings.HasPrefix(u, "http://h/files/spc_a/r%201.png?sig=") || u != s.URL("spc_a/r 1.png") {
		t.Fatalf("file URL %q %v", u, err)
	}
	sig, _ := url.Parse(u)
	if !s.Verify("spc_a/r 1.png", sig.Query().Get("sig")) || s.Verify("spc_a/other.png", sig.Query().Get("sig")) {
		t.Fatal("signature does not bind the key")
	}
}

func TestS3(t *testing.T) {
	ctx := context.Background()
	raw := s3test.URL(t)
	if _, err := blob.OpenURL(ctx, raw, blob.Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing bucket without --storage-create-bucket: %v", err)
	}
	b, err := blob.OpenURL(ctx, raw, blob.Options{CreateBucket: true, URLExpiry: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	testBucket(t, b)

	// Presigned URLs fetch the file from the store itself, with its type.
	data := []byte("presigned bytes")
	if err := b.Put(ctx, "spc_b/r2.webp", data, "image/webp"); err != nil {
		t.Fatal(err)
	}
	s := blob.NewSigner([]byte("k"), "http://renderhook").WithBucket(b)
	u, err := s.FileURL(ctx, "spc_b/r2.webp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(u, "http://renderhook/") || !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=600") {
		t.Fatalf("presigned URL %q", u)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, data) || res.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("GET presigned: %d %q %s", res.StatusCode, got, res.Header.Get("Content-Type"))
	}
	tampered := strings.Replace(u, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	res, err = http.Get(tampered)
	if err != nil {
		t.Fatalf("tampered presigned URL: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("tampered presigned URL: %d, want 403", res.StatusCode)
	}
	// The /files/ URL keeps working as a fallback (the API serves it from
	// the bucket).
	if !strings.HasPrefix(s.SignedURL("spc_b/r2.webp"), "http://renderhook/files/spc_b/r2.webp?sig=") {
		t.Fatal(s.SignedURL("spc_b/r2.webp"))
	}

	// A public bucket's URLs are built on its base URL, prefix included.
	pub, err := blob.OpenURL(ctx, strings.Replace(raw, "?", "/renders?", 1), blob.Options{PublicURL: "https://cdn.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := pub.(blob.URLer).URL(ctx, "spc_b/a b.png"); err != nil || u != "https://cdn.example.com/renders/spc_b/a%20b.png" {
		t.Fatalf("public URL %q %v", u, err)
	}
	if err := pub.Put(ctx, "spc_c/x.png", data, "image/png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(ctx, "renders/spc_c/x.png"); err != nil {
		t.Fatalf("prefixed object not under its prefix: %v", err)
	}
}

func TestParseS3URL(t *testing.T) {
	cfg, err := blob.ParseS3URL("s3://bkt/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&use_path_style=true")
	if err != nil || cfg.Bucket != "bkt" || cfg.Prefix != "some/prefix/" || cfg.Endpoint != "http://127.0.0.1:9000" ||
		cfg.Region != "eu-west-1" || !cfg.PathStyle {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, bad := range []string{
		"s3://",                              // no bucket
		"s3://b?endpont=http://x",            // typo: unknown parameter
		"s3://b?use_path_style=maybe",        // not a boolean
		"s3://key:secret@b",                  // credentials in the URL
		"gs://b",                             // another scheme
		"s3://b?endpoint=ftp://127.0.0.1:21", // not http(s)
	} {
		_, err := blob.ParseS3URL(bad)
		if err == nil && strings.HasPrefix(bad, "s3://b?endpoint=ftp") {
			_, err = blob.NewS3(context.Background(), blob.S3Config{Bucket: "b", Endpoint: "ftp://127.0.0.1:21"})
		}
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := blob.OpenURL(context.Background(), "s3://b?endpoint=http://127.0.0.1:1", blob.Options{URLExpiry: 8 * 24 * time.Hour}); err == nil ||
		!strings.Contains(err.Error(), "7 days") {
		t.Fatalf("expiry over 7 days: %v", err)
	}
}
