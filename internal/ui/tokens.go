package ui

import (
	"context"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
)

type tokensData struct {
	Tokens []*store.Token
	// Current is the id of the token this session signed in with.
	Current string
	// Secret is a token just created, shown this once.
	Secret string
	// Rotated is a render secret or GET-render token just rotated, shown
	// this once, with what it is and until when the previous one works.
	Rotated, RotatedWhat string
	PreviousValidUntil   time.Time
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderTokens(w, r, sess, tokensData{})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, sess *session, d tokensData) {
	ts, err := s.cfg.Store.ListTokens(r.Context(), sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Newest first.
	for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
		ts[i], ts[j] = ts[j], ts[i]
	}
	d.Tokens, d.Current = ts, sess.Token.ID
	s.render(w, r, http.StatusOK, "tokens", view{Title: "API tokens", Nav: "tokens", S: sess, Data: d})
}

// rotate gives the session's space a new value of what (a render secret
// or a GET-render token), shown once; the previous one keeps working for
// the overlap, as with the API and the CLI.
func (s *Server) rotate(what string, rotate func(context.Context, store.Store, string, time.Duration, time.Time) (*capability.Rotation, error)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		rot, err := rotate(r.Context(), s.cfg.Store, sess.Space.ID, s.cfg.RenderSecretOverlap, time.Now())
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		s.log.Info("ui "+what+" rotated", "request_id", requestID(w), "space", sess.Space.ID, "by", sess.Token.Prefix)
		s.renderTokens(w, r, sess, tokensData{Rotated: rot.Value, RotatedWhat: what, PreviousValidUntil: rot.PreviousValidUntil})
	}
}

// rotateRenderSecret gives the space a new render secret (see rotate).
func (s *Server) rotateRenderSecret(w http.ResponseWriter, r *http.Request, sess *session) {
	s.rotate("render secret", capability.RotateRenderSecret)(w, r, sess)
}

// rotateGetRenderToken gives the space a new GET-render token, ?gt= (see
// rotate).
func (s *Server) rotateGetRenderToken(w http.ResponseWriter, r *http.Request, sess *session) {
	s.rotate("GET-render token", capability.RotateGetRenderToken)(w, r, sess)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, sess *session) {
	secret, tok, err := auth.CreateToken(r.Context(), s.cfg.Store, sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.Info("ui token created", "request_id", requestID(w), "space", sess.Space.ID, "token", tok.Prefix, "by", sess.Token.Prefix)
	s.renderTokens(w, r, sess, tokensData{Secret: secret})
}

// revokeToken revokes a token of the session's space. Revoking the token
// this session signed in with ends the session, so the browser goes to the
// sign-in page.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if err := s.cfg.Store.RevokeToken(r.Context(), sess.Space.ID, id); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("ui token revoked", "request_id", requestID(w), "space", sess.Space.ID, "token_id", id, "by", sess.Token.Prefix)
	if id == sess.Token.ID {
		s.setCookie(w, r, "", time.Time{})
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/tokens?done=revoked", http.StatusSeeOther)
}
