// Package blob stores rendered files. Bucket is the one interface the rest
// of renderhook uses; Local keeps files under a directory (one node), S3
// keeps them in an S3-compatible object store (any number of nodes).
// OpenURL picks one from a storage URL.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound means no object is stored under the key.
var ErrNotFound = errors.New("blob not found")

// ErrBadKey means a key is empty or could escape the bucket.
var ErrBadKey = errors.New("invalid blob key")

// Bucket stores objects by key. Put is durable when it returns.
type Bucket interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	Delete(ctx context.Context, key string) error
}

// Local is a Bucket on the local filesystem.
type Local struct {
	dir string
}

// NewLocal returns a bucket rooted at dir, creating it when missing.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob dir: %w", err)
	}
	return &Local{dir: dir}, nil
}

// ValidKey reports whether key is a relative, slash-separated path with no
// empty, "." or ".." segments.
func ValidKey(key string) bool {
	if key == "" || len(key) > 512 || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func (l *Local) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return filepath.Join(l.dir, filepath.FromSlash(key)), nil
}

// Put writes the object through a temporary file and a rename, so a reader
// never sees half a file, and syncs it so it survives a crash.
func (l *Local) Put(_ context.Context, key string, data []byte, _ string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create blob dir: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close blob: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("rename blob: %w", err)
	}
	renamed = true
	return nil
}

// Open returns the object and its size.
func (l *Local) Open(_ context.Context, key string) (io.ReadSeekCloser, int64, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p) //nolint:gosec // p is under l.dir: path refuses keys that ValidKey does not accept
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat blob: %w", err)
	}
	return f, st.Size(), nil
}

// Delete removes the object; a missing object is not an error.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// URLer is implemented by buckets that hand out their own file URLs (S3:
// presigned, or under a public base URL), so that files are fetched from
// the store directly rather than through renderhook's /files/ endpoint.
// Signer.FileURL defers to it.
type URLer interface {
	URL(ctx context.Context, key string) (string, error)
}

// Options are the storage settings that are not part of a storage URL.
type Options struct {
	// PublicURL is the base of file URLs of a publicly readable S3 bucket;
	// "" means presigned URLs.
	PublicURL string
	// URLExpiry is how long presigned URLs work; default DefaultURLExpiry.
	URLExpiry time.Duration
	// CreateBucket creates a missing S3 bucket instead of failing.
	CreateBucket bool
}

// OpenURL opens the bucket a storage URL names: file://DIR (files under
// DIR) or s3://bucket[/prefix]?endpoint=…&region=…&use_path_style=true
// (credentials from the standard AWS_* variables).
func OpenURL(ctx context.Context, raw string, o Options) (Bucket, error) {
	switch {
	case strings.HasPrefix(raw, "file://"):
		dir := strings.TrimPrefix(raw, "file://")
		if dir == "" {
			return nil, errors.New("storage URL: file:// needs a directory")
		}
		if o.PublicURL != "" {
			return nil, errors.New("a storage public URL applies to s3:// storage only")
		}
		return NewLocal(dir)
	case strings.HasPrefix(raw, "s3://"):
		cfg, err := ParseS3URL(raw)
		if err != nil {
			return nil, err
		}
		cfg.PublicURL, cfg.URLExpiry, cfg.CreateBucket = o.PublicURL, o.URLExpiry, o.CreateBucket
		return NewS3(ctx, cfg)
	}
	return nil, fmt.Errorf("unsupported storage URL %q: use file://DIR or s3://bucket?endpoint=…", raw)
}
