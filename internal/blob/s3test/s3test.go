// Package s3test gives each test its own empty bucket on the S3 server
// named by RENDERHOOK_TEST_STORAGE_URL (scripts/minio-test.sh starts a
// throwaway MinIO and sets it, with the AWS_* credentials), so tests
// sharing one server never see each other's files.
package s3test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/testenv"
)

// EnvURL names the variable holding the test S3 server's storage URL.
const EnvURL = "RENDERHOOK_TEST_STORAGE_URL"

var backend = testenv.Backend{
	Env: EnvURL, Script: "scripts/minio-test.sh", Prefix: "rh-test-",
	Place: func(base, bucket string) (string, error) {
		u, err := url.Parse(base)
		if err != nil {
			return "", err
		}
		u.Host = bucket
		return u.String(), nil
	},
	Drop: func(t testing.TB, _, _, raw string) { Remove(t, raw) },
}

// Enabled reports whether a test S3 server is configured.
func Enabled() bool { return backend.Enabled() }

// URL returns the storage URL of a new bucket name of its own (the caller
// creates it, e.g. with CreateBucket), emptied and removed when the test
// ends. It skips the test when no test server is configured.
func URL(t testing.TB) string {
	t.Helper()
	return backend.URL(t)
}

// Client returns a MinIO client for the server of a storage URL, with the
// AWS_* credentials, and the bucket's name.
func Client(t testing.TB, raw string) (*minio.Client, string) {
	t.Helper()
	cfg, err := blob.ParseS3URL(raw)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := url.Parse(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(ep.Host, &minio.Options{
		Creds:  credentials.NewEnvAWS(),
		Secure: ep.Scheme == "https", Region: cfg.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, cfg.Bucket
}

// Remove deletes every object of the bucket and the bucket; a missing
// bucket is fine.
func Remove(t testing.TB, raw string) {
	c, bucket := Client(t, raw)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ok, err := c.BucketExists(ctx, bucket); err != nil || !ok {
		return
	}
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Logf("list %s: %v", bucket, obj.Err)
			break
		}
		if err := c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Logf("remove %s/%s: %v", bucket, obj.Key, err)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Logf("remove bucket %s: %v", bucket, err)
	}
}
