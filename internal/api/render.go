package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/store"
)

// renderGET serves GET /api/render/{pageId}. The handler only finds how
// the caller is authorised and the space of the page: a bearer token, a
// capability of the page's space (sig, gt), or nothing. What an anonymous
// caller may render (pages whose template, in the version rendered, needs
// no token) is decided by the render service on what it renders, so
// public pages can be used straight from <img src>.
func (s *Server) renderGET(w http.ResponseWriter, r *http.Request) error {
	pageID := r.PathValue("pageId")
	q := r.URL.Query()
	tok, caller, err := s.pageCaller(r, pageID, q)
	if err != nil {
		return err
	}
	r = r.WithContext(withToken(r.Context(), tok))
	q.Del("sig") // capabilities, not render options
	q.Del("gt")
	if caller == render.CallerSignedLink {
		q.Del("exp") // checked with the sig that covers it
	}
	opts, err := render.ParseQuery(pageID, q)
	if err != nil {
		if caller == render.CallerAnonymous && !s.cfg.Renderer.PublicPage(r.Context(), spaceID(r), pageID) {
			// A 400 would tell an anonymous caller that this token-only
			// page exists (and write into its space's log).
			err = render.ErrTokenRequired
		}
		return err
	}
	return s.doRender(w, r, opts, caller)
}

// pageCaller finds how a GET render of pageID is authorised, and the
// token (or, without one, the space) it is authorised as: a bearer
// token, else what page.Service.TokenlessCaller makes of the query.
func (s *Server) pageCaller(r *http.Request, pageID string, q url.Values) (*store.Token, render.Caller, error) {
	if r.Header.Get("Authorization") != "" {
		tok, err := s.authenticate(r)
		return tok, render.CallerToken, err
	}
	sp, c, err := s.pages.TokenlessCaller(r.Context(), pageID, q, r.URL.RawQuery, s.cfg.Now())
	return &store.Token{SpaceID: sp}, c, err
}

func (s *Server) renderPOST(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	opts, err := render.ParseBody(data)
	if err != nil {
		return err
	}
	return s.doRender(w, r, opts, render.CallerToken)
}

// renderResponse is the JSON answer of a render.
type renderResponse struct {
	RequestID  string      `json:"requestId"`
	RenderID   string      `json:"renderId"`
	Status     string      `json:"status"`
	PageID     string      `json:"pageId"`
	TemplateID string      `json:"templateId"`
	Format     string      `json:"format"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Size       int64       `json:"size"`
	File       fileJSON    `json:"file"`
	Timings    timingsJSON `json:"timings"`
	Renderer   string      `json:"renderer" enum:"chromium,takumi" doc:"Which renderer made the file (see renderType)."`
}

type fileJSON struct {
	URL string `json:"url"`
}

type timingsJSON struct {
	QueueMs  int64 `json:"queueMs"`
	RenderMs int64 `json:"renderMs"`
	TotalMs  int64 `json:"totalMs"`
}

func (s *Server) doRender(w http.ResponseWriter, r *http.Request, opts *render.Options, caller render.Caller) error {
	if opts.WebhookURL != "" {
		if err := s.cfg.CheckURL(opts.WebhookURL); err != nil {
			return fmt.Errorf("%w: webhook_url: %v", render.ErrInvalidInput, err)
		}
	}
	req := render.Request{SpaceID: spaceID(r), RequestID: requestID(r), Options: opts, Caller: caller}
	hold := holder(r)
	if hold != nil {
		req.Log = &hold.entry
	}
	if opts.Async {
		rec, err := s.cfg.Renderer.Enqueue(r.Context(), req)
		if err != nil {
			return err
		}
		if hold != nil {
			hold.written = true
		}
		w.Header().Set("X-Render-Id", rec.ID)
		writeJSON(w, http.StatusAccepted, map[string]string{
			"renderId": rec.ID, "status": rec.Status, "statusUrl": s.cfg.Signer.BaseURL() + "/api/renders/" + rec.ID,
		})
		return nil
	}
	out, err := s.cfg.Renderer.Render(r.Context(), req)
	if err != nil {
		return err
	}
	if hold != nil {
		hold.written = true // recorded with the render, in its transaction
	}
	if opts.Output == render.OutputJSON {
		rec := out.Render
		h := w.Header()
		h.Set("X-Render-Id", rec.ID)
		h.Set("X-Render-Time-Ms", strconv.FormatInt(rec.TotalMs, 10))
		h.Set("X-Renderer", out.Renderer)
		writeJSON(w, http.StatusOK, renderResponse{
			RequestID: rec.RequestID, RenderID: rec.ID, Status: rec.Status, PageID: rec.PageID, TemplateID: rec.TemplateID,
			Format: rec.Format, Width: rec.Width, Height: rec.Height, Size: rec.Size,
			File:     fileJSON{URL: out.FileURL},
			Timings:  timingsJSON{QueueMs: rec.QueueMs, RenderMs: rec.RenderMs, TotalMs: rec.TotalMs},
			Renderer: out.Renderer,
		})
		return nil
	}
	reply.Render(w, out)
	return nil
}

// getFile serves a stored render at its signed URL.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	if !blob.ValidKey(key) || !s.cfg.Signer.Verify(key, r.URL.Query().Get("sig")) {
		return reply.ErrNoFile
	}
	f, _, err := s.cfg.Bucket.Open(r.Context(), key)
	if errors.Is(err, blob.ErrNotFound) {
		return reply.ErrNoFile
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", blob.ContentType(key))
	fileHeaders(w.Header(), blob.ContentType(key))
	// Files never change once written; the signature is the capability.
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// fileHeaders sets the headers every file renderhook serves is served
// with, by the Content-Type it is served as: no type sniffing, and for
// anything but the images and PDFs renderhook draws (a page's own text:
// HTML, MHTML, Markdown; anything else) a sandbox, so that markup served
// from renderhook's origin cannot run there (no script, no same-origin
// access) nor tell the URL it was served under to what it loads. The type,
// not the file's key, decides: a render kept in the client's bucket has
// no key of renderhook's.
func fileHeaders(h http.Header, contentType string) {
	h.Set("X-Content-Type-Options", "nosniff")
	if !inertType(contentType) {
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:")
		h.Set("Referrer-Policy", "no-referrer")
	}
}

// inertType reports whether a file served as contentType cannot run as
// the origin it is served from: the image formats and PDF renderhook
// makes.
func inertType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "image/png", "image/jpeg", "image/webp", "image/avif", "application/pdf":
		return true
	}
	return false
}
