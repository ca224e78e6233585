package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
)

func withToken(ctx context.Context, tok *store.Token) context.Context {
	if h, ok := ctx.Value(keyLog).(*logHolder); ok {
		h.entry.SpaceID, h.entry.TokenPrefix = tok.SpaceID, tok.Prefix
	}
	ctx = context.WithValue(ctx, keyToken, tok)
	return context.WithValue(ctx, keySpaceID, tok.SpaceID)
}

// Template size bounds, in CSS pixels.
const (
	defaultWidth  = 1200
	defaultHeight = 630
	maxDimension  = 10000
)

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

type templateJSON struct {
	ID                    string           `json:"id"`
	Name                  string           `json:"name"`
	HTML                  string           `json:"html"`
	Width                 int              `json:"width"`
	Height                int              `json:"height"`
	Variables             []store.Variable `json:"variables"`
	RequireGetRenderToken bool             `json:"requireGetRenderToken"`
	CreatedAt             time.Time        `json:"createdAt"`
	UpdatedAt             time.Time        `json:"updatedAt"`
}

func toTemplateJSON(t *store.Template) templateJSON {
	vars := t.Variables
	if vars == nil {
		vars = []store.Variable{}
	}
	return templateJSON{t.ID, t.Name, t.HTML, t.Width, t.Height, vars, t.RequireGetRenderToken, t.CreatedAt, t.UpdatedAt}
}

// templateInput is the body of POST and PUT /api/templates. Absent fields
// keep their current value on PUT (and their default on POST).
type templateInput struct {
	Name                  *string           `json:"name"`
	HTML                  *string           `json:"html"`
	Width                 *int              `json:"width"`
	Height                *int              `json:"height"`
	Variables             *[]store.Variable `json:"variables"`
	RequireGetRenderToken *bool             `json:"requireGetRenderToken"`
}

func (in templateInput) apply(t *store.Template) error {
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.HTML != nil {
		t.HTML = *in.HTML
	}
	if in.Width != nil {
		t.Width = *in.Width
	}
	if in.Height != nil {
		t.Height = *in.Height
	}
	if in.Variables != nil {
		t.Variables = *in.Variables
	}
	if in.RequireGetRenderToken != nil {
		t.RequireGetRenderToken = *in.RequireGetRenderToken
	}
	return validateTemplate(t)
}

