package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/page"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

type templateRow struct {
	Template *store.Template
	Pages    []*store.Page
	// Decision is what auto decided for the template's current version,
	// once a render has made it (nil before).
	Decision *render.Decision
}

type templatesData struct {
	Templates   []templateRow
	RenderTypes []string
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, sess *session) error {
	ts, err := s.cfg.Store.ListTemplates(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	ps, err := s.cfg.Store.ListPages(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	byTemplate := page.ByTemplate(ps)
	d := templatesData{RenderTypes: render.RenderTypes}
	for _, t := range ts {
		row := templateRow{Template: t, Pages: byTemplate[t.ID]}
		if dec, ok := s.cfg.Renderer.CachedDecision(t); ok {
			row.Decision = &dec
		}
		d.Templates = append(d.Templates, row)
	}
	s.render(w, r, http.StatusOK, "templates", view{Title: "Templates", Nav: "templates", S: sess, Data: d})
	return nil
}

// setRenderType changes which renderer a template's renders use
// (page.TemplateInput.RenderType decides what is allowed).
func (s *Server) setRenderType(w http.ResponseWriter, r *http.Request, sess *session) error {
	rt := r.PostFormValue("renderType")
	id := r.PathValue("id")
	_, err := page.New(s.cfg.Store).UpdateTemplate(r.Context(), sess.Space.ID, id, page.TemplateInput{RenderType: &rt})
	if errors.Is(err, page.ErrInvalid) {
		// Only a forged form sends another value: a fixed text, nothing reflected.
		s.render(w, r, http.StatusUnprocessableEntity, "error", view{Title: "Not saved", S: sess, Data: errorPage{
			Status: http.StatusUnprocessableEntity, Message: "The renderer must be html, takumi or auto; nothing was changed.",
		}})
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("ui template render type set", "request_id", requestID(w), "space", sess.Space.ID, "template_id", id, "render_type", rt)
	http.Redirect(w, r, "/ui/templates?done=render-type", http.StatusSeeOther)
	return nil
}

// field is one template variable in the preview's tweak form.
type field struct {
	Name, Type string
	// Value is what the form shows: the tweak the user entered, else the
	// page's own value (or the variable's default).
	Value string
	// Editable is false for values a one-line input cannot hold (objects,
	// lists); they render as the page has them.
	Editable bool
	Tweaked  bool
	// Color is Value when it is a #rrggbb colour, for the colour picker.
	Color string
}

type pageData struct {
	Page     *store.Page
	Template *store.Template
	Version  *store.PageVersion
	Draft    bool
	Fields   []field
	Tweaks   int
	// PreviewURL renders through /ui/preview (billed and logged).
	PreviewURL string
	// PublicURL is the tokenless GET render URL, for templates with
	// requireGetRenderToken false; empty otherwise.
	PublicURL string
	// SignedURL is a signed GET render link of the page with these
	// values (capability.PageLink), for templates that require a token.
	SignedURL string
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// showPage shows one page with a live preview and a form for its
// template's variables; submitting the form (a GET) re-renders the preview
// with the changed values as tweaks.
func (s *Server) showPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	p, err := s.cfg.Store.GetPage(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := pageData{Page: p}
	d.Version, d.Draft = page.RenderedVersion(p) // never published: the draft is all there is
	if d.Template, err = s.cfg.Store.GetTemplate(r.Context(), sess.Space.ID, d.Version.TemplateID); err != nil {
		return err
	}
	q := r.URL.Query()
	tweaks := url.Values{}
	for _, v := range d.Template.Variables {
		cur := v.Default
		if pv, has := d.Version.Values[v.Name]; has {
			cur = pv
		}
		f := field{Name: v.Name, Type: v.Type}
		var ok bool
		f.Value, ok = formValue(cur)
		f.Editable = ok
		if got, has := q["tweak:"+v.Name]; has && ok && got[0] != f.Value {
			f.Value, f.Tweaked = got[0], true
			tweaks.Set("tweak:"+v.Name, got[0])
		}
		if hexColor.MatchString(f.Value) {
			f.Color = f.Value
		}
		d.Fields = append(d.Fields, f)
	}
	d.Tweaks = len(tweaks)
	if d.Draft {
		tweaks.Set("draft", "true")
	}
	d.PreviewURL = "/ui/preview/" + url.PathEscape(p.ID)
	if enc := tweaks.Encode(); enc != "" {
		d.PreviewURL += "?" + enc
	}
	if !d.Template.RequireGetRenderToken {
		d.PublicURL = s.cfg.Signer.BaseURL() + "/api/render/" + url.PathEscape(p.ID)
		if enc := tweaks.Encode(); enc != "" {
			d.PublicURL += "?" + enc
		}
	} else {
		d.SignedURL = s.cfg.Signer.BaseURL() + capability.PageLink(sess.Space.RenderSecret, p.ID, tweaks.Encode(), time.Time{})
	}
	s.render(w, r, http.StatusOK, "page", view{Title: "Page " + p.Draft.Name, Nav: "templates", S: sess, Data: d})
	return nil
}

// formValue spells a value for a one-line input; ok is false for values
// that have no such spelling.
func formValue(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), false
	}
	return string(b), false
}

// preview renders a page for the console through the same path as
// GET /api/render/{pageId}: render.ParseQuery, then render.Service.Render
// with a log entry, so the preview is logged and billed like any render.
// Its log entry's path is /ui/preview/… so it can be told apart.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := requestID(w)
	q := r.URL.Query()
	entry := &store.RequestLog{
		ID: id, SpaceID: sess.Space.ID, CreatedAt: time.Now().UTC(), Method: r.Method, Path: r.URL.Path,
		Query: requestlog.SanitizeQuery(q), TokenPrefix: sess.Token.Prefix,
	}
	opts, err := render.ParseQuery(r.PathValue("pageId"), q)
	if err == nil && (opts.WebhookURL != "" || opts.Output != render.OutputBinary) {
		err = fmt.Errorf("%w: a preview takes format, draft, quality and tweaks only", render.ErrInvalidInput)
	}
	var out *render.Output
	if err == nil {
		out, err = s.cfg.Renderer.Render(r.Context(), render.Request{SpaceID: sess.Space.ID, RequestID: id, Options: opts, Caller: render.CallerToken, Log: entry})
	}
	if err != nil {
		s.previewFailed(w, r, entry, err)
		return nil
	}
	reply.Render(w, out)
	return nil
}

// previewFailed answers a failed preview in plain text, as the console's
// dialect of reply's table spells it, and logs it like the API logs a
// failed render: once, with its status and error, on a context the
// client cannot cancel.
func (s *Server) previewFailed(w http.ResponseWriter, r *http.Request, entry *store.RequestLog, err error) {
	a := reply.For(reply.Console, err)
	if a.Internal {
		s.log.Error("ui preview failed", "request_id", entry.ID, "err", err)
	}
	entry.Status, entry.ErrorCode, entry.Error = a.Status, a.Code, a.Message
	entry.DurationMs = time.Since(entry.CreatedAt).Milliseconds()
	if lerr := s.cfg.Store.CreateRequestLog(context.WithoutCancel(r.Context()), entry); lerr != nil {
		s.log.Error("write request log", "request_id", entry.ID, "err", lerr)
	}
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, a.Message+" (request "+entry.ID+")", a.Status)
}
