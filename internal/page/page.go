// Package page owns the rules of a space's templates and pages: what a
// template may hold (name, HTML that parses, a size, typed variables whose
// defaults fit their types), what a page's draft may hold (an existing
// template of the space, values that fit it), how drafts are published,
// and as whom a page is rendered by GET without an API token
// (TokenlessCaller). The JSON API and the console call it; neither checks a field
// itself.
package page

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
)

var (
	// ErrInvalid: a template or page the caller must correct (422); the
	// text after "validation failed: " says what.
	ErrInvalid = errors.New("validation failed")
	// ErrTemplateNotFound: a page names a template its space does not
	// have (404).
	ErrTemplateNotFound = errors.New("template not found")
)

// Template size bounds, in CSS pixels.
const (
	DefaultWidth  = 1200
	DefaultHeight = 630
	MaxDimension  = 10000
)

// Bounds of names and variables.
const (
	maxName      = 200
	maxVariables = 200
)

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// TemplateInput is a change to a template: absent fields keep their
// current value (their default on create).
type TemplateInput struct {
	Name                  *string
	HTML                  *string
	Width                 *int
	Height                *int
	Variables             *[]store.Variable
	RequireGetRenderToken *bool
	// RenderType is html, takumi or auto (render.RenderTypes); default html.
	RenderType *string
}

func (in TemplateInput) apply(t *store.Template) error {
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	set(&t.HTML, in.HTML)
	set(&t.Width, in.Width)
	set(&t.Height, in.Height)
	set(&t.Variables, in.Variables)
	set(&t.RequireGetRenderToken, in.RequireGetRenderToken)
	set(&t.RenderType, in.RenderType)
	return ValidateTemplate(t)
}

// set is a partial update's rule: a field the input leaves nil is kept.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ValidateTemplate checks a template and fills in its variables' default
// type (string) and its render type (html).
func ValidateTemplate(t *store.Template) error {
	if t.RenderType == "" {
		t.RenderType = store.RenderTypeHTML
	}
	switch {
	case !render.ValidRenderType(t.RenderType):
		return fmt.Errorf("%w: renderType must be one of %s", ErrInvalid, strings.Join(render.RenderTypes, ", "))
	case t.Name == "" || len(t.Name) > maxName:
		return fmt.Errorf("%w: name is required (at most %d characters)", ErrInvalid, maxName)
	case strings.TrimSpace(t.HTML) == "":
		return fmt.Errorf("%w: html is required", ErrInvalid)
	case t.Width < 1 || t.Width > MaxDimension || t.Height < 1 || t.Height > MaxDimension:
		return fmt.Errorf("%w: width and height must be from 1 to %d pixels", ErrInvalid, MaxDimension)
	case len(t.Variables) > maxVariables:
		return fmt.Errorf("%w: at most %d variables", ErrInvalid, maxVariables)
	}
	if err := validateVariables(t.Variables); err != nil {
		return err
	}
	if _, err := render.ParseTemplate(t.HTML); err != nil {
		return fmt.Errorf("%w: html: %v", ErrInvalid, err)
	}
	// Defaults must satisfy their own types.
	if err := render.ValidateValues(t, nil); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, detail(err))
	}
	return nil
}

