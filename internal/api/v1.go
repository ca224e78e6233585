package api

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/store"
)

// The v1 API follows Urlbox's: the same paths, option names and answers,
// and its error codes (NoApiKeySupplied, ApiKeyNotFound, InvalidOptions)
// in renderhook's one error shape, spelled in reply's table (dialect V1).

// checkV1 refuses, before any browser work, a main-frame URL, a
// webhook_url, a watermark_url or a proxy the egress guard does not allow.
func (s *Server) checkV1(o *render.URLOptions) error {
	if o.Request.URL != "" {
		if err := s.cfg.CheckURL(o.Request.URL); err != nil {
			return fmt.Errorf("%w: option \"url\": %v", reply.ErrInvalidURL, err)
		}
	}
	if o.WebhookURL != "" {
		if err := s.cfg.CheckURL(o.WebhookURL); err != nil {
			return fmt.Errorf("%w: option \"webhook_url\": %v", render.ErrInvalidOptions, err)
		}
	}
	if u := o.Request.Watermark.ImageURL; u != "" {
		if err := s.cfg.CheckURL(u); err != nil {
			return fmt.Errorf("%w: option \"watermark_url\": %v", render.ErrInvalidOptions, err)
		}
	}
	if p := o.Request.Proxy; p != "" {
		if err := s.cfg.CheckURL(browser.ProxyAddress(p)); err != nil {
			return fmt.Errorf("%w: option \"proxy\": %v", render.ErrInvalidOptions, err)
		}
	}
	// The uploads' connections are guarded too (render.Config.Egress);
	// this is the clear 400 for an address refused as written.
	for _, name := range []string{"s3_endpoint", "s3_presigned_url"} {
		if u := o.StorageURLs()[name]; u != "" {
			if err := s.cfg.CheckURL(u); err != nil {
				return fmt.Errorf("%w: option %q: %v", render.ErrInvalidOptions, name, err)
			}
		}
	}
	return nil
}

// v1Body reads and parses a v1 POST body, keeping it for the log.
func (s *Server) v1Body(r *http.Request) (*render.URLOptions, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	o, err := render.ParseV1Body(data)
	if err != nil {
		return nil, err
	}
	return o, s.checkV1(o)
}

// ttl is the cache lifetime a v1 request asks for, else def.
func ttl(o *render.URLOptions, def time.Duration) time.Duration {
	if o.TTLSet {
		return o.TTL
	}
	return def
}

// recorded marks the request's log entry as written with its render.
func recorded(r *http.Request) {
	if h := holder(r); h != nil {
		h.written = true
	}
}

func (s *Server) urlRequest(r *http.Request, o *render.URLOptions, ttl time.Duration) render.URLRenderRequest {
	req := render.URLRenderRequest{SpaceID: spaceID(r), RequestID: requestID(r), Options: o, CacheTTL: ttl}
	if h := holder(r); h != nil {
		req.Log = &h.entry
	}
	return req
}

// v1Sync serves POST /v1/render/sync: render, store, answer as
// response_type says (default json: the file's URL). The cache is used
// only when the request gives a ttl. A render still capturing after
// SyncRedirectAfter is answered 307 to its status URL and goes on as an
// async render (Urlbox's answer to long sync renders).
func (s *Server) v1Sync(w http.ResponseWriter, r *http.Request) error {
	o, err := s.v1Body(r)
	if err != nil {
		return err
	}
	req := s.urlRequest(r, o, ttl(o, 0))
	req.HandOffAfter = cmp.Or(o.RedirectAfter, s.cfg.SyncRedirectAfter)
	out, err := s.cfg.Renderer.RenderURL(r.Context(), req)
	if err != nil {
		return err
	}
	recorded(r)
	rec := out.Render
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(out.CacheHit))
	if out.HandedOff {
		body := s.v1StatusBody(rec)
		body["statusUrl"] = s.statusURL(rec.ID)
		w.Header().Set("Location", s.statusURL(rec.ID))
		writeJSON(w, http.StatusTemporaryRedirect, body)
		return nil
	}
	return s.v1Answer(w, r, out, o, render.ResponseJSON)
}

