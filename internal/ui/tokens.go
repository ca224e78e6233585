package ui

import (
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/store"
)

type tokensData struct {
	Tokens []*store.Token
	// Current is the id of the token this session signed in with.
	Current string
	// Secret is a token just created, shown this once.
	Secret string
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderTokens(w, r, sess, "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, sess *session, secret string) {
	ts, err := s.cfg.Store.ListTokens(r.Context(), sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Newest first.
	for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
		ts[i], ts[j] = ts[j], ts[i]
	}
	s.render(w, r, http.StatusOK, "tokens", view{Title: "API tokens", Nav: "tokens", S: sess, Data: tokensData{
		Tokens: ts, Current: sess.Token.ID, Secret: secret,
	}})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, sess *session) {
	secret, tok, err := auth.CreateToken(r.Context(), s.cfg.Store, sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.Info("ui token created", "request_id", requestID(w), "space", sess.Space.ID, "token", tok.Prefix, "by", sess.Token.Prefix)
	s.renderTokens(w, r, sess, secret)
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
