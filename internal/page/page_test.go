package page

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite/sqlitetest"
)

func TestValidateTemplate(t *testing.T) {
	ok := func() *store.Template {
		return &store.Template{Name: "card", HTML: "<h1>{{.title}}</h1>", Width: 100, Height: 100,
			Variables: []store.Variable{{Name: "title"}}}
	}
	tests := []struct {
		name   string
		change func(*store.Template)
		msg    string
	}{
		{"no name", func(t *store.Template) { t.Name = "" }, "name is required"},
		{"no html", func(t *store.Template) { t.HTML = " " }, "html is required"},
		{"too wide", func(t *store.Template) { t.Width = MaxDimension + 1 }, "width and height"},
		{"bad variable", func(t *store.Template) { t.Variables[0].Name = "1x" }, "must be a letter"},
		{"twice", func(t *store.Template) { t.Variables = append(t.Variables, store.Variable{Name: "title"}) }, "declared twice"},
		{"bad type", func(t *store.Template) { t.Variables[0].Type = "blob" }, "is not one of"},
		{"bad html", func(t *store.Template) { t.HTML = "{{.title" }, "html:"},
		{"bad render type", func(t *store.Template) { t.RenderType = "chromium" }, "renderType must be one of html, takumi, auto"},
		{"render type case", func(t *store.Template) { t.RenderType = "Takumi" }, "renderType must be one of"},
	}
	for _, tt := range tests {
		tpl := ok()
		tt.change(tpl)
		if err := ValidateTemplate(tpl); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.msg)
		}
	}
	tpl := ok()
	if err := ValidateTemplate(tpl); err != nil || tpl.Variables[0].Type != "string" || tpl.RenderType != store.RenderTypeHTML {
		t.Errorf("valid template: %v, type %q, render type %q (want html by default)", err, tpl.Variables[0].Type, tpl.RenderType)
	}
	for _, rt := range []string{store.RenderTypeHTML, store.RenderTypeTakumi, store.RenderTypeAuto} {
		tpl := ok()
		tpl.RenderType = rt
		if err := ValidateTemplate(tpl); err != nil || tpl.RenderType != rt {
			t.Errorf("render type %q: %v, kept %q", rt, err, tpl.RenderType)
		}
	}
}

func TestPages(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Migrated(t)
	sp := &store.Space{ID: store.NewID("spc"), Name: "s", WebhookSecret: "whsec_x"}
	if err := st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	s := New(st)
	name, html := "card", "<p>{{.title}}</p>"
	vars := []store.Variable{{Name: "title", Default: "hi"}}
	tpl, err := s.CreateTemplate(ctx, sp.ID, TemplateInput{Name: &name, HTML: &html, Variables: &vars})
	if err != nil || tpl.Width != DefaultWidth || !tpl.RequireGetRenderToken || tpl.RenderType != store.RenderTypeHTML {
		t.Fatalf("CreateTemplate = %+v, %v", tpl, err)
	}
	auto, bad := store.RenderTypeAuto, "fast"
	if _, err := s.UpdateTemplate(ctx, sp.ID, tpl.ID, TemplateInput{RenderType: &bad}); !errors.Is(err, ErrInvalid) {
		t.Errorf("renderType fast: %v, want ErrInvalid", err)
	}
	if got, err := s.UpdateTemplate(ctx, sp.ID, tpl.ID, TemplateInput{RenderType: &auto}); err != nil || got.RenderType != auto {
		t.Fatalf("UpdateTemplate renderType auto = %+v, %v", got, err)
	}
	if got, err := st.GetTemplate(ctx, sp.ID, tpl.ID); err != nil || got.RenderType != auto || got.HTML != html {
		t.Fatalf("stored template after renderType auto: %+v, %v", got, err)
	}
	missing := "tpl_none"
	if _, err := s.CreatePage(ctx, sp.ID, Input{TemplateID: &missing}); !errors.Is(err, ErrTemplateNotFound) {
		t.Errorf("unknown template: %v", err)
	}
	p, err := s.CreatePage(ctx, sp.ID, Input{TemplateID: &tpl.ID, Publish: true})
	if err != nil || p.Draft.Name != "card" || p.Published == nil {
		t.Fatalf("CreatePage = %+v, %v", p, err)
	}
	if v, draft := RenderedVersion(p); draft || v != p.Published {
		t.Errorf("RenderedVersion of a published page: %v %v", v, draft)
	}
	if got := ByTemplate([]*store.Page{p}); len(got[tpl.ID]) != 1 {
		t.Errorf("ByTemplate = %v", got)
	}
}
