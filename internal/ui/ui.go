// Package ui is renderhook's web console under /ui: a space's request logs,
// webhook endpoints and deliveries, usage, templates with live previews,
// and API tokens, as server-rendered pages (html/template, embedded assets,
// no build step).
//
// Sessions are stateless: the cookie carries the SHA-256 of the API token
// the user signed in with, an expiry and an HMAC over both, and every
// request resolves the token again, so revoking the token ends the session.
// Every page and action is scoped to the token's space exactly like the
// API: another space's ids answer 404.
package ui

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/endpoint"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/space"
	"github.com/renderhook/renderhook/internal/store"
)

//go:embed web
var webFS embed.FS

// Defaults.
const (
	DefaultSessionTTL     = 12 * time.Hour
	DefaultUsageScanLimit = 20000
)

// Config configures the console.
type Config struct {
	Store    store.Store
	Renderer *render.Service
	Signer   *blob.Signer
	// Notify sends test events and redeliveries.
	Notify *delivery.Service
	// CheckURL validates a webhook endpoint URL, the same check the API
	// applies (the egress guard's request-time check).
	CheckURL func(string) error
	// SessionTTL is how long a sign-in lasts; default DefaultSessionTTL.
	SessionTTL time.Duration
	// UsageScanLimit caps the log entries the usage page reads to draw its
	// charts; default DefaultUsageScanLimit.
	UsageScanLimit int
	// RenderSecretOverlap is how long a render secret or GET-render token
	// rotated here keeps working; default capability.DefaultOverlap.
	RenderSecretOverlap time.Duration
	Logger              *slog.Logger
}

// Server serves the console. It is an http.Handler for the /ui/ subtree.
type Server struct {
	cfg       Config
	log       *slog.Logger
	endpoints *endpoint.Service
	spaces    *space.Service
	key       []byte // signs session cookies and CSRF tokens
	pages     map[string]*template.Template
	assets    map[string]asset
	csp       string
	mux       *http.ServeMux
}

type asset struct {
	data    []byte
	ctype   string
	version string
}

// New validates cfg, loads (or creates) the session key from the store's
// settings, and parses the embedded templates.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Renderer == nil || cfg.Signer == nil || cfg.Notify == nil || cfg.CheckURL == nil {
		return nil, errors.New("ui: Store, Renderer, Signer, Notify and CheckURL are required")
	}
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, DefaultSessionTTL)
	cfg.UsageScanLimit = cmp.Or(cfg.UsageScanLimit, DefaultUsageScanLimit)
	s := &Server{
		cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()).With("component", "ui"),
		endpoints: endpoint.New(cfg.Store, cfg.Notify, cfg.CheckURL),
		spaces:    space.New(cfg.Store, cfg.RenderSecretOverlap),
	}

	var rnd [32]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("read random: %w", err)
	}
	key, err := cfg.Store.Setting(ctx, "ui_session_key", hex.EncodeToString(rnd[:]))
	if err != nil {
		return nil, fmt.Errorf("load ui session key: %w", err)
	}
	if s.key, err = hex.DecodeString(key); err != nil || len(s.key) < 16 {
		return nil, fmt.Errorf("ui session key setting is not 16+ bytes of hex")
	}
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	if err := s.parsePages(); err != nil {
		return nil, err
	}
	s.csp = s.policy(nil)
	s.mux = s.routes()
	return s, nil
}

// Auth is what a console route asks of its caller before its handler
// runs.
type Auth string

// The kinds of authentication a console route can ask for.
const (
	// AuthNone: anyone (assets, the sign-in form, redirects, not found).
	AuthNone Auth = "none"
	// AuthOrigin: a POST from a page of this console (Origin or Referer
	// of this host), no session: signing in (sameOrigin).
	AuthOrigin Auth = "origin"
	// AuthSession: a GET with a session cookie of an unrevoked token;
	// without one the browser is sent to the sign-in page (page).
	AuthSession Auth = "session"
	// AuthAction: a state-changing POST with a session, its CSRF token and
	// an Origin of this host (action).
	AuthAction Auth = "action"
)

// Route is one entry of the console's route table as tests see it.
type Route = reply.Route[Auth]

// route is a Route with its handler: exactly one of fn (AuthNone,
// AuthOrigin) or page (AuthSession, AuthAction) is set, and the table's
// Auth is what wraps it, so the declared authentication is the one
// enforced. Both return their error to the guard, which answers it once
// (fail).
type route struct {
	Route
	fn   openHandler
	page pageHandler
}