func validateVariables(vars []store.Variable) error {
	seen := map[string]bool{}
	for i, v := range vars {
		if !variableName.MatchString(v.Name) {
			return fmt.Errorf("%w: variables[%d].name %q must be a letter or _ followed by letters, digits or _", ErrInvalid, i, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("%w: variable %q is declared twice", ErrInvalid, v.Name)
		}
		seen[v.Name] = true
		if v.Type == "" {
			vars[i].Type = "string"
		} else if !render.VariableTypes[v.Type] {
			return fmt.Errorf("%w: variables[%d].type %q is not one of string, number, boolean, color, image", ErrInvalid, i, v.Type)
		}
		if err := render.CheckVariable(vars[i]); err != nil {
			return fmt.Errorf("%w: variables[%d]: %s", ErrInvalid, i, detail(err))
		}
	}
	return nil
}

// detail is a render input error's text without its sentinel.
func detail(err error) string {
	return strings.TrimPrefix(err.Error(), render.ErrInvalidInput.Error()+": ")
}

// Input is a change to a page's draft: absent fields keep their current
// value. Publish publishes the draft in the same call.
type Input struct {
	TemplateID *string
	Name       *string
	Values     *map[string]any
	Publish    bool
}

// Service creates, changes and publishes a space's templates and pages.
type Service struct {
	st  store.Store
	now func() time.Time
}

// New returns the service over st.
func New(st store.Store) *Service {
	return &Service{st: st, now: func() time.Time { return time.Now().UTC() }}
}

// CreateTemplate makes a template in the space from in (1200 × 630 and
// token-only by default).
func (s *Service) CreateTemplate(ctx context.Context, spaceID string, in TemplateInput) (*store.Template, error) {
	now := s.now()
	t := &store.Template{
		ID: store.NewID("tpl"), SpaceID: spaceID, Width: DefaultWidth, Height: DefaultHeight,
		RequireGetRenderToken: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := in.apply(t); err != nil {
		return nil, err
	}
	if err := s.st.CreateTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTemplate applies in to the space's template id.
func (s *Service) UpdateTemplate(ctx context.Context, spaceID, id string, in TemplateInput) (*store.Template, error) {
	t, err := s.st.GetTemplate(ctx, spaceID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(t); err != nil {
		return nil, err
	}
	t.UpdatedAt = s.now()
	if err := s.st.UpdateTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// apply validates in against the page's template and applies it to the
// draft; a draft without a name takes its template's.
func (s *Service) apply(ctx context.Context, in Input, p *store.Page) error {
	set(&p.Draft.TemplateID, in.TemplateID)
	if in.Name != nil {
		p.Draft.Name = strings.TrimSpace(*in.Name)
	}
	set(&p.Draft.Values, in.Values)
	if p.Draft.TemplateID == "" {
		return fmt.Errorf("%w: templateId is required", ErrInvalid)
	}
	if len(p.Draft.Name) > maxName {
		return fmt.Errorf("%w: name is at most %d characters", ErrInvalid, maxName)
	}
	tpl, err := s.st.GetTemplate(ctx, p.SpaceID, p.Draft.TemplateID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrTemplateNotFound, p.Draft.TemplateID)
	}
	if err != nil {
		return err
	}
	if p.Draft.Name == "" {
		p.Draft.Name = tpl.Name
	}
	if err := render.ValidateValues(tpl, p.Draft.Values); err != nil {
		return fmt.Errorf("%w: values: %s", ErrInvalid, detail(err))
	}
	return nil
}

// CreatePage makes a page in the space from in, published at once when
// in.Publish.
func (s *Service) CreatePage(ctx context.Context, spaceID string, in Input) (*store.Page, error) {
	now := s.now()
	p := &store.Page{ID: store.NewID("pg"), SpaceID: spaceID, CreatedAt: now, UpdatedAt: now}
	if err := s.apply(ctx, in, p); err != nil {
		return nil, err
	}
	if err := s.st.CreatePage(ctx, p); err != nil {
		return nil, err
	}
	if in.Publish {
		return s.st.PublishPage(ctx, p.SpaceID, p.ID, now)
	}
	return p, nil
}

// UpdatePage applies in to the draft of the space's page id, then
// publishes it when in.Publish.
func (s *Service) UpdatePage(ctx context.Context, spaceID, id string, in Input) (*store.Page, error) {
	p, err := s.st.GetPage(ctx, spaceID, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, in, p); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.now()
	if err := s.st.UpdatePageDraft(ctx, p); err != nil {
		return nil, err
	}
	if in.Publish {
		return s.st.PublishPage(ctx, p.SpaceID, p.ID, p.UpdatedAt)
	}
	return p, nil
}

// Publish makes the page's draft the version renders use.
func (s *Service) Publish(ctx context.Context, spaceID, id string) (*store.Page, error) {
	return s.st.PublishPage(ctx, spaceID, id, s.now())
}

// RenderedVersion is the version of p a render without draft=true uses:
// the published one, else (never published) the draft.
func RenderedVersion(p *store.Page) (v *store.PageVersion, draft bool) {
	if p.Published != nil {
		return p.Published, false
	}
	return &p.Draft, true
}

// ByTemplate groups pages under the template of the version they render.
func ByTemplate(ps []*store.Page) map[string][]*store.Page {
	out := map[string][]*store.Page{}
	for _, p := range ps {
		v, _ := RenderedVersion(p)
		out[v.TemplateID] = append(out[v.TemplateID], p)
	}
	return out
}

// TokenlessCaller says as whom, and for which space, a GET render of
// pageID without an API token runs, from its query q (raw as sent):
//
//   - with sig, a signed link (capability.PageSig: a MAC of the page id
//     and the raw query without sig, exp included, under a key derived
//     from the space's render secret), which fixes every parameter;
//   - with gt, the space's GET-render token;
//   - with neither, anonymously: the render service then lets through
//     only pages whose template, in the version rendered, needs no token.
//
// A sig or gt lets the render through whatever the template's
// requireGetRenderToken says; within the rotation overlap the previous
// secret or token works too. A bad or expired sig is
// capability.ErrBadSignature or ErrExpired (403), a bad gt
// auth.ErrInvalidToken (401), and an unknown page answers as a token-only
// one does (render.ErrTokenRequired, or the sig's or gt's error), so the
// absence of a token reveals nothing about which ids exist.
func (s *Service) TokenlessCaller(ctx context.Context, pageID string, q url.Values, rawQuery string, now time.Time) (spaceID string, c render.Caller, err error) {
	if !q.Has("sig") && !q.Has("gt") {
		p, err := s.st.FindPage(ctx, pageID)
		if err != nil {
			return "", 0, render.ErrTokenRequired
		}
		return p.SpaceID, render.CallerAnonymous, nil
	}
	fail := auth.ErrInvalidToken
	if q.Has("sig") {
		fail = capability.ErrBadSignature
	}
	p, err := s.st.FindPage(ctx, pageID)
	if err != nil {
		return "", 0, fail
	}
	sp, err := s.st.GetSpace(ctx, p.SpaceID)
	if err != nil {
		return "", 0, fail
	}
	if q.Has("sig") {
		if err := capability.VerifyPage(capability.RenderSecrets(sp, now), pageID, rawQuery, now); err != nil {
			return "", 0, err
		}
		return sp.ID, render.CallerSignedLink, nil
	}
	if !capability.ValidGetToken(sp, q.Get("gt"), now) {
		return "", 0, fail
	}
	return sp.ID, render.CallerGetToken, nil
}
