package api

import (
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
	if err := o.CheckLink(); err != nil {
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
	return s.v1Answer(w, r, out, o, render.ResponseBinary)
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
	if !capability.ValidV1Link(sp, s.cfg.Now(), r.URL.RawQuery, r.PathValue("token")) {
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