func validateTemplate(t *store.Template) error {
	switch {
	case t.Name == "" || len(t.Name) > 200:
		return fmt.Errorf("%w: name is required (at most 200 characters)", errValidation)
	case strings.TrimSpace(t.HTML) == "":
		return fmt.Errorf("%w: html is required", errValidation)
	case t.Width < 1 || t.Width > maxDimension || t.Height < 1 || t.Height > maxDimension:
		return fmt.Errorf("%w: width and height must be from 1 to %d pixels", errValidation, maxDimension)
	case len(t.Variables) > 200:
		return fmt.Errorf("%w: at most 200 variables", errValidation)
	}
	seen := map[string]bool{}
	for i, v := range t.Variables {
		if !variableName.MatchString(v.Name) {
			return fmt.Errorf("%w: variables[%d].name %q must be a letter or _ followed by letters, digits or _", errValidation, i, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("%w: variable %q is declared twice", errValidation, v.Name)
		}
		seen[v.Name] = true
		if v.Type == "" {
			t.Variables[i].Type = "string"
		} else if !render.VariableTypes[v.Type] {
			return fmt.Errorf("%w: variables[%d].type %q is not one of string, number, boolean, color, image", errValidation, i, v.Type)
		}
		if err := render.CheckVariable(t.Variables[i]); err != nil {
			return fmt.Errorf("%w: variables[%d]: %s", errValidation, i, clean(err, render.ErrInvalidInput))
		}
	}
	if _, err := render.ParseTemplate(t.HTML); err != nil {
		return fmt.Errorf("%w: html: %v", errValidation, err)
	}
	// Defaults must satisfy their own types.
	if err := render.ValidateValues(t, nil); err != nil {
		return fmt.Errorf("%w: %s", errValidation, clean(err, render.ErrInvalidInput))
	}
	return nil
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) {
	var in templateInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	t := &store.Template{
		ID: store.NewID("tpl"), SpaceID: spaceID(r), Width: defaultWidth, Height: defaultHeight,
		RequireGetRenderToken: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := in.apply(t); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateTemplate(r.Context(), t); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTemplateJSON(t))
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	ts, err := s.cfg.Store.ListTemplates(r.Context(), spaceID(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]templateJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, toTemplateJSON(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := s.cfg.Store.GetTemplate(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTemplateJSON(t))
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) {
	var in templateInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.cfg.Store.GetTemplate(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := in.apply(t); err != nil {
		s.fail(w, r, err)
		return
	}
	t.UpdatedAt = time.Now().UTC()
	if err := s.cfg.Store.UpdateTemplate(r.Context(), t); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTemplateJSON(t))
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeleteTemplate(r.Context(), spaceID(r), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- pages ---

type pageVersionJSON struct {
	TemplateID  string         `json:"templateId"`
	Name        string         `json:"name"`
	Values      map[string]any `json:"values"`
	PublishedAt *time.Time     `json:"publishedAt,omitempty"`
}

type pageJSON struct {
	ID         string           `json:"id"`
	TemplateID string           `json:"templateId"`
	Name       string           `json:"name"`
	Values     map[string]any   `json:"values"`
	Published  *pageVersionJSON `json:"published"`
	CreatedAt  time.Time        `json:"createdAt"`
	UpdatedAt  time.Time        `json:"updatedAt"`
}

func toPageJSON(p *store.Page) pageJSON {
	out := pageJSON{ID: p.ID, TemplateID: p.Draft.TemplateID, Name: p.Draft.Name, Values: nonNil(p.Draft.Values),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.Published != nil {
		out.Published = &pageVersionJSON{p.Published.TemplateID, p.Published.Name, nonNil(p.Published.Values), p.PublishedAt}
	}
	return out
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

type pageInput struct {
	TemplateID *string         `json:"templateId"`
	Name       *string         `json:"name"`
	Values     *map[string]any `json:"values"`
	// Publish publishes the draft in the same call.
	Publish bool `json:"publish"`
}

// applyPage validates the input against the page's template and applies
// it to the draft.
func (s *Server) applyPage(r *http.Request, in pageInput, p *store.Page) error {
	if in.TemplateID != nil {
		p.Draft.TemplateID = *in.TemplateID
	}
	if in.Name != nil {
		p.Draft.Name = strings.TrimSpace(*in.Name)
	}
	if in.Values != nil {
		p.Draft.Values = *in.Values
	}
	if p.Draft.TemplateID == "" {
		return fmt.Errorf("%w: templateId is required", errValidation)
	}
	if len(p.Draft.Name) > 200 {
		return fmt.Errorf("%w: name is at most 200 characters", errValidation)
	}
	tpl, err := s.cfg.Store.GetTemplate(r.Context(), p.SpaceID, p.Draft.TemplateID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", errTemplateNotFound, p.Draft.TemplateID)
	}
	if err != nil {
		return err
	}
	if p.Draft.Name == "" {
		p.Draft.Name = tpl.Name
	}
	if err := render.ValidateValues(tpl, p.Draft.Values); err != nil {
		return fmt.Errorf("%w: values: %s", errValidation, clean(err, render.ErrInvalidInput))
	}
	return nil
}

func (s *Server) createPage(w http.ResponseWriter, r *http.Request) {
	var in pageInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	p := &store.Page{ID: store.NewID("pg"), SpaceID: spaceID(r), CreatedAt: now, UpdatedAt: now}
	if err := s.applyPage(r, in, p); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Store.CreatePage(r.Context(), p); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Publish {
		var err error
		if p, err = s.cfg.Store.PublishPage(r.Context(), p.SpaceID, p.ID, now); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, toPageJSON(p))
}

func (s *Server) listPages(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Store.ListPages(r.Context(), spaceID(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]pageJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, toPageJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) getPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Store.GetPage(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageJSON(p))
}

func (s *Server) updatePage(w http.ResponseWriter, r *http.Request) {
	var in pageInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.cfg.Store.GetPage(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.applyPage(r, in, p); err != nil {
		s.fail(w, r, err)
		return
	}
	p.UpdatedAt = time.Now().UTC()
	if err := s.cfg.Store.UpdatePageDraft(r.Context(), p); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Publish {
		if p, err = s.cfg.Store.PublishPage(r.Context(), p.SpaceID, p.ID, p.UpdatedAt); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, toPageJSON(p))
}

func (s *Server) deletePage(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeletePage(r.Context(), spaceID(r), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) publishPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Store.PublishPage(r.Context(), spaceID(r), r.PathValue("id"), time.Now().UTC())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageJSON(p))
}
