// Package space owns the rules of spaces and their credentials: creating
// a space with its first API token, issuing and revoking tokens, rotating
// the render secret, the GET-render token and the webhook secret (each
// with its overlap), and setting the render rate limit. The JSON API, the
// console and the CLI call it.
package space

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// The rules a request can break.
var (
	// ErrNameRequired: a space needs a (non-blank) name.
	ErrNameRequired = errors.New("a space name is required")
	// ErrCreditLimit: a credit limit is 0 (unlimited) or more.
	ErrCreditLimit = errors.New("the credit limit must be 0 (unlimited) or more")
	// ErrOverlap: a rotation's overlap is positive, or NoOverlap.
	ErrOverlap = errors.New("the overlap must be positive")
	// ErrRateLimit: a rate limit is from 0 (none) to MaxRatePerMinute.
	ErrRateLimit = fmt.Errorf("the rate limit must be from 0 to %d a minute", MaxRatePerMinute)
)

// MaxRatePerMinute bounds a limit to what a bucket can meaningfully hold.
const MaxRatePerMinute = 1_000_000

// Service manages spaces and their credentials.
type Service struct {
	st store.Store
	// overlap is how long a rotated-out render secret or GET-render token
	// keeps working unless a rotation says otherwise.
	overlap time.Duration
	now     func() time.Time
	// ring seals the spaces' storage secret keys; checkURL is the egress
	// check of their endpoints (WithStorage).
	ring     *sealed.Ring
	checkURL func(string) error
}

// New returns the service over st; overlap is the rotation overlap of
// render secrets and GET-render tokens (capability.DefaultOverlap when 0,
// none when negative).
func New(st store.Store, overlap time.Duration) *Service {
	switch {
	case overlap == 0:
		overlap = capability.DefaultOverlap
	case overlap < 0:
		overlap = capability.NoOverlap
	}
	return &Service{st: st, overlap: overlap, now: time.Now}
}

// WithClock makes rotations of render secrets and GET-render tokens count
// their overlap from now() (tests move this clock).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// Created is a new space with the credentials shown only now.
type Created struct {
	Space *store.Space
	// Token is the first API token, in the clear, and TokenID its id.
	Token, TokenID string
}

// Create makes a space named name (trimmed) with a webhook secret, render
// key and secret, GET-render token and a first API token.
func (s *Service) Create(ctx context.Context, name string, creditLimit int64) (*Created, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, ErrNameRequired
	case creditLimit < 0:
		return nil, ErrCreditLimit
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("make webhook secret: %w", err)
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: name, CreditLimit: creditLimit, CreatedAt: time.Now().UTC(), WebhookSecret: secret}
	if err := s.st.CreateSpace(ctx, sp); err != nil {
		return nil, fmt.Errorf("create space: %w", err)
	}
	token, tok, err := auth.CreateToken(ctx, s.st, sp.ID)
	if err != nil {
		return nil, err
	}
	return &Created{Space: sp, Token: token, TokenID: tok.ID}, nil
}

// CreateToken issues an API token of the space (store.ErrNotFound when
// there is no such space), returned in the clear this once.
func (s *Service) CreateToken(ctx context.Context, spaceID string) (string, *store.Token, error) {
	if _, err := s.st.GetSpace(ctx, spaceID); err != nil {
		return "", nil, err
	}
	return auth.CreateToken(ctx, s.st, spaceID)
}

// Tokens lists the space's tokens, newest first.
func (s *Service) Tokens(ctx context.Context, spaceID string) ([]*store.Token, error) {
	ts, err := s.st.ListTokens(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	slices.Reverse(ts)
	return ts, nil
}

// RevokeToken revokes the space's token id.
func (s *Service) RevokeToken(ctx context.Context, spaceID, id string) error {
	return s.st.RevokeToken(ctx, spaceID, id)
}

// Credential is a rotatable capability of a space.
type Credential int

// The rotatable capabilities.
const (
	// RenderSecret signs page links and v1 links.
	RenderSecret Credential = iota
	// GetRenderToken is ?gt= on token-only page renders by GET.
	GetRenderToken
)

// Field is the credential's name in JSON answers.
func (c Credential) Field() string {
	if c == GetRenderToken {
		return "getRenderToken"
	}
	return "renderSecret"
}

// Label is the credential's name in prose.
func (c Credential) Label() string {
	if c == GetRenderToken {
		return "GET-render token"
	}
	return "render secret"
}

// Overlap is how long the value a rotation replaces keeps working: the
// service's overlap, or none when revoke (after a leak).
func (s *Service) Overlap(revoke bool) time.Duration {
	if revoke {
		return capability.NoOverlap
	}
	return s.overlap
}

// Rotate gives the space a new value of c, shown this once; the previous
// one keeps working for overlap (positive, or capability.NoOverlap).
func (s *Service) Rotate(ctx context.Context, c Credential, spaceID string, overlap time.Duration) (*capability.Rotation, error) {
	if overlap <= 0 && overlap != capability.NoOverlap {
		return nil, ErrOverlap
	}
	rotate := capability.RotateRenderSecret
	if c == GetRenderToken {
		rotate = capability.RotateGetRenderToken
	}
	return rotate(ctx, s.st, spaceID, overlap, s.now())
}

// RotateWebhookSecret gives the space a new secret for per-request
// webhook_url deliveries; the previous one keeps signing for window.
func (s *Service) RotateWebhookSecret(ctx context.Context, spaceID string, window time.Duration) (*capability.Rotation, error) {
	sp, err := s.st.GetSpace(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("make webhook secret: %w", err)
	}
	now := time.Now().UTC()
	if err := s.st.SetWebhookSecret(ctx, sp.ID, secret, sp.WebhookSecret, &now); err != nil {
		return nil, err
	}
	return &capability.Rotation{Value: secret, PreviousValidUntil: now.Add(window)}, nil
}

// CheckRateLimit says whether perMinute is a rate limit a space may have
// (ErrRateLimit if not).
func CheckRateLimit(perMinute int) error {
	if perMinute < 0 || perMinute > MaxRatePerMinute {
		return ErrRateLimit
	}
	return nil
}

// SetRateLimit sets the space's render requests a minute (0: none).
func (s *Service) SetRateLimit(ctx context.Context, spaceID string, perMinute int) error {
	if err := CheckRateLimit(perMinute); err != nil {
		return err
	}
	if _, err := s.st.GetSpace(ctx, spaceID); err != nil {
		return fmt.Errorf("space %s: %w", spaceID, err)
	}
	return s.st.SetRateLimit(ctx, spaceID, perMinute)
}