// v1Answer answers a finished sync render or render link as o's
// response_type says, def when it gives none: the file (binary, with
// download's Content-Disposition), its base64 text, the JSON of its URL
// (json) or an empty 200 (none).
func (s *Server) v1Answer(w http.ResponseWriter, r *http.Request, out *render.Output, o *render.URLOptions, def string) error {
	rec := out.Render
	if o.NoUpload {
		w.Header().Set("X-Renderhook-Stored", "false") // no_upload: the file is in this answer only
	}
	switch cmp.Or(o.ResponseType, def) {
	case render.ResponseNone:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	case render.ResponseJSON:
		body := map[string]any{"renderUrl": out.FileURL, "size": rec.Size, "renderTime": rec.TotalMs}
		if out.FileURL == "" {
			body["renderUrl"] = nil // stored nowhere (no_upload)
		}
		if o.CustomID != "" {
			body["customId"] = o.CustomID
		}
		out.Artifacts.Fields(body)
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	data := out.Data
	if data == nil && rec.FileURL != "" && o.ResponseType != render.ResponseBase64 {
		// A cached render kept in the client's own bucket: it is there.
		http.Redirect(w, r, rec.FileURL, http.StatusFound) //nolint:gosec // G710: the URL renderhook made for the render's upload, read from its row, for the space that asked
		return nil
	}
	if data == nil {
		var err error
		if data, err = s.cfg.Renderer.OpenRender(r.Context(), rec); err != nil {
			return err
		}
	}
	h := w.Header()
	if o.ResponseType == render.ResponseBase64 {
		data = []byte(base64.StdEncoding.EncodeToString(data))
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", rec.ContentType)
		fileHeaders(h, rec.ContentType) // html, mhtml and md renders are sandboxed
		if o.Download != "" {
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": o.Download}))
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // #nosec G705 -- a rendered file (or its base64), sent with its own Content-Type
	return nil
}

func cacheWord(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}

// statusURL is where a v1 render's status is polled.
func (s *Server) statusURL(id string) string {
	return s.cfg.Signer.BaseURL() + "/v1/render/" + id
}

// v1Async serves POST /v1/render/async and POST /v1/render: queue the
// render as a job and answer 201 with where to poll.
func (s *Server) v1Async(w http.ResponseWriter, r *http.Request) error {
	o, err := s.v1Body(r)
	if err != nil {
		return err
	}
	if err := o.CheckAsync(); err != nil {
		return err
	}
	rec, hit, err := s.cfg.Renderer.EnqueueURL(r.Context(), s.urlRequest(r, o, ttl(o, 0)))
	if err != nil {
		return err
	}
	var art *render.Artifacts
	if hit {
		if art, err = s.cfg.Renderer.URLArtifacts(r.Context(), rec, o); err != nil {
			return err
		}
	}
	recorded(r)
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(hit))
	body := s.v1StatusBody(rec)
	body["statusUrl"] = s.statusURL(rec.ID)
	if hit {
		// Answered from the cache: nothing runs, the result is here, under
		// this request's custom_id.
		delete(body, "customId")
		if o.CustomID != "" {
			body["customId"] = o.CustomID
		}
		art.Fields(body)
	}
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// v1Status serves GET /v1/render/{renderId}, and POST for clients that
// follow a sync render's 307 by sending their POST again.
func (s *Server) v1Status(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Store.GetRender(r.Context(), spaceID(r), r.PathValue("renderId"))
	if errors.Is(err, store.ErrNotFound) {
		return reply.ErrRenderNotFound
	}
	if err != nil {
		return err
	}
	body := s.v1StatusBody(rec)
	if rec.Status == store.RenderSucceeded {
		art, err := s.cfg.Renderer.RenderArtifacts(r.Context(), rec)
		if err != nil {
			return err
		}
		art.Fields(body)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// v1StatusBody is a render's status in Urlbox's words: waiting (queued),
// active (rendering), delayed (queued again after a snoozed or failed
// attempt), succeeded (with its renderUrl and size) or failed (with its
// error); customId when the request gave one.
func (s *Server) v1StatusBody(rec *store.Render) map[string]any {
	body := map[string]any{"renderId": rec.ID, "status": v1StatusWord(rec)}
	switch rec.Status {
	case store.RenderSucceeded:
		body["size"] = rec.Size
		if u := s.cfg.Renderer.FileURL(rec); u != "" { // none: stored nowhere (no_upload)
			body["renderUrl"] = u
		}
	case store.RenderFailed:
		body["error"] = map[string]string{"message": rec.Error}
	}
	if rec.CustomID != "" {
		body["customId"] = rec.CustomID
	}
	return body
}

// v1StatusWord maps a render's status to Urlbox's async vocabulary (the
// /api surface keeps renderhook's own).
func v1StatusWord(rec *store.Render) string {
	switch rec.Status {
	case store.RenderQueued:
		if rec.StartedAt != nil {
			return "delayed"
		}
		return "waiting"
	case store.RenderRendering:
		return "active"
	case store.RenderSucceeded:
		return "succeeded"
	}
	return "failed"
}
