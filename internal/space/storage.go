package space

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/store"
)

// ErrStorage: storage settings that break a rule (422); the message says
// which field and why.
var ErrStorage = errors.New("invalid storage settings")

// maxCredential bounds an access key id and a secret key.
const maxCredential = 256

// StorageSettings are a space's own S3 bucket as its owner gives them:
// v1 renders with use_s3 use them for what the request leaves out.
type StorageSettings struct {
	Bucket         string `json:"bucket"`
	Endpoint       string `json:"endpoint,omitempty"`
	Region         string `json:"region,omitempty"`
	ForcePathStyle bool   `json:"forcePathStyle,omitempty"`
	AccessKey      string `json:"accessKey,omitempty"`
	SecretKey      string `json:"secretKey,omitempty"`
}

// StorageView is what reading a space's storage settings shows: never
// the secret key, and the access key id only by its last four characters.
type StorageView struct {
	Bucket         string    `json:"bucket"`
	Endpoint       string    `json:"endpoint"`
	Region         string    `json:"region"`
	ForcePathStyle bool      `json:"forcePathStyle"`
	AccessKeyHint  string    `json:"accessKeyHint"`
	HasSecret      bool      `json:"hasSecret"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// WithStorage gives the service the ring that seals the spaces' secret
// keys and the egress check their endpoints must pass.
func (s *Service) WithStorage(ring *sealed.Ring, checkURL func(string) error) *Service {
	c := *s
	c.ring, c.checkURL = ring, checkURL
	return &c
}

func storageErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrStorage, field, fmt.Sprintf(format, args...))
}

// check validates in and returns it normalised.
func (s *Service) checkStorage(in StorageSettings) (StorageSettings, error) {
	in.Bucket, in.Region = strings.TrimSpace(in.Bucket), strings.TrimSpace(in.Region)
	if err := blob.CheckBucket(in.Bucket); err != nil {
		return in, storageErr("bucket", "%v", err)
	}
	if in.Region != "" {
		if err := blob.CheckRegion(in.Region); err != nil {
			return in, storageErr("region", "%v", err)
		}
	}
	if e := strings.TrimSpace(in.Endpoint); e != "" {
		ep, err := blob.NormEndpoint(e)
		if err != nil {
			return in, storageErr("endpoint", "%v", err)
		}
		if s.checkURL != nil {
			if err := s.checkURL(ep); err != nil {
				return in, storageErr("endpoint", "is not allowed: %v", err)
			}
		}
		in.Endpoint = ep
	}
	for _, f := range []struct{ name, v string }{{"accessKey", in.AccessKey}, {"secretKey", in.SecretKey}} {
		if len(f.v) > maxCredential || strings.ContainsAny(f.v, "\r\n\x00") {
			return in, storageErr(f.name, "must be one line of at most %d bytes", maxCredential)
		}
	}
	if (in.AccessKey == "") != (in.SecretKey == "") {
		return in, storageErr("accessKey", "and secretKey go together")
	}
	return in, nil
}

// SetStorage replaces the space's storage settings, its secret key sealed
// (sealed.ErrNoKey when the server has no storage credentials key).
func (s *Service) SetStorage(ctx context.Context, spaceID string, in StorageSettings) (*StorageView, error) {
	in, err := s.checkStorage(in)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.GetSpace(ctx, spaceID); err != nil {
		return nil, err
	}
	row := &store.SpaceStorage{SpaceID: spaceID, Bucket: in.Bucket, Endpoint: in.Endpoint, Region: in.Region,
		ForcePathStyle: in.ForcePathStyle, AccessKey: in.AccessKey, UpdatedAt: s.now().UTC()}
	if in.SecretKey != "" {
		if row.SecretSealed, err = s.ring.Seal(in.SecretKey, spaceID); err != nil {
			return nil, fmt.Errorf("seal the secret key: %w", err)
		}
	}
	if err := s.st.PutSpaceStorage(ctx, row); err != nil {
		return nil, fmt.Errorf("save storage settings: %w", err)
	}
	return view(row), nil
}

// Storage returns the space's storage settings as reads show them
// (store.ErrNotFound for none).
func (s *Service) Storage(ctx context.Context, spaceID string) (*StorageView, error) {
	row, err := s.st.GetSpaceStorage(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	return view(row), nil
}

// DeleteStorage removes the space's storage settings.
func (s *Service) DeleteStorage(ctx context.Context, spaceID string) error {
	return s.st.DeleteSpaceStorage(ctx, spaceID)
}

// ResealStorage seals again, under the ring's primary key, every space's
// secret key sealed under an older one (after a key rotation), and
// returns how many it resealed.
func (s *Service) ResealStorage(ctx context.Context) (int, error) {
	rows, err := s.st.ListSpaceStorage(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, row := range rows {
		if row.SecretSealed == "" || s.ring.Primary(row.SecretSealed) {
			continue
		}
		plain, err := s.ring.Open(row.SecretSealed, row.SpaceID)
		if err != nil {
			return n, fmt.Errorf("space %s: %w", row.SpaceID, err)
		}
		if row.SecretSealed, err = s.ring.Seal(plain, row.SpaceID); err != nil {
			return n, fmt.Errorf("space %s: %w", row.SpaceID, err)
		}
		if err := s.st.PutSpaceStorage(ctx, row); err != nil {
			return n, fmt.Errorf("space %s: %w", row.SpaceID, err)
		}
		n++
	}
	return n, nil
}

func view(row *store.SpaceStorage) *StorageView {
	v := &StorageView{Bucket: row.Bucket, Endpoint: row.Endpoint, Region: row.Region, ForcePathStyle: row.ForcePathStyle,
		HasSecret: row.SecretSealed != "", UpdatedAt: row.UpdatedAt}
	if k := row.AccessKey; k != "" {
		v.AccessKeyHint = "…" + k[max(0, len(k)-4):]
	}
	return v
}
