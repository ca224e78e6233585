package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseSpaces checks spaces: lookups, render keys, and the rotation of their render secret and GET-render token.
func exerciseSpaces(t *testing.T, s *suite) {
	t.Run("Spaces", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		t.Run("spaces and tokens", func(t *testing.T) {
			st, a, _ := setup(t)
			got, err := st.GetSpace(ctx, a.ID)
			if err != nil || got.Name != "a" || got.CreditLimit != 10 || !got.CreatedAt.Equal(now) {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.GetSpace(ctx, "spc_nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err %v", err)
			}
			tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_x", Hash: []byte("h1"), CreatedAt: now}
			if err := st.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			dup := *tok
			dup.ID = store.NewID("tok")
			if err := st.CreateToken(ctx, &dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate hash: %v", err)
			}
			if got, err := st.GetTokenByHash(ctx, []byte("h1")); err != nil || got.SpaceID != a.ID {
				t.Fatalf("%+v %v", got, err)
			}
			if err := st.RevokeToken(ctx, "spc_other", tok.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoke across spaces: %v", err)
			}
			if err := st.RevokeToken(ctx, a.ID, tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetTokenByHash(ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoked token still resolves: %v", err)
			}
		})
		t.Run("render keys: generated, unique, found by key", func(t *testing.T) {
			st, a, b := setup(t)
			if a.RenderKey == "" || a.RenderSecret == "" || a.GetRenderToken == "" || a.RenderKey == b.RenderKey || a.RenderSecret == b.RenderSecret {
				t.Fatalf("keys not generated or shared: %+v %+v", a, b)
			}
			got, err := st.GetSpaceByRenderKey(ctx, a.RenderKey)
			if err != nil || got.ID != a.ID || got.RenderSecret != a.RenderSecret || got.GetRenderToken != a.GetRenderToken {
				t.Fatalf("%+v %v", got, err)
			}
			for _, k := range []string{"", "rk_nope"} {
				if _, err := st.GetSpaceByRenderKey(ctx, k); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("key %q: %v", k, err)
				}
			}
			dup := &store.Space{ID: store.NewID("spc"), Name: "dup", CreatedAt: now, RenderKey: a.RenderKey}
			if err := st.CreateSpace(ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate render key: %v", err)
			}
		})
		t.Run("render secret and GET-render token rotate, keeping the previous value", func(t *testing.T) {
			st, a, b := setup(t)
			until := now.Add(time.Hour)
			if err := st.RotateRenderSecret(ctx, a.ID, "secret2", until); err != nil {
				t.Fatal(err)
			}
			if err := st.RotateGetRenderToken(ctx, a.ID, "gt2", until.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, err := st.GetSpace(ctx, a.ID)
			if err != nil || got.RenderSecret != "secret2" || got.RenderSecretPrev != a.RenderSecret || got.RenderSecretPrevUntil == nil ||
				!got.RenderSecretPrevUntil.Equal(until) || got.GetRenderToken != "gt2" || got.GetRenderTokenPrev != a.GetRenderToken ||
				got.GetRenderTokenPrevUntil == nil || !got.GetRenderTokenPrevUntil.Equal(until.Add(time.Minute)) {
				t.Fatalf("after rotation: %+v %v", got, err)
			}
			// A second rotation moves the current value back, not the first previous one.
			if err := st.RotateRenderSecret(ctx, a.ID, "secret3", until); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetSpaceByRenderKey(ctx, a.RenderKey); got.RenderSecret != "secret3" || got.RenderSecretPrev != "secret2" {
				t.Fatalf("second rotation: %+v", got)
			}
			// The other space is untouched; an unknown space is not found.
			if got, _ := st.GetSpace(ctx, b.ID); got.RenderSecret != b.RenderSecret || got.RenderSecretPrev != "" || got.RenderSecretPrevUntil != nil ||
				got.GetRenderTokenPrev != "" || got.GetRenderTokenPrevUntil != nil {
				t.Fatalf("other space: %+v", got)
			}
			if err := st.RotateRenderSecret(ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown space: %v", err)
			}
			if err := st.RotateGetRenderToken(ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown space: %v", err)
			}
		})
	})
}

// exerciseTokens checks tokens: listing, last use and binary hash lookup.
func exerciseTokens(t *testing.T, s *suite) {
	t.Run("Tokens", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		t.Run("tokens list and touch", func(t *testing.T) {
			st, a, _ := setup(t)
			tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_y", Hash: []byte{0, 0xff, 1}, CreatedAt: now}
			if err := st.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := st.TouchToken(ctx, tok.ID, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			list, err := st.ListTokens(ctx, a.ID)
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("tokens %+v %v", list, err)
			}
			if got, err := st.GetTokenByHash(ctx, []byte{0, 0xff, 1}); err != nil || got.ID != tok.ID {
				t.Fatalf("binary hash lookup %+v %v", got, err)
			}
			if spaces, _ := st.ListSpaces(ctx); len(spaces) < 2 {
				t.Fatalf("%d spaces", len(spaces))
			}
			if err := st.CreateSpace(ctx, a); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate space: %v", err)
			}
		})
	})
}
