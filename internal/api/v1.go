package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
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
		body["status"], body["renderUrl"], body["size"] = "succeeded", s.cfg.Signer.URL(rec.BlobKey), rec.Size
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
		body["status"], body["renderUrl"], body["size"] = "succeeded", s.cfg.Signer.URL(rec.BlobKey), rec.Size
	default:
		body["status"], body["error"] = "failed", map[string]string{"message": rec.Error}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// hmacHex is hex(HMAC-SHA256(secret, msg)), the token of signed links.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// validHMAC compares a client's hex token with the expected one in
// constant time, ignoring hex case.
func validHMAC(secret, msg, token string) bool {
	want := hmacHex(secret, msg)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(token))) == 1
}

// v1Signed serves a signed render link, GET /v1/{renderKey}/{token}/{format}?…,
// for <img src> without headers. The token is hex HMAC-SHA256 of the raw
// query string exactly as sent, keyed by the space's render secret (or,
// within the rotation overlap, the previous one): Urlbox's construction,
// kept so links made by its SDKs work. The format segment is not signed
// (Urlbox's is not either): anyone holding a link can ask for the same
// render in another format. Links
// use the cache (default ttl 30 days) and answer the file itself, with an
// ETag and Cache-Control; a matching If-None-Match gets 304.
func (s *Server) v1Signed(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.signedSpace(r)
	if err != nil {
		return err
	}
	r = r.WithContext(withToken(r.Context(), &store.Token{SpaceID: sp.ID}))
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: the query string is malformed", render.ErrInvalidOptions)
	}
	o, err := render.ParseV1Query(q, r.PathValue("format"))
	if err != nil {
		return err
	}
	if err := s.checkV1(o); err != nil {
		return err
	}
	life := ttl(o, render.MaxV1TTL)
	out, err := s.cfg.Renderer.RenderURL(r.Context(), s.urlRequest(r, o, life))
	if err != nil {
		return err
	}
	recorded(r)
	rec := out.Render
	etag := `"` + rec.ID + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("X-Render-Id", rec.ID)
	h.Set("X-Renderhook-Cache", cacheWord(out.CacheHit))
	if life > 0 {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(life/time.Second), 10))
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	data := out.Data
	if data == nil {
		if data, err = s.cfg.Renderer.OpenRender(r.Context(), rec); err != nil {
			return err
		}
	}
	h.Set("Content-Type", rec.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // #nosec G705 -- a rendered file, sent with its own image or PDF Content-Type
	return nil
}

// signedSpace is the space whose render key a signed link names, once
// the link's token checks out under its render secret (or, within the
// rotation overlap, the previous one).
func (s *Server) signedSpace(r *http.Request) (*store.Space, error) {
	sp, err := s.cfg.Store.GetSpaceByRenderKey(r.Context(), r.PathValue("renderKey"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, reply.ErrRenderKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	valid := false
	for _, secret := range capability.RenderSecrets(sp, s.cfg.Now()) {
		if validHMAC(secret, r.URL.RawQuery, r.PathValue("token")) {
			valid = true
		}
	}
	if !valid {
		return nil, capability.ErrBadSignature
	}
	return sp, nil
}

// etagMatch reports whether an If-None-Match header names etag (or *).
func etagMatch(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}
