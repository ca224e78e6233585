package ui

import (
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

// rotateRenderSecret gives the space a new render secret, shown once; links
// signed with the previous one keep working for the overlap, as with the
// API and the CLI.
func (s *Server) rotateRenderSecret(w http.ResponseWriter, r *http.Request, sess *session) {
	rot, err := capability.RotateRenderSecret(r.Context(), s.cfg.Store, sess.Space.ID, s.cfg.RenderSecretOverlap, time.Now())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("ui render secret rotated", "request_id", requestID(w), "space", sess.Space.ID, "by", sess.Token.Prefix)
	s.renderTokens(w, r, sess, tokensData{Rotated: rot.Value, RotatedWhat: "render secret", PreviousValidUntil: rot.PreviousValidUntil})
}

// rotateGetRenderToken gives the space a new GET-render token (?gt=), shown
// once; the previous one keeps working for the overlap.
func (s *Server) rotateGetRenderToken(w http.ResponseWriter, r *http.Request, sess *session) {
	rot, err := capability.RotateGetRenderToken(r.Context(), s.cfg.Store, sess.Space.ID, s.cfg.RenderSecretOverlap, time.Now())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("ui GET-render token rotated", "request_id", requestID(w), "space", sess.Space.ID, "by", sess.Token.Prefix)
	s.renderTokens(w, r, sess, tokensData{Rotated: rot.Value, RotatedWhat: "GET-render token", PreviousValidUntil: rot.PreviousValidUntil})
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
