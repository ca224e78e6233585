package render

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestV1StorageOptionsParse: each storage option, with use_s3, lands in
// its StorageOptions field, normalised.
func TestV1StorageOptionsParse(t *testing.T) {
	wantParsed(t, []parsedCase[StorageOptions]{
		{map[string]any{"use_s3": true}, StorageOptions{UseS3: true}},
		{map[string]any{"use_s3": true, "s3_path": "/shots/a"}, StorageOptions{UseS3: true, Path: "shots/a"}},
		{map[string]any{"use_s3": true, "no_suffix": true}, StorageOptions{UseS3: true, NoSuffix: true}},
		{map[string]any{"use_s3": true, "s3_bucket": "my.bucket-1"}, StorageOptions{UseS3: true, Bucket: "my.bucket-1"}},
		{map[string]any{"use_s3": true, "s3_endpoint": "nyc3.digitaloceanspaces.com"}, StorageOptions{UseS3: true, Endpoint: "https://nyc3.digitaloceanspaces.com"}},
		{map[string]any{"use_s3": true, "s3_endpoint": "http://minio.internal:9000/"}, StorageOptions{UseS3: true, Endpoint: "http://minio.internal:9000"}},
		{map[string]any{"use_s3": true, "s3_region": "eu-west-2"}, StorageOptions{UseS3: true, Region: "eu-west-2"}},
		{map[string]any{"use_s3": true, "s3_key": "AK", "s3_secret": "SK"}, StorageOptions{UseS3: true, Key: "AK", Secret: "SK"}},
		{map[string]any{"use_s3": true, "s3_private_bucket": true}, StorageOptions{UseS3: true, PrivateBucket: true}},
		{map[string]any{"use_s3": true, "s3_force_path_style": "true"}, StorageOptions{UseS3: true, ForcePathStyle: true}},
		{map[string]any{"use_s3": true, "s3_storageclass": "Standard_IA"}, StorageOptions{UseS3: true, StorageClass: "STANDARD_IA"}},
		{map[string]any{"use_s3": true, "cdn_host": "cdn.example.com"}, StorageOptions{UseS3: true, CDNHost: "cdn.example.com"}},
		{map[string]any{"s3_presigned_url": "https://b.s3.amazonaws.com/k.png?X-Amz-Signature=1"},
			StorageOptions{PresignedURL: "https://b.s3.amazonaws.com/k.png?X-Amz-Signature=1"}},
	}, func(o *URLOptions) StorageOptions { return o.Storage })
}

// TestV1StorageOptionsRefused: bad values, storage options without a
// bucket to apply to, and credentials in a render link are 400s naming
// the option.
func TestV1StorageOptionsRefused(t *testing.T) {
	wantRefused(t, []refusal{
		{map[string]any{"s3_path": "a"}, "s3_path"},
		{map[string]any{"cdn_host": "cdn.example.com"}, "cdn_host"},
		{map[string]any{"s3_secret": "x"}, "s3_secret"},
		{map[string]any{"use_s3": true, "s3_path": "a/../b"}, "s3_path"},
		{map[string]any{"use_s3": true, "s3_bucket": "Bad_Bucket"}, "s3_bucket"},
		{map[string]any{"use_s3": true, "s3_bucket": "10.0.0.1"}, "s3_bucket"},
		{map[string]any{"use_s3": true, "s3_endpoint": "ftp://x.example"}, "s3_endpoint"},
		{map[string]any{"use_s3": true, "s3_endpoint": "https://x.example/path"}, "s3_endpoint"},
		{map[string]any{"use_s3": true, "s3_endpoint": "https://user:pw@x.example"}, "s3_endpoint"},
		{map[string]any{"use_s3": true, "s3_region": "EU WEST"}, "s3_region"},
		{map[string]any{"use_s3": true, "s3_storageclass": "cold"}, "s3_storageclass"},
		{map[string]any{"use_s3": true, "s3_secret": "a\nb"}, "s3_secret"},
		{map[string]any{"use_s3": true, "cdn_host": "cdn.example.com/path"}, "cdn_host"},
		{map[string]any{"use_s3": "yes"}, "use_s3"},
		{map[string]any{"s3_presigned_url": "not a url"}, "s3_presigned_url"},
		{map[string]any{"s3_presigned_url": "https://b.example/k", "s3_bucket": "b-1"}, "s3_bucket"},
	})
	for _, name := range []string{"s3_key", "s3_secret", "s3_presigned_url"} {
		q := url.Values{"url": {"https://a.example"}, "use_s3": {"true"}, name: {"https://b.example/k"}}
		_, err := ParseV1Query(q, "png")
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "render link") {
			t.Errorf("%s in a link: %v", name, err)
		}
	}
}

// TestV1StorageCacheKey: where the file goes is part of the cache key,
// the credentials only by their hash.
func TestV1StorageCacheKey(t *testing.T) {
	key := func(opts map[string]any) string { return cacheKey(t, "spc_1", opts) }
	plain := key(nil)
	a := key(map[string]any{"use_s3": true, "s3_path": "a"})
	b := key(map[string]any{"use_s3": true, "s3_path": "b"})
	c := key(map[string]any{"use_s3": true, "s3_path": "a", "s3_key": "k", "s3_secret": "s"})
	if plain == a || a == b || a == c {
		t.Fatal("the cache key does not tell apart where files go")
	}
	if a != key(map[string]any{"use_s3": true, "s3_path": "a"}) {
		t.Fatal("the cache key is not stable")
	}
}