// table is the console's whole route table, top to bottom.
func (s *Server) table() []route {
	open := func(method, pattern string, a Auth, fn openHandler) route {
		return route{Route: Route{Method: method, Pattern: pattern, Auth: a}, fn: fn}
	}
	get := func(pattern string, h pageHandler) route {
		return route{Route: Route{Method: "GET", Pattern: pattern, Auth: AuthSession}, page: h}
	}
	post := func(pattern string, h pageHandler) route {
		return route{Route: Route{Method: "POST", Pattern: pattern, Auth: AuthAction}, page: h}
	}
	return []route{
		open("GET", "/ui/{$}", AuthNone, func(w http.ResponseWriter, r *http.Request) error {
			http.Redirect(w, r, "/ui/logs", http.StatusSeeOther)
			return nil
		}),
		open("GET", "/ui/static/{name}", AuthNone, s.static),

		open("GET", "/ui/login", AuthNone, s.loginForm),
		open("POST", "/ui/login", AuthOrigin, s.login),
		post("/ui/logout", s.logout),

		get("/ui/logs", s.listLogs),
		get("/ui/logs/{requestId}", s.showLog),

		get("/ui/webhooks", s.listEndpoints),
		post("/ui/webhooks", s.createEndpoint),
		get("/ui/webhooks/{id}", s.showEndpoint),
		post("/ui/webhooks/{id}/enable", s.setEnabled(true, "", "enabled")),
		post("/ui/webhooks/{id}/disable", s.setEnabled(false, "disabled in the console", "disabled")),
		post("/ui/webhooks/{id}/rotate", s.rotateEndpoint),
		post("/ui/webhooks/{id}/test", s.testEndpoint),
		post("/ui/webhooks/{id}/delete", s.deleteEndpoint),
		get("/ui/webhooks/deliveries", s.listDeliveries),
		get("/ui/webhooks/deliveries/{id}", s.showDelivery),
		post("/ui/webhooks/deliveries/{id}/redeliver", s.redeliver),

		get("/ui/usage", s.usage),

		get("/ui/templates", s.listTemplates),
		post("/ui/templates/{id}/render-type", s.setRenderType),
		get("/ui/pages/{id}", s.showPage),
		get("/ui/preview/{pageId}", s.preview),

		get("/ui/tokens", s.listTokens),
		post("/ui/tokens", s.createToken),
		post("/ui/tokens/{id}/revoke", s.revokeToken),
		post("/ui/render-secret/rotate", s.rotate(space.RenderSecret)),
		post("/ui/get-render-token/rotate", s.rotate(space.GetRenderToken)),

		open("", "/ui/", AuthNone, func(w http.ResponseWriter, r *http.Request) error {
			sess, _ := s.session(r)
			s.notFound(w, r, sess)
			return nil
		}),
	}
}

// Routes lists the console's route table (method, pattern,
// authentication), in order, for tests that must cover every route (the
// authorization matrix).
func (s *Server) Routes() []Route {
	rs := s.table()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}

// routes registers the route table on a mux, each handler wrapped in the
// guard its Auth names.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range s.table() {
		var h http.HandlerFunc
		switch r.Auth {
		case AuthNone:
			h = s.open(r.fn)
		case AuthOrigin:
			h = s.sameOrigin(s.open(r.fn))
		case AuthSession:
			h = s.page(r.page)
		case AuthAction:
			h = s.action(r.page)
		default:
			panic("ui: route " + r.Pattern + " has unknown auth " + string(r.Auth))
		}
		mux.HandleFunc(r.MuxPattern(), h)
	}
	return mux
}

// ServeHTTP serves every /ui/ request with the console's security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// policy is the Content-Security-Policy of the console: scripts and
// styles from the console only (no inline script or style), images and
// PDFs from the console, the public URL, and the origins of the file URLs
// a page shows.
func (s *Server) policy(fileURLs []string) string {
	files := []string{"'self'"}
	add := func(raw string) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return
		}
		o := u.Scheme + "://" + u.Host
		if !slices.Contains(files, o) {
			files = append(files, o)
		}
	}
	add(s.cfg.Signer.BaseURL())
	for _, f := range fileURLs {
		add(f)
	}
	src := strings.Join(files, " ")
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + src,
		"object-src " + src,
		"frame-src " + src,
		"connect-src 'self'",
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (s *Server) loadAssets() error {
	s.assets = map[string]asset{}
	return fs.WalkDir(webFS, "web/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(p)]
		s.assets[path.Base(p)] = asset{data: data, ctype: cmp.Or(ctype, "application/octet-stream"), version: hex.EncodeToString(sum[:6])}
		return nil
	})
}

