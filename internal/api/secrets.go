package api

import (
	"net/http"

	"github.com/renderhook/renderhook/internal/capability"
)

// rotateRenderSecret serves POST /api/render-secret/rotate: a new render
// secret, answered this once; links signed with the previous one (page
// links and v1 links) keep working until previousValidUntil.
func (s *Server) rotateRenderSecret(w http.ResponseWriter, r *http.Request) {
	rot, err := capability.RotateRenderSecret(r.Context(), s.cfg.Store, spaceID(r), s.cfg.RenderSecretOverlap, s.cfg.Now())
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
	rot, err := capability.RotateGetRenderToken(r.Context(), s.cfg.Store, spaceID(r), s.cfg.RenderSecretOverlap, s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"getRenderToken": rot.Value, "previousValidUntil": rot.PreviousValidUntil})
}
