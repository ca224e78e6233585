package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
)

// rotationOverlap is how long a rotated-out value keeps working: the
// server's overlap, or none with ?revokePrevious=true (after a leak).
func (s *Server) rotationOverlap(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("revokePrevious")
	if v == "" {
		return s.cfg.RenderSecretOverlap, nil
	}
	revoke, err := strconv.ParseBool(v)
	if err != nil {
		return 0, fmt.Errorf("%w: revokePrevious must be true or false", render.ErrInvalidInput)
	}
	if revoke {
		return capability.NoOverlap, nil
	}
	return s.cfg.RenderSecretOverlap, nil
}

// rotateRenderSecret serves POST /api/render-secret/rotate: a new render
// secret, answered this once; links signed with the previous one (page
// links and v1 links) keep working until previousValidUntil.
func (s *Server) rotateRenderSecret(w http.ResponseWriter, r *http.Request) {
	overlap, err := s.rotationOverlap(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rot, err := capability.RotateRenderSecret(r.Context(), s.cfg.Store, spaceID(r), overlap, s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"renderSecret": rot.Value, "previousValidUntil": rot.PreviousValidUntil})
}

// rotateGetRenderToken serves POST /api/get-render-token/rotate: a new
// GET-render token (?gt=), answered this once; the previous one keeps
// working until previousValidUntil.
func (s *Server) rotateGetRenderToken(w http.ResponseWriter, r *http.Request) {
	overlap, err := s.rotationOverlap(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rot, err := capability.RotateGetRenderToken(r.Context(), s.cfg.Store, spaceID(r), overlap, s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"getRenderToken": rot.Value, "previousValidUntil": rot.PreviousValidUntil})
}
