package api

import (
	"context"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/page"
	"github.com/renderhook/renderhook/internal/store"
)

func withToken(ctx context.Context, tok *store.Token) context.Context {
	if h, ok := ctx.Value(keyLog).(*logHolder); ok {
		h.entry.SpaceID, h.entry.TokenPrefix = tok.SpaceID, tok.Prefix
	}
	ctx = context.WithValue(ctx, keyToken, tok)
	return context.WithValue(ctx, keySpaceID, tok.SpaceID)
}

type templateJSON struct {
	ID                    string           `json:"id"`
	Name                  string           `json:"name"`
	HTML                  string           `json:"html"`
	Width                 int              `json:"width"`
	Height                int              `json:"height"`
	Variables             []store.Variable `json:"variables"`
	RequireGetRenderToken bool             `json:"requireGetRenderToken"`
	RenderType            string           `json:"renderType" enum:"html,takumi,auto" doc:"Which renderer the template's renders use: html (Chromium), takumi (no browser; PDF stays on Chromium), auto (takumi when the template is within what it draws correctly)."`
	CreatedAt             time.Time        `json:"createdAt"`
	UpdatedAt             time.Time        `json:"updatedAt"`
}

func toTemplateJSON(t *store.Template) templateJSON {
	vars := t.Variables
	if vars == nil {
		vars = []store.Variable{}
	}
	return templateJSON{t.ID, t.Name, t.HTML, t.Width, t.Height, vars, t.RequireGetRenderToken, t.RenderType, t.CreatedAt, t.UpdatedAt}
}

// templateInput is the body of POST and PUT /api/templates
// (page.TemplateInput).
type templateInput struct {
	Name                  *string           `json:"name"`
	HTML                  *string           `json:"html"`
	Width                 *int              `json:"width"`
	Height                *int              `json:"height"`
	Variables             *[]store.Variable `json:"variables"`
	RequireGetRenderToken *bool             `json:"requireGetRenderToken"`
	RenderType            *string           `json:"renderType" enum:"html,takumi,auto" doc:"html (default), takumi or auto."`
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusCreated, func(in templateInput) (*store.Template, error) {
		return s.pages.CreateTemplate(r.Context(), spaceID(r), page.TemplateInput(in))
	}, toTemplateJSON)
}

// decoded reads a JSON body of In, calls call with it and answers status
// with what show makes of the result.
func decoded[In, Out, JSON any](w http.ResponseWriter, r *http.Request, status int, call func(In) (Out, error), show func(Out) JSON) error {
	var in In
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	return answered(w, status, show)(call(in))
}

// answered is what answers a call's result: status with what show makes
// of it, unless the call failed.
func answered[Out, JSON any](w http.ResponseWriter, status int, show func(Out) JSON) func(Out, error) error {
	return func(out Out, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, status, show(out))
		return nil
	}
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	return listed(w, toTemplateJSON)(s.cfg.Store.ListTemplates(r.Context(), spaceID(r)))
}

// listed is answered for a list: 200 with {"data": [show of each]}.
func listed[T, JSON any](w http.ResponseWriter, show func(T) JSON) func([]T, error) error {
	return answered(w, http.StatusOK, func(xs []T) map[string]any {
		return map[string]any{"data": mapSlice(xs, show)}
	})
}

// mapSlice is f of each of xs, never nil (JSON []).
func mapSlice[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, toTemplateJSON)(s.cfg.Store.GetTemplate(r.Context(), spaceID(r), r.PathValue("id")))
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusOK, func(in templateInput) (*store.Template, error) {
		return s.pages.UpdateTemplate(r.Context(), spaceID(r), r.PathValue("id"), page.TemplateInput(in))
	}, toTemplateJSON)
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.cfg.Store.DeleteTemplate(r.Context(), spaceID(r), r.PathValue("id")))
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

// pageInput is the body of POST and PUT /api/pages (page.Input).
type pageInput struct {
	TemplateID *string         `json:"templateId"`
	Name       *string         `json:"name"`
	Values     *map[string]any `json:"values"`
	// Publish publishes the draft in the same call.
	Publish bool `json:"publish"`
}

func (s *Server) createPage(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusCreated, func(in pageInput) (*store.Page, error) {
		return s.pages.CreatePage(r.Context(), spaceID(r), page.Input(in))
	}, toPageJSON)
}

func (s *Server) listPages(w http.ResponseWriter, r *http.Request) error {
	return listed(w, toPageJSON)(s.cfg.Store.ListPages(r.Context(), spaceID(r)))
}

func (s *Server) getPage(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, toPageJSON)(s.cfg.Store.GetPage(r.Context(), spaceID(r), r.PathValue("id")))
}

func (s *Server) updatePage(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusOK, func(in pageInput) (*store.Page, error) {
		return s.pages.UpdatePage(r.Context(), spaceID(r), r.PathValue("id"), page.Input(in))
	}, toPageJSON)
}

func (s *Server) deletePage(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.cfg.Store.DeletePage(r.Context(), spaceID(r), r.PathValue("id")))
}

func (s *Server) publishPage(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, toPageJSON)(s.pages.Publish(r.Context(), spaceID(r), r.PathValue("id")))
}
