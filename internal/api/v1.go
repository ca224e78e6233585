package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

// The v1 API follows Urlbox's: the same paths, option names and answers,
// and its error codes (NoApiKeySupplied, ApiKeyNotFound, InvalidOptions)
// in renderhook's one error shape.

// Error codes of the v1 API.
const (
	codeNoAPIKey         = "NoApiKeySupplied"
	codeAPIKeyNotFound   = "ApiKeyNotFound"
	codeInvalidOptions   = "InvalidOptions"
	codeInvalidURL       = "InvalidUrl"
	codeInvalidSignature = "InvalidSignature"
	codeRenderFailed     = "RenderFailed"
	codeRenderNotFound   = "RenderNotFound"
)

// v1Authed requires a bearer API token, answering Urlbox's codes.
func (s *Server) v1Authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, r, http.StatusUnauthorized, codeNoAPIKey, "no API key was supplied: send Authorization: Bearer rh_…")
			return
		}
		tok, err := auth.Authenticate(r.Context(), s.cfg.Store, raw)
		if errors.Is(err, auth.ErrInvalidToken) {
			writeError(w, r, http.StatusUnauthorized, codeAPIKeyNotFound, "the API key was not found (or is revoked)")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(withToken(r.Context(), tok)))
	}
}

// v1Fail maps render errors to the v1 API's statuses and codes; anything
// else goes to fail.
func (s *Server) v1Fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, ErrBodyTooSlow):
		s.fail(w, r, err)
	case errors.Is(err, render.ErrInvalidOptions):
		writeError(w, r, http.StatusBadRequest, codeInvalidOptions, clean(err, render.ErrInvalidOptions))
	case errors.Is(err, browser.ErrBlockedURL):
		writeError(w, r, http.StatusBadRequest, codeInvalidURL, "the page is not allowed: "+err.Error())
	case errors.Is(err, browser.ErrPageStatus), errors.Is(err, browser.ErrNavigation), errors.Is(err, browser.ErrSelectorNotFound),
		errors.Is(err, browser.ErrPageScript), errors.Is(err, browser.ErrBadRequest):
		writeError(w, r, http.StatusUnprocessableEntity, codeRenderFailed, renderFailure(err))
	case errors.Is(err, browser.ErrRenderTimeout):
		writeError(w, r, http.StatusUnprocessableEntity, codeRenderFailed, "the page did not finish in time (raise timeout, or check wait_for and wait_until)")
	case errors.Is(err, render.ErrURLRendersDisabled):
		writeError(w, r, http.StatusServiceUnavailable, "unavailable", "URL renders are not enabled on this server")
	default:
		s.fail(w, r, err)
	}
}

// renderFailure says why a render failed, without the render id prefix.
func renderFailure(err error) string {
	var ps *browser.PageStatusError
	if errors.As(err, &ps) {
		return fmt.Sprintf("page answered %d and fail_on_%dxx was true", ps.Status, ps.Status/100)
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "render ") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

// checkV1 refuses, before any browser work, a main-frame URL or a
// webhook_url the egress guard does not allow.
func (s *Server) checkV1(w http.ResponseWriter, r *http.Request, o *render.URLOptions) bool {
	if o.Request.URL != "" {
		if err := s.cfg.CheckURL(o.Request.URL); err != nil {
			writeError(w, r, http.StatusBadRequest, codeInvalidURL, "option \"url\": "+err.Error())
			return false
		}
	}
	if o.WebhookURL != "" {
		if err := s.cfg.CheckURL(o.WebhookURL); err != nil {
			writeError(w, r, http.StatusBadRequest, codeInvalidOptions, "option \"webhook_url\": "+err.Error())
			return false
		}
	}
	return true
}

// v1Body reads and parses a v1 POST body, keeping it for the log.
func (s *Server) v1Body(w http.ResponseWriter, r *http.Request) (*render.URLOptions, bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		s.v1Fail(w, r, err)
		return nil, false
	}
	if h := holder(r); h != nil {
		h.entry.Body = requestlog.SanitizeBody(data)
	}
	o, err := render.ParseV1Body(data)
	if err != nil {
		s.v1Fail(w, r, err)
		return nil, false
	}
	return o, s.checkV1(w, r, o)
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
func (s *Server) v1Sync(w http.ResponseWriter, r *http.Request) {
	o, ok := s.v1Body(w, r)
	if !ok {
		return
	}
	var ttl time.Duration
	if o.TTLSet {
		ttl = o.TTL
	}
	out, err := s.cfg.Renderer.RenderURL(r.Context(), s.urlRequest(r, o, ttl))
	if err != nil {
		s.v1Fail(w, r, err)
		return
	}
	if h := holder(r); h != nil {
		h.written = true
	}
	rec := out.Render
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(out.CacheHit))
	writeJSON(w, http.StatusOK, map[string]any{"renderUrl": out.FileURL, "size": rec.Size, "renderTime": rec.TotalMs})
}

