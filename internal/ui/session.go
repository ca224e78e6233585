package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/store"
)

// cookieName is the session cookie; its Path is /ui, so the API never sees it.
const cookieName = "rh_ui_session"

// csrfField is the hidden form field every POST carries.
const csrfField = "_csrf"

// session is a signed-in user: the token they signed in with and its space.
type session struct {
	Token *store.Token
	Space *store.Space
	// CSRF is the session's form token: an HMAC of the cookie value, so it
	// needs no storage and changes with every sign-in.
	CSRF string
}

// mac is an HMAC-SHA256 under the console key, separated by purpose so a
// cookie signature can never stand in for a CSRF token or vice versa.
func (s *Server) mac(purpose, msg string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieValue is "<token sha-256 hex>.<expiry unix>.<hmac>".
func (s *Server) cookieValue(tokenHash []byte, exp time.Time) string {
	body := hex.EncodeToString(tokenHash) + "." + strconv.FormatInt(exp.Unix(), 10)
	return body + "." + s.mac("session", body)
}

// parseCookie checks a cookie value's signature and expiry and returns the
// token hash it carries.
func (s *Server) parseCookie(v string, now time.Time) ([]byte, bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return nil, false
	}
	body, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(s.mac("session", body))) {
		return nil, false
	}
	hashHex, expStr, ok := strings.Cut(body, ".")
	if !ok {
		return nil, false
	}
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || now.Unix() >= exp {
		return nil, false
	}
	hash, err := hex.DecodeString(hashHex)
	if err != nil || len(hash) != sha256.Size {
		return nil, false
	}
	return hash, true
}

// errNoSession means the request carries no valid, unexpired session of an
// unrevoked token.
var errNoSession = errors.New("no session")

// session resolves the request's cookie to its token and space. The token
// is looked up on every request, so a revoked token ends its sessions.
func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errNoSession
	}
	hash, ok := s.parseCookie(c.Value, time.Now())
	if !ok {
		return nil, errNoSession
	}
	tok, err := auth.ByHash(r.Context(), s.cfg.Store, hash)
	if errors.Is(err, auth.ErrInvalidToken) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("look up session token: %w", err)
	}
	sp, err := s.cfg.Store.GetSpace(r.Context(), tok.SpaceID)
	if err != nil {
		return nil, fmt.Errorf("load session space: %w", err)
	}
	return &session{Token: tok, Space: sp, CSRF: s.mac("csrf", c.Value)}, nil
}

// secure reports whether the request reached us (or the proxy in front of
// us) over https, so the cookie is marked Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, value string, exp time.Time) {
	// Secure follows how the request arrived (secure): set for https,
	// left off for plain http on localhost, where a Secure cookie is lost.
	c := &http.Cookie{ // #nosec G124 -- HttpOnly and SameSite=Strict always; Secure as above
		Name: cookieName, Value: value, Path: "/ui",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = exp
		c.MaxAge = int(time.Until(exp).Seconds())
	}
	http.SetCookie(w, c)
}

// pageHandler is a console route's code behind a session: it answers,
// or returns the error its guard answers (fail).
type pageHandler func(w http.ResponseWriter, r *http.Request, sess *session) error

// openHandler is a console route's code without a session.
type openHandler func(w http.ResponseWriter, r *http.Request) error

// open adapts h to net/http, answering its error once (fail).
func (s *Server) open(h openHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, nil, err)
		}
	}
}

// serve runs h for sess, answering its error once (fail).
func (s *Server) serve(h pageHandler, w http.ResponseWriter, r *http.Request, sess *session) {
	if err := h(w, r, sess); err != nil {
		s.fail(w, r, sess, err)
	}
}

// page requires a session for a GET; without one it sends the browser to
// the sign-in page.
func (s *Server) page(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if errors.Is(err, errNoSession) {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.serve(h, w, r, sess)
	}
}

// action guards a state-changing POST: it must come from a page of this
// console (Origin or Referer matches the Host), carry a session, and carry
// that session's CSRF token.
func (s *Server) action(h pageHandler) http.HandlerFunc {
	return s.sameOrigin(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if errors.Is(err, errNoSession) {
			s.forbidden(w, r, nil, "Your session has ended. Sign in again, then repeat the action.")
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		got := r.PostFormValue(csrfField)
		if got == "" || !hmac.Equal([]byte(got), []byte(sess.CSRF)) {
			s.forbidden(w, r, sess, "The form's security token is missing or stale. Reload the page and try again.")
			return
		}
		s.serve(h, w, r, sess)
	})
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer) is not
// this host: the browser sets these, and a cross-site form cannot fake them.
// A POST with neither is refused too; the console is for browsers.
func (s *Server) sameOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !fromThisHost(r) {
			s.forbidden(w, r, nil, "This request did not come from a page of this console.")
			return
		}
		h(w, r)
	}
}

func fromThisHost(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" || src == "null" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	// Behind a proxy that rewrites Host, the original host is forwarded. A
	// cross-site browser form cannot set this header, so trusting it here
	// does not let another site's Origin through.
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return fwd != "" && strings.EqualFold(u.Host, strings.TrimSpace(fwd))
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, sess *session, msg string) {
	s.render(w, r, http.StatusForbidden, "error", view{Title: "Refused", S: sess, Data: errorPage{Status: http.StatusForbidden, Message: msg}})
}

type loginData struct {
	Error string
	// TTL is how long a session lasts, e.g. "12h".
	TTL string
}

func (s *Server) loginData(msg string) loginData {
	return loginData{Error: msg, TTL: strings.TrimSuffix(strings.TrimSuffix(s.cfg.SessionTTL.String(), "0s"), "0m")}
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	if sess, err := s.session(r); err == nil && sess != nil {
		http.Redirect(w, r, "/ui/logs", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: s.loginData("")})
	return nil
}

// login checks an API token and starts a session for its space.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	raw := strings.TrimSpace(r.PostFormValue("token"))
	tok, err := auth.Authenticate(r.Context(), s.cfg.Store, raw)
	if errors.Is(err, auth.ErrInvalidToken) {
		s.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Data: s.loginData("That token is not valid, or it has been revoked.")})
		return nil
	}
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	exp := time.Now().Add(s.cfg.SessionTTL)
	s.setCookie(w, r, s.cookieValue(tok.Hash, exp), exp)
	s.log.Info("ui sign-in", "request_id", requestID(w), "space", tok.SpaceID, "token", tok.Prefix)
	http.Redirect(w, r, "/ui/logs", http.StatusSeeOther)
	return nil
}

// logout clears the cookie. Sessions are stateless, so a copy of the cookie
// stays valid until it expires; revoking the token ends it for good.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *session) error {
	s.setCookie(w, r, "", time.Time{})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}
