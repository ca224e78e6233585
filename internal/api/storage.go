package api

import (
	"net/http"

	"github.com/renderhook/renderhook/internal/space"
)

// The space's own bucket (PUT/GET/DELETE /api/storage): where v1 renders
// with use_s3 go when the request names no bucket or credentials. The
// secret key is sealed as it arrives and never shown again; reads show
// the access key id by its last four characters only. Every API token of
// the space is its owner's (tokens have no roles), and only tokens reach
// these routes: not signed links, GET-render tokens or file signatures.

func (s *Server) putStorage(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusOK, func(in space.StorageSettings) (*space.StorageView, error) {
		return s.spaces.SetStorage(r.Context(), spaceID(r), in)
	}, shown)
}

func (s *Server) getStorage(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, shown)(s.spaces.Storage(r.Context(), spaceID(r)))
}

func (s *Server) deleteStorage(w http.ResponseWriter, r *http.Request) error {
	if err := s.spaces.DeleteStorage(r.Context(), spaceID(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func shown(v *space.StorageView) *space.StorageView { return v }