// static serves an embedded asset. URLs carry the content hash (see the
// asset template function), so they can be cached for long.
func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	a, ok := s.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(a.data)
	return nil
}

// view is what every page template executes with.
type view struct {
	// Page is the template's name, set by render (body data-page).
	Page  string
	Title string
	Nav   string // the active navigation entry
	S     *session
	Flash string
	Data  any
	// files are the file URLs the page shows; their origins are allowed
	// as image and PDF sources, since the file store may serve them from
	// elsewhere than the console (an S3 bucket).
	files []string
}

// CSRF is the session's form token, for the templates.
func (v view) CSRF() string {
	if v.S == nil {
		return ""
	}
	return v.S.CSRF
}

func (s *Server) parsePages() error {
	funcs := template.FuncMap{
		"asset": func(name string) string {
			return "/ui/static/" + name + "?v=" + s.assets[name].version
		},
		"isPDF":         func(key string) bool { return strings.HasSuffix(key, ".pdf") },
		"when":          when,
		"ms":            func(n int64) string { return fmt.Sprintf("%d ms", n) },
		"size":          humanSize,
		"statusClass":   statusClass,
		"stateClass":    stateClass,
		"deliveryClass": deliveryClass,
		"prettyJSON":    prettyJSON,
		"queryPairs":    queryPairs,
		"join":          strings.Join,
		"add":           func(a, b int) int { return a + b },
	}
	entries, err := fs.Glob(webFS, "web/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, p := range entries {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(webFS, "web/layout.html", p)
		if err != nil {
			return fmt.Errorf("parse ui template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := s.pages[name]
	if !ok {
		s.serverError(w, r, fmt.Errorf("no ui template %q", name))
		return
	}
	v.Page = name
	if v.Flash == "" {
		v.Flash = flashes[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.serverError(w, r, fmt.Errorf("execute ui template %s: %w", name, err))
		return
	}
	if len(v.files) > 0 {
		w.Header().Set("Content-Security-Policy", s.policy(v.files))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages show secrets once and per-space data: never cache them.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// flashes are the notices a redirect after an action can show (?done=…);
// fixed texts, so nothing from the URL is reflected into the page.
var flashes = map[string]string{
	"enabled":     "The endpoint is enabled.",
	"disabled":    "The endpoint is disabled; it receives no events until you enable it.",
	"deleted":     "The endpoint is deleted.",
	"redelivered": "The delivery is queued again, as the same message (same webhook-id).",
	"test":        "A webhook.test event is queued; its attempts appear below.",
	"revoked":     "The token is revoked; requests with it now answer 401.",
	"render-type": "The template's render type is saved; its next renders use it.",
}

// requestID is the id the API middleware gave this request (it sets the
// X-Request-Id header before calling the console).
func requestID(w http.ResponseWriter) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	return store.NewID("req")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", S: sess, Data: errorPage{
		Status: http.StatusNotFound, Message: "There is nothing here in this space.",
	}})
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	id := requestID(w)
	s.log.Error("ui request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, "Internal error; see the server log for request %s.\n", id)
}

// fail answers the error a handler returned, once, as the console's
// dialect of reply's table has it: a 404 (another space's record, or
// none) is the not-found page, anything else a 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if reply.For(reply.Console, err).Status == http.StatusNotFound {
		s.notFound(w, r, sess)
		return
	}
	s.serverError(w, r, err)
}

type errorPage struct {
	Status  int
	Message string
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func humanSize(n int64) string {
	switch {
	case n <= 0:
		return "—"
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

func statusClass(code int) string {
	switch {
	case code == 0:
		return "st-none"
	case code < 300:
		return "st-ok"
	case code < 400:
		return "st-info"
	case code < 500:
		return "st-warn"
	}
	return "st-err"
}

// classes colours a state by a table; anything else is st-none.
func classes(m map[string]string) func(string) string {
	return func(state string) string {
		if c, ok := m[state]; ok {
			return c
		}
		return "st-none"
	}
}

// stateClass colours callback states.
var stateClass = classes(map[string]string{
	store.CallbackSucceeded: "st-ok", store.CallbackFailed: "st-err", store.CallbackRetrying: "st-warn",
})

// deliveryClass colours delivery states: failed means more attempts are
// due, exhausted that none are.
var deliveryClass = classes(map[string]string{
	store.DeliverySucceeded: "st-ok", store.DeliveryExhausted: "st-err", store.DeliveryFailed: "st-warn",
})
