package storetest

import (
	"errors"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
)

// exerciseTemplates checks templates: space scoping and deletion rules.
func exerciseTemplates(t *testing.T, s *suite) {
	t.Run("Templates", func(t *testing.T) {
		ctx := s.ctx
		setup := s.setup
		tmpl := s.tmpl
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
	})
}

// exercisePages checks pages: drafts and publishing.
func exercisePages(t *testing.T, s *suite) {
	t.Run("Pages", func(t *testing.T) {
		ctx := s.ctx
		now := s.now
		setup := s.setup
		tmpl := s.tmpl
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
	})
}
