package blob

import (
	"context"
	"net/url"
	"path"
	"strings"

	"github.com/renderhook/renderhook/internal/capability"
)

// Signer makes and checks the HMAC-signed URLs under which renderhook
// serves stored files, so a file URL can be shared (or put in <img src>)
// without a token, while nobody can guess another file's URL. When the
// bucket makes its own URLs (S3), file URLs are the bucket's instead.
type Signer struct {
	key     []byte
	baseURL string
	urler   URLer // the bucket, when it makes its own file URLs
}

// NewSigner returns a signer; baseURL is the server's public URL.
func NewSigner(key []byte, baseURL string) *Signer {
	return &Signer{key: key, baseURL: strings.TrimRight(baseURL, "/")}
}

// sig is the MAC of a file's key under the file-URL purpose's own derived
// key and domain tag, so it cannot serve as any other signature.
func (s *Signer) sig(key string) string {
	return capability.MAC(s.key, capability.PurposeFileURL, key)
}

// WithBucket returns a signer whose file URLs come from b when b makes
// its own (implements URLer); otherwise s itself.
func (s *Signer) WithBucket(b Bucket) *Signer {
	u, ok := b.(URLer)
	if !ok {
		return s
	}
	c := *s
	c.urler = u
	return &c
}

// FileURL returns the URL a client fetches the file stored under key
// from: the bucket's own (presigned or public) when it makes them, else
// renderhook's signed /files/ URL. A page's own text (html, mhtml, md;
// Untrusted) is always renderhook's, served sandboxed.
func (s *Signer) FileURL(ctx context.Context, key string) (string, error) {
	if s.urler != nil && !Untrusted(key) {
		return s.urler.URL(ctx, key)
	}
	return s.SignedURL(key), nil
}

// URL is FileURL without a context and an error: should the bucket fail
// to make a URL, it answers the signed /files/ URL, which serves the same
// file from the bucket. Prefer FileURL where a context is at hand.
func (s *Signer) URL(key string) string {
	// A page's own text (html, mhtml, md) is always served by renderhook,
	// sandboxed (api fileHeaders): a bucket's presigned URL would serve it
	// without those headers.
	if s.urler != nil && !Untrusted(key) {
		if u, err := s.urler.URL(context.Background(), key); err == nil {
			return u
		}
	}
	return s.SignedURL(key)
}

// SignedURL returns renderhook's own URL of the file stored under key,
// /files/<key>?sig=…, served by the API from the bucket.
func (s *Signer) SignedURL(key string) string {
	return s.baseURL + "/files/" + (&url.URL{Path: key}).EscapedPath() + "?sig=" + s.sig(key)
}

// BaseURL is the server's public URL, without a trailing slash.
func (s *Signer) BaseURL() string { return s.baseURL }

// Verify reports whether sig is the signature of key, in constant time.
func (s *Signer) Verify(key, sig string) bool {
	return capability.Equal(s.sig(key), sig)
}

// contentTypes are the types of the endings of stored files that the
// mime package's own table may lack (or, read from /etc/mime.types, give
// otherwise).
var contentTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp", ".avif": "image/avif", ".pdf": "application/pdf",
	".html": "text/html; charset=utf-8", ".mhtml": "multipart/related", ".md": "text/markdown; charset=utf-8",
	".json": "application/json", ".mp4": "video/mp4", ".webm": "video/webm",
}

// ContentType is the type a stored file is served with, by its key's
// ending; application/octet-stream for an ending it does not know.
func ContentType(key string) string {
	if ct, ok := contentTypes[path.Ext(key)]; ok {
		return ct
	}
	return "application/octet-stream"
}

// Untrusted reports whether a file of this key is a page's own text (HTML,
// MHTML, Markdown), which is served so that it cannot run as renderhook's
// origin.
func Untrusted(key string) bool {
	switch path.Ext(key) {
	case ".html", ".mhtml", ".md":
		return true
	}
	return false
}

// The endings of a v1 render's artifacts: each is stored under the
// render's file key with its ending in place of the file's extension, so
// it belongs to the space the file does.
const (
	ArtifactHTML     = ".html"
	ArtifactMHTML    = ".mhtml"
	ArtifactMarkdown = ".md"
	ArtifactMetadata = ".metadata.json"
	// ArtifactCustomData is the JSON of custom_data_variable's value.
	ArtifactCustomData = ".customdata.json"
)

// ArtifactKey is the key of the artifact with ending of the file stored
// under fileKey.
func ArtifactKey(fileKey, ending string) string {
	return strings.TrimSuffix(fileKey, path.Ext(fileKey)) + ending
}
