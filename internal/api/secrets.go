package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/space"
)

// rotated serves a rotation of the caller's space's credential c
// (POST /api/render-secret/rotate, /api/get-render-token/rotate): the new
// value, shown this once, and when the previous one stops working — the
// server's overlap, or at once with ?revokePrevious=true (after a leak).
// Links signed with a previous render secret (page links and v1 links),
// or a previous GET-render token, keep working until previousValidUntil.
func (s *Server) rotated(c space.Credential) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		revoke := false
		if v := r.URL.Query().Get("revokePrevious"); v != "" {
			var err error
			if revoke, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("%w: revokePrevious must be true or false", render.ErrInvalidInput)
			}
		}
		rot, err := s.spaces.Rotate(r.Context(), c, spaceID(r), s.spaces.Overlap(revoke))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{c.Field(): rot.Value, "previousValidUntil": rot.PreviousValidUntil})
		return nil
	}
}
