package ui

import (
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/space"
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

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderTokens(w, r, sess, tokensData{})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, sess *session, d tokensData) error {
	ts, err := s.spaces.Tokens(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	d.Tokens, d.Current = ts, sess.Token.ID
	s.render(w, r, http.StatusOK, "tokens", view{Title: "API tokens", Nav: "tokens", S: sess, Data: d})
	return nil
}

// rotate gives the session's space a new value of c (its render secret
// or GET-render token), shown once; the previous one keeps working for
// the overlap, as with the API and the CLI.
func (s *Server) rotate(c space.Credential) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) error {
		rot, err := s.spaces.Rotate(r.Context(), c, sess.Space.ID, s.spaces.Overlap(false))
		if err != nil {
			return err
		}
		s.log.Info("ui "+c.Label()+" rotated", "request_id", requestID(w), "space", sess.Space.ID, "by", sess.Token.Prefix)
		return s.renderTokens(w, r, sess, tokensData{Rotated: rot.Value, RotatedWhat: c.Label(), PreviousValidUntil: rot.PreviousValidUntil})
	}
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, sess *session) error {
	secret, tok, err := s.spaces.CreateToken(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	s.log.Info("ui token created", "request_id", requestID(w), "space", sess.Space.ID, "token", tok.Prefix, "by", sess.Token.Prefix)
	return s.renderTokens(w, r, sess, tokensData{Secret: secret})
}

// revokeToken revokes a token of the session's space. Revoking the token
// this session signed in with ends the session, so the browser goes to the
// sign-in page.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	if err := s.spaces.RevokeToken(r.Context(), sess.Space.ID, id); err != nil {
		return err
	}
	s.log.Info("ui token revoked", "request_id", requestID(w), "space", sess.Space.ID, "token_id", id, "by", sess.Token.Prefix)
	if id == sess.Token.ID {
		s.setCookie(w, r, "", time.Time{})
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/ui/tokens?done=revoked", http.StatusSeeOther)
	return nil
}
