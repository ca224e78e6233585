package space

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite/sqlitetest"
)

func setup(t *testing.T) *Service {
	t.Helper()
	return New(sqlitetest.Migrated(t), 0)
}

func TestCreateAndRotate(t *testing.T) {
	ctx := context.Background()
	s := setup(t)
	if _, err := s.Create(ctx, "  ", 0); !errors.Is(err, ErrNameRequired) {
		t.Errorf("blank name: %v", err)
	}
	if _, err := s.Create(ctx, "a", -1); !errors.Is(err, ErrCreditLimit) {
		t.Errorf("negative limit: %v", err)
	}
	c, err := s.Create(ctx, " acme ", 10)
	if err != nil || c.Space.Name != "acme" || c.Token == "" || c.Space.RenderSecret == "" {
		t.Fatalf("Create = %+v, %v", c, err)
	}

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s = s.WithClock(func() time.Time { return now })
	rot, err := s.Rotate(ctx, RenderSecret, c.Space.ID, s.Overlap(false))
	if err != nil || !rot.PreviousValidUntil.Equal(now.Add(capability.DefaultOverlap)) || rot.Value == c.Space.RenderSecret {
		t.Fatalf("Rotate = %+v, %v", rot, err)
	}
	if rot, err = s.Rotate(ctx, GetRenderToken, c.Space.ID, s.Overlap(true)); err != nil || !rot.PreviousValidUntil.Equal(now) {
		t.Fatalf("Rotate revoking = %+v, %v", rot, err)
	}
	if _, err := s.Rotate(ctx, RenderSecret, c.Space.ID, 0); !errors.Is(err, ErrOverlap) {
		t.Errorf("zero overlap: %v", err)
	}
	if _, err := s.Rotate(ctx, RenderSecret, "spc_none", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown space: %v", err)
	}

	if _, _, err := s.CreateToken(ctx, "spc_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of unknown space: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, c.Space.ID); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Tokens(ctx, c.Space.ID)
	if err != nil || len(ts) != 2 || ts[0].ID == c.TokenID {
		t.Errorf("Tokens newest first: %v, %v", ts, err)
	}
	if err := s.SetRateLimit(ctx, c.Space.ID, MaxRatePerMinute+1); !errors.Is(err, ErrRateLimit) {
		t.Errorf("rate limit too high: %v", err)
	}
}
