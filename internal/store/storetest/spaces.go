package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseSpaces checks spaces: lookups, render keys, and the rotation of their render secret and GET-render token.
func exerciseSpaces(t *testing.T, s *suite) {
	s.group(t, "Spaces",
		storeCase{"spaces and tokens", func(t *testing.T, st store.Store, a, _ *store.Space) {
			got, err := st.GetSpace(s.ctx, a.ID)
			if err != nil || got.Name != "a" || got.CreditLimit != 10 || !got.CreatedAt.Equal(s.now) {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := st.GetSpace(s.ctx, "spc_nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err %v", err)
			}
			tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_x", Hash: []byte("h1"), CreatedAt: s.now}
			if err := st.CreateToken(s.ctx, tok); err != nil {
				t.Fatal(err)
			}
			dup := *tok
			dup.ID = store.NewID("tok")
			if err := st.CreateToken(s.ctx, &dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate hash: %v", err)
			}
			if got, err := st.GetTokenByHash(s.ctx, []byte("h1")); err != nil || got.SpaceID != a.ID {
				t.Fatalf("%+v %v", got, err)
			}
			if err := st.RevokeToken(s.ctx, "spc_other", tok.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoke across spaces: %v", err)
			}
			if err := st.RevokeToken(s.ctx, a.ID, tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetTokenByHash(s.ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoked token still resolves: %v", err)
			}
		}},
		storeCase{"render keys: generated, unique, found by key", func(t *testing.T, st store.Store, a, b *store.Space) {
			if a.RenderKey == "" || a.RenderSecret == "" || a.GetRenderToken == "" || a.RenderKey == b.RenderKey || a.RenderSecret == b.RenderSecret {
				t.Fatalf("keys not generated or shared: %+v %+v", a, b)
			}
			got, err := st.GetSpaceByRenderKey(s.ctx, a.RenderKey)
			if err != nil || got.ID != a.ID || got.RenderSecret != a.RenderSecret || got.GetRenderToken != a.GetRenderToken {
				t.Fatalf("%+v %v", got, err)
			}
			for _, k := range []string{"", "rk_nope"} {
				if _, err := st.GetSpaceByRenderKey(s.ctx, k); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("key %q: %v", k, err)
				}
			}
			dup := &store.Space{ID: store.NewID("spc"), Name: "dup", CreatedAt: s.now, RenderKey: a.RenderKey}
			if err := st.CreateSpace(s.ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate render key: %v", err)
			}
		}},
		storeCase{"render secret and GET-render token rotate, keeping the previous value", func(t *testing.T, st store.Store, a, b *store.Space) {
			until := s.now.Add(time.Hour)
			if err := st.RotateRenderSecret(s.ctx, a.ID, "secret2", until); err != nil {
				t.Fatal(err)
			}
			if err := st.RotateGetRenderToken(s.ctx, a.ID, "gt2", until.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, err := st.GetSpace(s.ctx, a.ID)
			if err != nil || got.RenderSecret != "secret2" || got.RenderSecretPrev != a.RenderSecret || got.RenderSecretPrevUntil == nil ||
				!got.RenderSecretPrevUntil.Equal(until) || got.GetRenderToken != "gt2" || got.GetRenderTokenPrev != a.GetRenderToken ||
				got.GetRenderTokenPrevUntil == nil || !got.GetRenderTokenPrevUntil.Equal(until.Add(time.Minute)) {
				t.Fatalf("after rotation: %+v %v", got, err)
			}
			// A second rotation moves the current value back, not the first previous one.
			if err := st.RotateRenderSecret(s.ctx, a.ID, "secret3", until); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetSpaceByRenderKey(s.ctx, a.RenderKey); got.RenderSecret != "secret3" || got.RenderSecretPrev != "secret2" {
				t.Fatalf("second rotation: %+v", got)
			}
			// The other space is untouched; an unknown space is not found.
			if got, _ := st.GetSpace(s.ctx, b.ID); got.RenderSecret != b.RenderSecret || got.RenderSecretPrev != "" || got.RenderSecretPrevUntil != nil ||
				got.GetRenderTokenPrev != "" || got.GetRenderTokenPrevUntil != nil {
				t.Fatalf("other space: %+v", got)
			}
			if err := st.RotateRenderSecret(s.ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown space: %v", err)
			}
			if err := st.RotateGetRenderToken(s.ctx, "spc_nope", "x", until); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown space: %v", err)
			}
		}},
	)
}

