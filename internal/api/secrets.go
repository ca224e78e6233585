package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
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

// rotateFunc is capability.RotateRenderSecret or RotateGetRenderToken.
type rotateFunc func(ctx context.Context, st store.Store, spaceID string, overlap time.Duration, now time.Time) (*capability.Rotation, error)

// rotated answers a rotation of the caller's space: the new value under
// field, shown this once, and when the previous one stops working.
func (s *Server) rotated(field string, rotate rotateFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		overlap, err := s.rotationOverlap(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rot, err := rotate(r.Context(), s.cfg.Store, spaceID(r), overlap, s.cfg.Now())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{field: rot.Value, "previousValidUntil": rot.PreviousValidUntil})
	}
}

// rotateRenderSecret serves POST /api/render-secret/rotate: a new render
// secret, answered this once; links signed with the previous one (page
// links and v1 links) keep working until previousValidUntil.
func (s *Server) rotateRenderSecret(w http.ResponseWriter, r *http.Request) {
	s.rotated("renderSecret", capability.RotateRenderSecret)(w, r)
}

// rotateGetRenderToken serves POST /api/get-render-token/rotate: a new
// GET-render token (?gt=), answered this once; the previous one keeps
// working until previousValidUntil.
func (s *Server) rotateGetRenderToken(w http.ResponseWriter, r *http.Request) {
	s.rotated("getRenderToken", capability.RotateGetRenderToken)(w, r)
}
