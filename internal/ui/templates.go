package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

type templateRow struct {
	Template *store.Template
	Pages    []*store.Page
}

type templatesData struct {
	Templates []templateRow
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, sess *session) {
	ts, err := s.cfg.Store.ListTemplates(r.Context(), sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	ps, err := s.cfg.Store.ListPages(r.Context(), sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	byTemplate := map[string][]*store.Page{}
	for _, p := range ps {
		id := p.Draft.TemplateID
		if p.Published != nil {
			id = p.Published.TemplateID
		}
		byTemplate[id] = append(byTemplate[id], p)
	}
	d := templatesData{}
	for _, t := range ts {
		d.Templates = append(d.Templates, templateRow{Template: t, Pages: byTemplate[t.ID]})
	}
	s.render(w, r, http.StatusOK, "templates", view{Title: "Templates", Nav: "templates", S: sess, Data: d})
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
func (s *Server) showPage(w http.ResponseWriter, r *http.Request, sess *session) {
	p, err := s.cfg.Store.GetPage(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d := pageData{Page: p, Version: p.Published}
	if d.Version == nil { // never published: the draft is all there is
		d.Version, d.Draft = &p.Draft, true
	}
	if d.Template, err = s.cfg.Store.GetTemplate(r.Context(), sess.Space.ID, d.Version.TemplateID); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	q := r.URL.Query()
	tweaks := url.Values{}
	for _, v := range d.Template.Variables {
		cur, ok := v.Default, true
		if pv, has := d.Version.Values[v.Name]; has {
			cur = pv
		}
		f := field{Name: v.Name, Type: v.Type}
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
func (s *Server) preview(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
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
		out, err = s.cfg.Renderer.Render(ctx, render.Request{SpaceID: sess.Space.ID, RequestID: id, Options: opts, Caller: render.CallerToken, Log: entry})
	}
	if err != nil {
		status, code, msg := previewError(err)
		if status >= 500 && code == "internal_error" {
			s.log.Error("ui preview failed", "request_id", id, "err", err)
		}
		// A failed render is logged like the API logs it: once, with its
		// status and error, on a context the client cannot cancel.
		entry.Status, entry.ErrorCode, entry.Error = status, code, msg
		entry.DurationMs = time.Since(entry.CreatedAt).Milliseconds()
		if lerr := s.cfg.Store.CreateRequestLog(context.WithoutCancel(ctx), entry); lerr != nil {
			s.log.Error("write request log", "request_id", id, "err", lerr)
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, msg+" (request "+id+")", status)
		return
	}
	rec := out.Render
	h := w.Header()
	h.Set("X-Render-Id", rec.ID)
	h.Set("X-Render-Time-Ms", strconv.FormatInt(rec.TotalMs, 10))
	h.Set("Content-Type", rec.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(out.Data)))
	h.Set("Content-Disposition", `inline; filename="`+path.Base(rec.BlobKey)+`"`)
	// Every preview is a billed render; caches must not replay it.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Data)
}

// previewError maps a render error to the status, code and message the API
// would answer with (api.Server.fail), for the preview's log entry.
func previewError(err error) (int, string, string) {
	switch {
	case errors.Is(err, render.ErrInvalidTweak):
		return http.StatusBadRequest, "InvalidTweak", strings.TrimPrefix(err.Error(), render.ErrInvalidTweak.Error()+": ")
	case errors.Is(err, render.ErrInvalidInput):
		return http.StatusBadRequest, "invalid_request", strings.TrimPrefix(err.Error(), render.ErrInvalidInput.Error()+": ")
	case errors.Is(err, render.ErrPageNotFound), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "page_not_found", err.Error()
	case errors.Is(err, render.ErrCreditLimit):
		return http.StatusPaymentRequired, "CreditLimitReached", err.Error()
	case errors.Is(err, render.ErrNotPublished):
		return http.StatusUnprocessableEntity, "page_not_published", err.Error()
	case errors.Is(err, render.ErrTemplateMismatch):
		return http.StatusUnprocessableEntity, "template_mismatch", err.Error()
	case errors.Is(err, render.ErrTemplateTooLarge):
		return http.StatusUnprocessableEntity, "TemplateTooLarge", strings.TrimPrefix(err.Error(), render.ErrTemplateTooLarge.Error()+": ")
	case errors.Is(err, render.ErrTemplate):
		return http.StatusUnprocessableEntity, "template_error", err.Error()
	case errors.Is(err, browser.ErrBadRequest):
		return http.StatusUnprocessableEntity, "invalid_render", err.Error()
	case errors.Is(err, browser.ErrRenderTimeout):
		return http.StatusUnprocessableEntity, "render_timeout", "the page did not finish loading in time (an image or font that never loads?)"
	case errors.Is(err, browser.ErrQueueFull):
		return http.StatusServiceUnavailable, "queue_full", "all browser tabs are busy and the queue is full; retry shortly"
	case errors.Is(err, browser.ErrBrowserCrashed):
		return http.StatusServiceUnavailable, "browser_crashed", "the browser crashed during this render; it is restarting, retry shortly"
	case errors.Is(err, browser.ErrStopped):
		return http.StatusServiceUnavailable, "unavailable", "the server is shutting down"
	}
	return http.StatusInternalServerError, "internal_error", "internal error; see the server log"
}
