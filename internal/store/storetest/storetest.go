// Package storetest is the conformance suite every store.Store driver runs,
// so SQLite and later dialects behave the same.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Run runs the suite against stores made by open, each fresh and migrated.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	setup := func(t *testing.T) (store.Store, *store.Space, *store.Space) {
		st := open(t)
		a := &store.Space{ID: store.NewID("spc"), Name: "a", CreditLimit: 10, CreatedAt: now}
		b := &store.Space{ID: store.NewID("spc"), Name: "b", CreatedAt: now}
		for _, s := range []*store.Space{a, b} {
			if err := st.CreateSpace(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		return st, a, b
	}
	tmpl := func(t *testing.T, st store.Store, space string) *store.Template {
		tp := &store.Template{ID: store.NewID("tpl"), SpaceID: space, Name: "t", HTML: "<b>{{.x}}</b>", Width: 10, Height: 20,
			Variables: []store.Variable{{Name: "x", Type: "string", Default: "d"}}, RequireGetRenderToken: true, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		return tp
	}

	t.Run("migrate twice", func(t *testing.T) {
		st := open(t)
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})

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

	t.Run("templates are space scoped", func(t *testing.T) {
		st, a, b := setup(t)
		tp := tmpl(t, st, a.ID)
		if _, err := st.GetTemplate(ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space read: %v", err)
		}
		other := *tp
		other.SpaceID, other.Name = b.ID, "stolen"
		if err := st.UpdateTemplate(ctx, &other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space update: %v", err)
		}
		if err := st.DeleteTemplate(ctx, b.ID, tp.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space delete: %v", err)
		}
		got, err := st.GetTemplate(ctx, a.ID, tp.ID)
		if err != nil || got.Name != "t" || len(got.Variables) != 1 || got.Variables[0].Default != "d" {
			t.Fatalf("%+v %v", got, err)
		}
		list, err := st.ListTemplates(ctx, b.ID)
		if err != nil || len(list) != 0 {
			t.Fatalf("b sees %d templates (%v)", len(list), err)
		}
	})

	t.Run("pages draft and publish", func(t *testing.T) {
		st, a, b := setup(t)
		tp := tmpl(t, st, a.ID)
		foreign := tmpl(t, st, b.ID)
		p := &store.Page{ID: store.NewID("pg"), SpaceID: a.ID, CreatedAt: now, UpdatedAt: now,
			Draft: store.PageVersion{TemplateID: foreign.ID, Name: "p", Values: map[string]any{"x": "1"}}}
		if err := st.CreatePage(ctx, p); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("page on another space's template: %v", err)
		}
		p.Draft.TemplateID = tp.ID
		if err := st.CreatePage(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetPage(ctx, a.ID, p.ID)
		if got.Published != nil {
			t.Fatal("new page is published")
		}
		pub, err := st.PublishPage(ctx, a.ID, p.ID, now)
		if err != nil || pub.Published == nil || pub.Published.Values["x"] != "1" {
			t.Fatalf("%+v %v", pub, err)
		}
		p.Draft.Values = map[string]any{"x": "2"}
		if err := st.UpdatePageDraft(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ = st.GetPage(ctx, a.ID, p.ID)
		if got.Draft.Values["x"] != "2" || got.Published.Values["x"] != "1" {
			t.Fatalf("draft %v published %v", got.Draft.Values, got.Published.Values)
		}
		if _, err := st.GetPage(ctx, b.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space page: %v", err)
		}
		if f, err := st.FindPage(ctx, p.ID); err != nil || f.SpaceID != a.ID {
			t.Fatalf("find: %+v %v", f, err)
		}
		if err := st.DeleteTemplate(ctx, a.ID, tp.ID); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("delete used template: %v", err)
		}
		if _, err := st.GetTemplate(ctx, a.ID, tp.ID); err != nil {
			t.Fatalf("refused delete removed the template: %v", err)
		}
		if err := st.DeletePage(ctx, a.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteTemplate(ctx, a.ID, tp.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("renders and settings", func(t *testing.T) {
		st, a, b := setup(t)
		r := &store.Render{ID: store.NewRenderID(), SpaceID: a.ID, RequestID: "req_1", Format: "png", Status: store.RenderSucceeded,
			Size: 42, BlobKey: a.ID + "/x.png", CreatedAt: now}
		if err := st.CreateRender(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetRender(ctx, a.ID, r.ID); err != nil || got.Size != 42 {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := st.GetRender(ctx, b.ID, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-space render: %v", err)
		}
		if got, err := st.GetRenderByBlobKey(ctx, r.BlobKey); err != nil || got.ID != r.ID {
			t.Fatalf("%+v %v", got, err)
		}
		v1, err := st.Setting(ctx, "k", "first")
		if err != nil || v1 != "first" {
			t.Fatal(v1, err)
		}
		if v2, _ := st.Setting(ctx, "k", "second"); v2 != "first" {
			t.Fatalf("setting overwritten: %s", v2)
		}
	})
}