// exerciseTokens checks tokens: listing, last use and binary hash lookup.
func exerciseTokens(t *testing.T, s *suite) {
	s.group(t, "Tokens",
		storeCase{"tokens list and touch", func(t *testing.T, st store.Store, a, _ *store.Space) {
			tok := &store.Token{ID: store.NewID("tok"), SpaceID: a.ID, Prefix: "rh_y", Hash: []byte{0, 0xff, 1}, CreatedAt: s.now}
			if err := st.CreateToken(s.ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := touchToken(s.ctx, st, tok.ID, s.now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			list, err := st.ListTokens(s.ctx, a.ID)
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(s.now.Add(time.Minute)) {
				t.Fatalf("tokens %+v %v", list, err)
			}
			if got, err := st.GetTokenByHash(s.ctx, []byte{0, 0xff, 1}); err != nil || got.ID != tok.ID {
				t.Fatalf("binary hash lookup %+v %v", got, err)
			}
			if spaces, _ := st.ListSpaces(s.ctx); len(spaces) < 2 {
				t.Fatalf("%d spaces", len(spaces))
			}
			if err := st.CreateSpace(s.ctx, a); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate space: %v", err)
			}
		}},
	)
}

// exerciseTemplates checks templates: space scoping and deletion rules.
func exerciseTemplates(t *testing.T, s *suite) {
	s.group(t, "Templates",
		storeCase{"templates are space scoped", func(t *testing.T, st store.Store, a, b *store.Space) {
			tp := s.tmpl(t, st, a.ID)
			if _, err := st.GetTemplate(s.ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space read: %v", err)
			}
			other := *tp
			other.SpaceID, other.Name = b.ID, "stolen"
			if err := st.UpdateTemplate(s.ctx, &other); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space update: %v", err)
			}
			if err := st.DeleteTemplate(s.ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space delete: %v", err)
			}
			got, err := st.GetTemplate(s.ctx, a.ID, tp.ID)
			if err != nil || got.Name != "t" || len(got.Variables) != 1 || got.Variables[0].Default != "d" {
				t.Fatalf("%+v %v", got, err)
			}
			list, err := st.ListTemplates(s.ctx, b.ID)
			if err != nil || len(list) != 0 {
				t.Fatalf("b sees %d templates (%v)", len(list), err)
			}
		}},
		storeCase{"render type defaults to html and round-trips", func(t *testing.T, st store.Store, a, _ *store.Space) {
			tp := s.tmpl(t, st, a.ID)
			if got, err := st.GetTemplate(s.ctx, a.ID, tp.ID); err != nil || got.RenderType != store.RenderTypeHTML {
				t.Fatalf("render type of a template created without one = %q (%v), want html", got.RenderType, err)
			}
			for _, rt := range []string{store.RenderTypeAuto, store.RenderTypeTakumi} {
				tp.RenderType = rt
				if err := st.UpdateTemplate(s.ctx, tp); err != nil {
					t.Fatal(err)
				}
				if got, err := st.GetTemplate(s.ctx, a.ID, tp.ID); err != nil || got.RenderType != rt {
					t.Fatalf("render type = %q (%v), want %q", got.RenderType, err, rt)
				}
			}
		}},
	)
}

