package api

import (
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

// renderGET serves GET /api/render/{pageId}. A token is required unless the
// page's template sets requireGetRenderToken to false, so a public page can
// be used straight from <img src>.
func (s *Server) renderGET(w http.ResponseWriter, r *http.Request) {
	pageID := r.PathValue("pageId")
	ctx := r.Context()
	if r.Header.Get("Authorization") != "" {
		tok, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx = withToken(ctx, tok)
	} else if q := r.URL.Query(); q.Has("sig") || q.Has("gt") {
		sp, status, err := s.pageCapabilitySpace(r, pageID, q)
		if err != nil {
			if status == http.StatusForbidden {
				writeError(w, r, status, "invalid_signature", "the sig does not match the query: sign the query string without sig, exactly as sent")
			} else {
				s.fail(w, r, auth.ErrInvalidToken)
			}
			return
		}
		ctx = withToken(ctx, &store.Token{SpaceID: sp})
	} else {
		sp, err := s.publicPageSpace(r, pageID)
		if err != nil {
			// Unknown pages and token-only pages answer alike, so the
			// absence of a token reveals nothing about which ids exist.
			s.fail(w, r, auth.ErrInvalidToken)
			return
		}
		ctx = withToken(ctx, &store.Token{SpaceID: sp})
	}
	r = r.WithContext(ctx)
	q := r.URL.Query()
	q.Del("sig") // capabilities, not render options
	q.Del("gt")
	opts, err := render.ParseQuery(pageID, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.doRender(w, r, opts)
}

// pageCapabilitySpace returns the space of a page rendered by GET without
// an API token but with a capability of its space: a sig (hex HMAC-SHA256
// of the raw query without the sig parameter, keyed by the space's render
// secret), which fixes every tweak in the link, or the space's GET-render
// token as gt. Either lets the render through whatever the template's
// requireGetRenderToken says. A bad sig answers 403 and a bad gt 401, the
// same for pages that do not exist.
func (s *Server) pageCapabilitySpace(r *http.Request, pageID string, q url.Values) (string, int, error) {
	status := http.StatusUnauthorized
	if q.Has("sig") {
		status = http.StatusForbidden
	}
	p, err := s.cfg.Store.FindPage(r.Context(), pageID)
	if err != nil {
		return "", status, auth.ErrInvalidToken
	}
	sp, err := s.cfg.Store.GetSpace(r.Context(), p.SpaceID)
	if err != nil {
		return "", status, auth.ErrInvalidToken
	}
	if q.Has("sig") {
		if !validHMAC(sp.RenderSecret, queryWithout(r.URL.RawQuery, "sig"), q.Get("sig")) {
			return "", status, auth.ErrInvalidToken
		}
		return sp.ID, 0, nil
	}
	if sp.GetRenderToken == "" || subtle.ConstantTimeCompare([]byte(q.Get("gt")), []byte(sp.GetRenderToken)) != 1 {
		return "", status, auth.ErrInvalidToken
	}
	return sp.ID, 0, nil
}

// publicPageSpace returns the space of a page whose template lets GET
// renders go without a token.
func (s *Server) publicPageSpace(r *http.Request, pageID string) (string, error) {
	p, err := s.cfg.Store.FindPage(r.Context(), pageID)
	if err != nil {
		return "", err
	}
	tplID := p.Draft.TemplateID
	if p.Published != nil && r.URL.Query().Get("draft") == "" {
		tplID = p.Published.TemplateID
	}
	tpl, err := s.cfg.Store.GetTemplate(r.Context(), p.SpaceID, tplID)
	if err != nil {
		return "", err
	}
	if tpl.RequireGetRenderToken {
		return "", auth.ErrInvalidToken
	}
	return p.SpaceID, nil
}

func (s *Server) renderPOST(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if h := holder(r); h != nil {
		h.entry.Body = requestlog.SanitizeBody(data)
	}
	opts, err := render.ParseBody(data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.doRender(w, r, opts)
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
}

type fileJSON struct {
	URL string `json:"url"`
}

type timingsJSON struct {
	QueueMs  int64 `json:"queueMs"`
	RenderMs int64 `json:"renderMs"`
	TotalMs  int64 `json:"totalMs"`
}

func (s *Server) doRender(w http.ResponseWriter, r *http.Request, opts *render.Options) {
	if opts.WebhookURL != "" {
		if err := s.cfg.CheckURL(opts.WebhookURL); err != nil {
			writeError(w, r, http.StatusBadRequest, "invalid_request", "webhook_url: "+err.Error())
			return
		}
	}
	req := render.Request{SpaceID: spaceID(r), RequestID: requestID(r), Options: opts}
	hold := holder(r)
	if hold != nil {
		req.Log = &hold.entry
	}
	if opts.Async {
		rec, err := s.cfg.Renderer.Enqueue(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if hold != nil {
			hold.written = true
		}
		w.Header().Set("X-Render-Id", rec.ID)
		writeJSON(w, http.StatusAccepted, map[string]string{
			"renderId": rec.ID, "status": rec.Status, "statusUrl": s.cfg.Signer.BaseURL() + "/api/renders/" + rec.ID,
		})
		return
	}
	out, err := s.cfg.Renderer.Render(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if hold != nil {
		hold.written = true // recorded with the render, in its transaction
	}
	rec := out.Render
	h := w.Header()
	h.Set("X-Render-Id", rec.ID)
	h.Set("X-Render-Time-Ms", strconv.FormatInt(rec.TotalMs, 10))
	if opts.Output == render.OutputJSON {
		writeJSON(w, http.StatusOK, renderResponse{
			RequestID: rec.RequestID, RenderID: rec.ID, Status: rec.Status, PageID: rec.PageID, TemplateID: rec.TemplateID,
			Format: rec.Format, Width: rec.Width, Height: rec.Height, Size: rec.Size,
			File:    fileJSON{URL: out.FileURL},
			Timings: timingsJSON{QueueMs: rec.QueueMs, RenderMs: rec.RenderMs, TotalMs: rec.TotalMs},
		})
		return
	}
	h.Set("Content-Type", rec.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(out.Data)))
	h.Set("Content-Disposition", `inline; filename="`+path.Base(rec.BlobKey)+`"`)
	// Every render is billed; caches must not replay it as a new one.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Data)
}

// getFile serves a stored render at its signed URL.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !blob.ValidKey(key) || !s.cfg.Signer.Verify(key, r.URL.Query().Get("sig")) {
		writeError(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	f, _, err := s.cfg.Bucket.Open(r.Context(), key)
	if errors.Is(err, blob.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	// Files never change once written; the signature is the capability.
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, f)
}
