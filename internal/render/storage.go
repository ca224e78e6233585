package render

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/store"
)

// The store step of renders that go to the client's own bucket (v1
// use_s3, s3_presigned_url): which bucket, with which credentials (the
// request's, else the space's, sealed in the store), and the upload,
// whose refusal fails the render (no credit) rather than retrying it.

// ErrStorage: the client's bucket refused the file, or could not be
// reached; the render is recorded as failed with this reason and costs
// no credit (422).
var ErrStorage = blob.ErrTarget

// storageTimeout bounds one upload to a client's bucket.
const storageTimeout = 60 * time.Second

// FileURL is where a succeeded render's file is fetched: in the client's
// bucket (renders with use_s3), or renderhook's; "" for a render stored
// nowhere (no_upload).
func (s *Service) FileURL(rec *store.Render) string {
	if rec.FileURL != "" {
		return rec.FileURL
	}
	if rec.BlobKey == "" {
		return ""
	}
	return s.cfg.Signer.URL(rec.BlobKey)
}

// target resolves where a v1 render's file goes: nil for renderhook's
// bucket. What the request leaves out comes from the space's storage
// settings; a request without a bucket or credentials either way is
// refused (400), before anything is rendered or billed. The space's
// credentials sign only for the space's own endpoint: a request naming
// another endpoint brings its own.
func (s *Service) target(ctx context.Context, spaceID, renderID string, f browser.Format, o StorageOptions) (*blob.Target, error) {
	if !o.On() {
		return nil, nil
	}
	if s.storageRT == nil {
		return nil, errorf("option \"use_s3\" is not available: this server has no egress guard for uploads")
	}
	key := cmp.Or(o.Path, renderID)
	if !o.NoSuffix {
		key += "." + extension(f)
	}
	if o.PresignedURL != "" {
		return &blob.Target{PresignedURL: o.PresignedURL, Key: key, CDNHost: o.CDNHost}, nil
	}
	sp, err := s.cfg.Store.GetSpaceStorage(ctx, spaceID)
	if errors.Is(err, store.ErrNotFound) {
		sp, err = &store.SpaceStorage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load space storage: %w", err)
	}
	t := &blob.Target{
		Endpoint: cmp.Or(o.Endpoint, sp.Endpoint), Bucket: cmp.Or(o.Bucket, sp.Bucket), Region: cmp.Or(o.Region, sp.Region),
		PathStyle: o.ForcePathStyle || sp.ForcePathStyle, Key: key, StorageClass: o.StorageClass,
		Private: o.PrivateBucket, CDNHost: o.CDNHost, AccessKey: o.Key, SecretKey: o.Secret,
	}
	switch {
	case t.Bucket == "":
		return nil, errorf("option \"use_s3\" needs a bucket: give option \"s3_bucket\", or set the space's storage (PUT /api/storage)")
	case (o.Key == "") != (o.Secret == ""):
		return nil, errorf("option \"s3_key\" and option \"s3_secret\" go together")
	case o.Key != "":
		return t, nil
	case sp.AccessKey == "":
		return nil, errorf("option \"use_s3\" needs credentials: give options \"s3_key\" and \"s3_secret\", or set the space's storage (PUT /api/storage)")
	case o.Endpoint != "" && o.Endpoint != sp.Endpoint:
		return nil, errorf("option \"s3_endpoint\" differs from the space's storage endpoint: the space's credentials sign only for its own; give options \"s3_key\" and \"s3_secret\" too")
	}
	secret, err := s.cfg.Sealer.Open(sp.SecretSealed, spaceID)
	if err != nil {
		return nil, fmt.Errorf("open the space's storage secret: %w", err)
	}
	t.AccessKey, t.SecretKey = sp.AccessKey, secret
	return t, nil
}

// storeInTarget uploads a render's file to the client's bucket and points
// the render at it: no blob key of renderhook's, the bucket's file URL.
func (s *Service) storeInTarget(ctx context.Context, t *blob.Target, rec *store.Render, res *browser.Result) error {
	cctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	u, err := t.Put(cctx, s.storageRT, res.Data, res.ContentType)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	rec.BlobKey, rec.FileURL, rec.StoredAt = "", u, &now
	return nil
}

// sealedCreds are a queued render's own credentials, sealed in its
// options (StorageOptions.Sealed) for its job: its storage credentials,
// its presigned URL, and its proxy when that carries a user and password.
type sealedCreds struct {
	Key          string `json:"k,omitempty"`
	Secret       string `json:"s,omitempty"`
	PresignedURL string `json:"p,omitempty"`
	Proxy        string `json:"x,omitempty"`
}

// proxyHasCredentials reports whether a proxy option carries a user (and
// password).
func proxyHasCredentials(raw string) bool {
	u, err := url.Parse(raw)
	return raw != "" && (err != nil || u.User != nil)
}

// withoutSecrets is a copy of o for a render's row when nothing will read
// its credentials back (a sync render's): the proxy without its user and
// password (the storage credentials are never in its JSON).
func withoutSecrets(o *URLOptions) *URLOptions {
	c := *o
	if proxyHasCredentials(c.Request.Proxy) {
		c.Request.Proxy = browser.ProxyAddress(c.Request.Proxy)
	}
	return &c
}

// sealSecrets returns a copy of o for a queued render's row: its own
// credentials (storage, presigned URL, the proxy's user and password)
// sealed for its render id, so the row holds none in the clear. A server
// without a storage credentials key refuses such a render (a sync one
// keeps them in memory only).
func (s *Service) sealSecrets(o *URLOptions, renderID string) (*URLOptions, error) {
	c := sealedCreds{Key: o.Storage.Key, Secret: o.Storage.Secret, PresignedURL: o.Storage.PresignedURL}
	if proxyHasCredentials(o.Request.Proxy) {
		c.Proxy = o.Request.Proxy
	}
	out := withoutSecrets(o)
	if c == (sealedCreds{}) {
		return out, nil
	}
	if !s.cfg.Sealer.Enabled() {
		what := `option "s3_secret" (or "s3_presigned_url")`
		if c.Proxy != "" {
			what = `option "proxy" with a user and password`
		}
		return nil, errorf("%s on an async render needs the server's storage credentials key (--storage-credentials-key); render synchronously, or set the space's storage (PUT /api/storage)", what)
	}
	b, _ := json.Marshal(c) //nolint:gosec // G117: marshalled only to be sealed on the next line, never stored or sent as is
	v, err := s.cfg.Sealer.Seal(string(b), renderID)
	if err != nil {
		return nil, fmt.Errorf("seal credentials: %w", err)
	}
	out.Storage.Sealed = v
	return out, nil
}

// openSecrets reads back what sealSecrets sealed.
func (s *Service) openSecrets(o *URLOptions, renderID string) error {
	if o.Storage.Sealed == "" {
		return nil
	}
	plain, err := s.cfg.Sealer.Open(o.Storage.Sealed, renderID)
	if err != nil {
		return fmt.Errorf("open the render's credentials: %w", err)
	}
	var c sealedCreds
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return fmt.Errorf("decode the render's credentials: %w", err)
	}
	o.Storage.Key, o.Storage.Secret, o.Storage.PresignedURL = c.Key, c.Secret, c.PresignedURL
	if c.Proxy != "" {
		o.Request.Proxy = c.Proxy
	}
	return nil
}

// sealer is the ring of Config.Sealer, never nil.
func sealer(r *sealed.Ring) *sealed.Ring {
	if r == nil {
		return &sealed.Ring{}
	}
	return r
}