// exercisePages checks pages: drafts and publishing.
func exercisePages(t *testing.T, s *suite) {
	s.group(t, "Pages",
		storeCase{"pages draft and publish", func(t *testing.T, st store.Store, a, b *store.Space) {
			tp := s.tmpl(t, st, a.ID)
			foreign := s.tmpl(t, st, b.ID)
			p := &store.Page{ID: store.NewID("pg"), SpaceID: a.ID, CreatedAt: s.now, UpdatedAt: s.now,
				Draft: store.PageVersion{TemplateID: foreign.ID, Name: "p", Values: map[string]any{"x": "1"}}}
			if err := st.CreatePage(s.ctx, p); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("page on another space's template: %v", err)
			}
			p.Draft.TemplateID = tp.ID
			if err := st.CreatePage(s.ctx, p); err != nil {
				t.Fatal(err)
			}
			got, _ := st.GetPage(s.ctx, a.ID, p.ID)
			if got.Published != nil {
				t.Fatal("new page is published")
			}
			pub, err := st.PublishPage(s.ctx, a.ID, p.ID, s.now)
			if err != nil || pub.Published == nil || pub.Published.Values["x"] != "1" {
				t.Fatalf("%+v %v", pub, err)
			}
			p.Draft.Values = map[string]any{"x": "2"}
			if err := st.UpdatePageDraft(s.ctx, p); err != nil {
				t.Fatal(err)
			}
			got, _ = st.GetPage(s.ctx, a.ID, p.ID)
			if got.Draft.Values["x"] != "2" || got.Published.Values["x"] != "1" {
				t.Fatalf("draft %v published %v", got.Draft.Values, got.Published.Values)
			}
			if _, err := st.GetPage(s.ctx, b.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("cross-space page: %v", err)
			}
			if f, err := st.FindPage(s.ctx, p.ID); err != nil || f.SpaceID != a.ID {
				t.Fatalf("find: %+v %v", f, err)
			}
			if err := st.DeleteTemplate(s.ctx, a.ID, tp.ID); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("delete used template: %v", err)
			}
			if _, err := st.GetTemplate(s.ctx, a.ID, tp.ID); err != nil {
				t.Fatalf("refused delete removed the template: %v", err)
			}
			if err := st.DeletePage(s.ctx, a.ID, p.ID); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteTemplate(s.ctx, a.ID, tp.ID); err != nil {
				t.Fatal(err)
			}
		}},
	)
}

// exerciseSpaceStorage checks a space's own bucket settings: none is
// ErrNotFound, a put replaces, each space sees its own, delete forgets,
// and a render's file URL survives its row.
func exerciseSpaceStorage(t *testing.T, s *suite) {
	t.Run("space storage", func(t *testing.T) {
		st, a, b := s.setup(t)
		if _, err := st.GetSpaceStorage(s.ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("none yet: %v", err)
		}
		in := &store.SpaceStorage{SpaceID: a.ID, Bucket: "bkt", Endpoint: "https://s3.example.com", Region: "eu-west-2",
			ForcePathStyle: true, AccessKey: "AK", SecretSealed: "v1.x.y", UpdatedAt: s.now}
		if err := st.PutSpaceStorage(s.ctx, in); err != nil {
			t.Fatal(err)
		}
		again := *in
		again.Bucket, again.ForcePathStyle = "bkt2", false
		if err := st.PutSpaceStorage(s.ctx, &again); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetSpaceStorage(s.ctx, a.ID)
		if err != nil || *got != again {
			t.Fatalf("got %+v %v, want %+v", got, err, again)
		}
		if _, err := st.GetSpaceStorage(s.ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("b sees a's: %v", err)
		}
		if all, err := st.ListSpaceStorage(s.ctx); err != nil || len(all) != 1 || all[0].SpaceID != a.ID {
			t.Fatalf("list %v %v", all, err)
		}
		if err := st.DeleteSpaceStorage(s.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSpaceStorage(s.ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		r := &store.Render{ID: store.NewID("rnd"), SpaceID: a.ID, RequestID: "req_1", Format: "png", Status: store.RenderSucceeded,
			CreatedAt: s.now, FileURL: "https://bkt.s3.example.com/a.png"}
		if err := st.CreateRender(s.ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, err := st.FindRender(s.ctx, r.ID); err != nil || got.FileURL != r.FileURL {
			t.Fatalf("file URL %+v %v", got, err)
		}
	})
}
