package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/store"
)

// The v1 API follows Urlbox's: the same paths, option names and answers,
// and its error codes (NoApiKeySupplied, ApiKeyNotFound, InvalidOptions)
// in renderhook's one error shape, spelled in reply's table (dialect V1).

// checkV1 refuses, before any browser work, a main-frame URL or a
// webhook_url the egress guard does not allow.
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

// v1Sync serves POST /v1/render/sync: render, store, answer the file's URL.
// The cache is used only when the request gives a ttl.
func (s *Server) v1Sync(w http.ResponseWriter, r *http.Request) error {
	o, err := s.v1Body(r)
	if err != nil {
		return err
	}
	out, err := s.cfg.Renderer.RenderURL(r.Context(), s.urlRequest(r, o, ttl(o, 0)))
	if err != nil {
		return err
	}
	recorded(r)
	rec := out.Render
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(out.CacheHit))
	writeJSON(w, http.StatusOK, map[string]any{"renderUrl": out.FileURL, "size": rec.Size, "renderTime": rec.TotalMs})
	return nil
}

func cacheWord(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}

// v1Async serves POST /v1/render/async and POST /v1/render: queue the
// render as a job and answer 201 with where to poll.
func (s *Server) v1Async(w http.ResponseWriter, r *http.Request) error {
	o, err := s.v1Body(r)
	if err != nil {
		return err
	}
	rec, hit, err := s.cfg.Renderer.EnqueueURL(r.Context(), s.urlRequest(r, o, ttl(o, 0)))
	if err != nil {
		return err
	}
	recorded(r)
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(hit))
	body := map[string]any{"status": "created", "renderId": rec.ID, "statusUrl": s.cfg.Signer.BaseURL() + "/v1/render/" + rec.ID}
	if hit {
		// Answered from the cache: nothing runs, the result is here.
		body["status"], body["renderUrl"], body["size"] = "succeeded", s.cfg.Renderer.FileURL(rec), rec.Size
	}
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// v1Status serves GET /v1/render/{renderId}.
func (s *Server) v1Status(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Store.GetRender(r.Context(), spaceID(r), r.PathValue("renderId"))
	if errors.Is(err, store.ErrNotFound) {
		return reply.ErrRenderNotFound
	}
	if err != nil {
		return err
	}
	body := map[string]any{"renderId": rec.ID}
	switch rec.Status {
	case store.RenderQueued:
		body["status"] = "created"
	case store.RenderRendering:
		body["status"] = "pending"
	case store.RenderSucceeded:
		body["status"], body["renderUrl"], body["size"] = "succeeded", s.cfg.Renderer.FileURL(rec), rec.Size
	default:
		body["status"], body["error"] = "failed", map[string]string{"message": rec.Error}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
