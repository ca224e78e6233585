package blob

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures an S3-compatible bucket (AWS S3, MinIO, R2, …).
type S3Config struct {
	// Bucket is the bucket's name; required.
	Bucket string
	// Prefix is put before every key, to share a bucket; "" or ending in "/".
	Prefix string
	// Endpoint is the server, as a URL (http://127.0.0.1:9000) or host:port
	// (https). Default: AWS S3.
	Endpoint string
	// Region is the bucket's region; default DefaultRegion. Set, it spares
	// the client a region lookup before presigning.
	Region string
	// PathStyle addresses the bucket as endpoint/bucket/key rather than
	// bucket.endpoint/key; MinIO and most self-hosted servers need it.
	PathStyle bool
	// PublicURL, when set, is the base of file URLs for a bucket anyone may
	// read (e.g. behind a CDN): PublicURL/<prefix><key>. Otherwise file
	// URLs are presigned GETs valid for URLExpiry.
	PublicURL string
	// URLExpiry is how long a presigned file URL works: default
	// DefaultURLExpiry, at most MaxURLExpiry.
	URLExpiry time.Duration
	// CreateBucket creates the bucket when it is missing; otherwise a
	// missing bucket fails NewS3.
	CreateBucket bool
	// AccessKey and SecretKey (and SessionToken) sign requests. When both
	// are empty they come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN, or else the shared file ~/.aws/credentials.
	AccessKey, SecretKey, SessionToken string
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// S3 is a Bucket on an S3-compatible object store. It makes its own file
// URLs (presigned, or under a public base URL), so files are fetched from
// the store without passing through renderhook.
type S3 struct {
	c         *minio.Client
	bucket    string
	prefix    string
	publicURL string
	expiry    time.Duration
}

var (
	_ Bucket = (*S3)(nil)
	_ URLer  = (*S3)(nil)
)

// The defaults of S3Config (and Options), applied by WithDefaults, and
// the bound of its URLExpiry.
const (
	DefaultURLExpiry = time.Hour
	DefaultRegion    = "us-east-1"
	// MaxURLExpiry is the longest validity SigV4 allows a presigned URL.
	MaxURLExpiry = 7 * 24 * time.Hour
)

// WithDefaults returns cfg with its zero URLExpiry and Region set to
// their defaults.
func (cfg S3Config) WithDefaults() S3Config {
	cfg.URLExpiry = cmp.Or(cfg.URLExpiry, DefaultURLExpiry)
	cfg.Region = cmp.Or(cfg.Region, DefaultRegion)
	return cfg
}

// NewS3 connects to the bucket and checks it exists (creating it when
// cfg.CreateBucket is set).
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: a bucket name is required")
	}
	if cfg.Prefix != "" && (!strings.HasSuffix(cfg.Prefix, "/") || !ValidKey(strings.TrimSuffix(cfg.Prefix, "/"))) {
		return nil, fmt.Errorf("s3: prefix %q must be a relative path ending in /", cfg.Prefix)
	}
	cfg = cfg.WithDefaults()
	expiry, region := cfg.URLExpiry, cfg.Region
	if expiry < time.Second || expiry > MaxURLExpiry {
		return nil, fmt.Errorf("s3: URL expiry %s must be between 1s and %d days", expiry, MaxURLExpiry/(24*time.Hour))
	}
	host, secure := "s3.amazonaws.com", true
	if cfg.Endpoint != "" {
		ep := cfg.Endpoint
		if !strings.Contains(ep, "://") {
			ep = "https://" + ep
		}
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("s3: endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		// No instance-metadata provider: probing it from a machine that is
		// not on a cloud would send requests to a link-local address.
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
		})
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds: creds, Secure: secure, Region: region, BucketLookup: lookup, Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	s := &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix, publicURL: strings.TrimRight(cfg.PublicURL, "/"), expiry: expiry}

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := c.BucketExists(cctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: check bucket %q at %s: %w", cfg.Bucket, host, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("s3: bucket %q does not exist at %s: create it, or start with --storage-create-bucket", cfg.Bucket, host)
		}
		if err := c.MakeBucket(cctx, cfg.Bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return nil, fmt.Errorf("s3: create bucket %q: %w", cfg.Bucket, err)
			}
		}
	}
	return s, nil
}

func (s *S3) object(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return s.prefix + key, nil
}

// Put uploads the object; S3 makes it durable before answering.
func (s *S3) Put(ctx context.Context, key string, data []byte, contentType string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if _, err := s.c.PutObject(ctx, s.bucket, obj, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("upload blob: %w", err)
	}
	return nil
}

// Open returns the object, read (and seeked) with ranged GETs, and its size.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, 0, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("open blob: %w", err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, 0, ErrNotFound
		}
		return nil, 0, fmt.Errorf("open blob: %w", err)
	}
	return o, st.Size, nil
}

// Delete removes the object; a missing object is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil &&
		minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// URLLifetime is how long the URLs URL makes keep working: the presigned
// URLs' expiry, or 0 under a public base URL (they do not expire). The
// webhook deliveries use it to know when a queued renderUrl must be made
// afresh.
func (s *S3) URLLifetime() time.Duration {
	if s.publicURL != "" {
		return 0
	}
	return s.expiry
}

// URL returns where the file is fetched: under the public base URL, or
// presigned. Presigning is computed locally (the region is known), so it
// costs no request.
func (s *S3) URL(ctx context.Context, key string) (string, error) {
	obj, err := s.object(key)
	if err != nil {
		return "", err
	}
	if s.publicURL != "" {
		return s.publicURL + "/" + (&url.URL{Path: obj}).EscapedPath(), nil
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, obj, s.expiry, nil)
	if err != nil {
		return "", fmt.Errorf("presign blob URL: %w", err)
	}
	return u.String(), nil
}

// ParseS3URL reads s3://bucket[/prefix/]?endpoint=…&region=…&use_path_style=true
// into a config. Credentials are never part of the URL.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return S3Config{}, fmt.Errorf("storage URL: want s3://bucket[/prefix]?endpoint=…&region=…&use_path_style=true")
	}
	if u.User != nil {
		return S3Config{}, errors.New("storage URL: put credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL")
	}
	cfg := S3Config{Bucket: u.Host}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "use_path_style", "s3ForcePathStyle":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, fmt.Errorf("storage URL: %s=%q is not a boolean", k, v)
			}
			cfg.PathStyle = b
		default:
			return S3Config{}, fmt.Errorf("storage URL: unknown parameter %q (known: endpoint, region, use_path_style)", k)
		}
	}
	return cfg, nil
}