func cacheWord(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}

// v1Async serves POST /v1/render/async and POST /v1/render: queue the
// render as a job and answer 201 with where to poll.
func (s *Server) v1Async(w http.ResponseWriter, r *http.Request) {
	o, ok := s.v1Body(w, r)
	if !ok {
		return
	}
	var ttl time.Duration
	if o.TTLSet {
		ttl = o.TTL
	}
	rec, hit, err := s.cfg.Renderer.EnqueueURL(r.Context(), s.urlRequest(r, o, ttl))
	if err != nil {
		s.v1Fail(w, r, err)
		return
	}
	if h := holder(r); h != nil {
		h.written = true
	}
	w.Header().Set("X-Render-Id", rec.ID)
	w.Header().Set("X-Renderhook-Cache", cacheWord(hit))
	body := map[string]any{"status": "created", "renderId": rec.ID, "statusUrl": s.cfg.Signer.BaseURL() + "/v1/render/" + rec.ID}
	if hit {
		// Answered from the cache: nothing runs, the result is here.
		body["status"], body["renderUrl"], body["size"] = "succeeded", s.cfg.Signer.URL(rec.BlobKey), rec.Size
	}
	writeJSON(w, http.StatusCreated, body)
}

// v1Status serves GET /v1/render/{renderId}.
func (s *Server) v1Status(w http.ResponseWriter, r *http.Request) {
	rec, err := s.cfg.Store.GetRender(r.Context(), spaceID(r), r.PathValue("renderId"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, codeRenderNotFound, "no such render in this space")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
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
func (s *Server) v1Signed(w http.ResponseWriter, r *http.Request) {
	sp, err := s.cfg.Store.GetSpaceByRenderKey(r.Context(), r.PathValue("renderKey"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusUnauthorized, codeAPIKeyNotFound, "the render key was not found")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	valid := false
	for _, secret := range capability.RenderSecrets(sp, s.cfg.Now()) {
		if validHMAC(secret, r.URL.RawQuery, r.PathValue("token")) {
			valid = true
		}
	}
	if !valid {
		writeError(w, r, http.StatusForbidden, codeInvalidSignature, "the token does not match the query: sign the query string exactly as sent")
		return
	}
	r = r.WithContext(withToken(r.Context(), &store.Token{SpaceID: sp.ID}))
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeInvalidOptions, "the query string is malformed")
		return
	}
	o, err := render.ParseV1Query(q, r.PathValue("format"))
	if err != nil {
		s.v1Fail(w, r, err)
		return
	}
	if !s.checkV1(w, r, o) {
		return
	}
	ttl := render.MaxV1TTL
	if o.TTLSet {
		ttl = o.TTL
	}
	out, err := s.cfg.Renderer.RenderURL(r.Context(), s.urlRequest(r, o, ttl))
	if err != nil {
		s.v1Fail(w, r, err)
		return
	}
	if h := holder(r); h != nil {
		h.written = true
	}
	rec := out.Render
	etag := `"` + rec.ID + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("X-Render-Id", rec.ID)
	h.Set("X-Renderhook-Cache", cacheWord(out.CacheHit))
	if ttl > 0 {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(ttl/time.Second), 10))
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	data := out.Data
	if data == nil {
		if data, err = s.cfg.Renderer.OpenRender(r.Context(), rec); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	h.Set("Content-Type", rec.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
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
