// Package api is renderhook's HTTP interface: the route table, auth, the
// JSON error shape, and handlers that translate between HTTP and the
// domain packages (render, store, blob).
package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/endpoint"
	"github.com/renderhook/renderhook/internal/httpx"
	"github.com/renderhook/renderhook/internal/page"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/space"
	"github.com/renderhook/renderhook/internal/store"
)

// DefaultMaxBodyBytes is the largest request body accepted (413 beyond).
const DefaultMaxBodyBytes = 10 << 20

// Config configures the HTTP API.
type Config struct {
	Store    store.Store
	Renderer *render.Service
	Bucket   blob.Bucket
	Signer   *blob.Signer
	// Notify sends webhooks (endpoints, tests, redeliveries).
	Notify *delivery.Service
	// CheckURL validates a client-supplied outbound URL (the egress
	// guard's request-time check).
	CheckURL func(string) error
	// Ready reports whether the server can render (for /healthz).
	Ready func() bool
	// Sandboxed reports whether Chromium runs with its sandbox on, which
	// /healthz says as "sandbox" (false where the kernel cannot sandbox).
	Sandboxed func() bool
	// MaxBodyBytes bounds request bodies; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Logger       *slog.Logger
	Version      string

	// UI, when set, serves the web console under /ui/.
	UI http.Handler

	// RenderSecretOverlap is how long a rotated-out render secret or
	// GET-render token keeps working; default capability.DefaultOverlap.
	RenderSecretOverlap time.Duration
	// Now is the clock capabilities are checked against; default time.Now.
	Now func() time.Time
	// SyncRedirectAfter is how long POST /v1/render/sync waits for its
	// render: past it the answer is a 307 to the render's status URL and
	// the render goes on as an async one (Urlbox's ~95 s); default
	// DefaultSyncRedirectAfter, negative for never.
	SyncRedirectAfter time.Duration
	// Sealer seals the spaces' storage secret keys (PUT /api/storage);
	// without a key such a secret is refused.
	Sealer *sealed.Ring
}

// DefaultSyncRedirectAfter is render's: Urlbox's 95 s.
const DefaultSyncRedirectAfter = render.DefaultSyncRedirectAfter

// WithDefaults fills in the defaults of unset fields.
func (c Config) WithDefaults() Config {
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.RenderSecretOverlap = cmp.Or(c.RenderSecretOverlap, capability.DefaultOverlap)
	c.SyncRedirectAfter = cmp.Or(c.SyncRedirectAfter, DefaultSyncRedirectAfter)
	return c
}

// Server holds the handlers' dependencies: the domain services they
// call, which hold every rule.
type Server struct {
	cfg       Config
	log       *slog.Logger
	pages     *page.Service
	endpoints *endpoint.Service
	spaces    *space.Service
}

// New validates cfg and returns the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Renderer == nil || cfg.Bucket == nil || cfg.Signer == nil || cfg.Notify == nil || cfg.CheckURL == nil {
		return nil, errors.New("api: Store, Renderer, Bucket, Signer, Notify and CheckURL are required")
	}
	cfg = cfg.WithDefaults()
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.Sandboxed == nil {
		cfg.Sandboxed = func() bool { return false }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()),
		pages:     page.New(cfg.Store),
		endpoints: endpoint.New(cfg.Store, cfg.Notify, cfg.CheckURL),
		spaces:    space.New(cfg.Store, cfg.RenderSecretOverlap).WithClock(cfg.Now).WithStorage(cfg.Sealer, cfg.CheckURL),
	}, nil
}

// Auth is what a route asks of its caller before its handler runs.
type Auth string

// The kinds of authentication a route can ask for.
const (
	// AuthNone: anyone (health, the not-found answer).
	AuthNone Auth = "none"
	// AuthToken: an API token of the space (Authorization: Bearer rh_…),
	// checked by authed before the handler.
	AuthToken Auth = "token"
	// AuthV1Token: an API token, answered in the v1 API's error dialect
	// (v1Authed).
	AuthV1Token Auth = "v1-token"
	// AuthPageRender: an API token, or a capability of the page's space
	// (sig or gt), or none for pages whose template is public; decided by
	// the handler (renderGET).
	AuthPageRender Auth = "page-render"
	// AuthV1Signed: a render key and an HMAC of the query under the
	// space's render secret (v1Signed).
	AuthV1Signed Auth = "v1-signed"
	// AuthFileSignature: a signature of the file key by the server's file
	// URL key (getFile).
	AuthFileSignature Auth = "file-signature"
	// AuthConsole: the web console's subtree, whose routes have their own
	// table (ui.Server.Routes): a session cookie, CSRF token and Origin.
	AuthConsole Auth = "console"
)

// Route is one entry of the route table as tests and documentation see
// it.
type Route = reply.Route[Auth]

// route is a Route with its handler: fn, or for the console's subtree
// the console itself (sub). For AuthToken and AuthV1Token the table's
// Auth is what wraps the handler, so the declared authentication is the
// one enforced, and the Auth names the dialect its errors are answered in
// (dialect); logged routes write a request-log entry for their space
// (api.logged) around the authentication.
type route struct {
	Route
	logged bool
	fn     handler
	sub    http.Handler
}

// dialect is the error vocabulary of routes that ask for a: the v1 API's
// for its routes, the JSON API's for the rest.
func (a Auth) dialect() reply.Dialect {
	if a == AuthV1Token || a == AuthV1Signed {
		return reply.V1
	}
	return reply.JSON
}

// routes is the whole route table, top to bottom.
func (s *Server) routes() []route {
	h := func(method, pattern string, a Auth, fn handler) route {
		return route{Route: Route{Method: method, Pattern: pattern, Auth: a}, fn: fn}
	}
	logged := func(r route) route { r.logged = true; return r }
	rs := []route{
		h("GET", "/healthz", AuthNone, s.healthz),
		h("GET", "/openapi.json", AuthNone, s.openAPI), // openapi.go
		h("GET", "/docs", AuthNone, s.docsPage),
		h("GET", "/files/{key...}", AuthFileSignature, s.getFile),

		logged(h("GET", "/api/render/{pageId}", AuthPageRender, s.renderGET)),
		logged(h("POST", "/api/render", AuthToken, s.renderPOST)),

		h("GET", "/api/renders/{renderId}", AuthToken, s.renderStatus),

		// The Urlbox-compatible v1 API (v1.go).
		logged(h("POST", "/v1/render/sync", AuthV1Token, s.v1Sync)),
		logged(h("POST", "/v1/render/async", AuthV1Token, s.v1Async)),
		logged(h("POST", "/v1/render", AuthV1Token, s.v1Async)),
		h("GET", "/v1/render/{renderId}", AuthV1Token, s.v1Status),
		h("POST", "/v1/render/{renderId}", AuthV1Token, s.v1Status), // a sync render's 307, followed
		logged(h("GET", "/v1/{renderKey}/{token}/{format}", AuthV1Signed, s.v1Signed)),

		h("POST", "/api/webhooks", AuthToken, s.createWebhook),
		h("GET", "/api/webhooks", AuthToken, s.listWebhooks),
		h("GET", "/api/webhooks/{id}", AuthToken, s.getWebhook),
		h("PATCH", "/api/webhooks/{id}", AuthToken, s.patchWebhook),
		h("DELETE", "/api/webhooks/{id}", AuthToken, s.deleteWebhook),
		h("POST", "/api/webhooks/{id}/rotate-secret", AuthToken, s.rotateWebhook),
		h("POST", "/api/webhooks/{id}/test", AuthToken, s.testWebhook),
		h("POST", "/api/webhook-secret/rotate", AuthToken, s.rotateSpaceSecret),
		h("POST", "/api/render-secret/rotate", AuthToken, s.rotated(space.RenderSecret)),
		h("POST", "/api/get-render-token/rotate", AuthToken, s.rotated(space.GetRenderToken)),
		h("GET", "/api/webhook-deliveries", AuthToken, s.listDeliveries),
		h("GET", "/api/webhook-deliveries/{id}", AuthToken, s.getDelivery),
		h("POST", "/api/webhook-deliveries/{id}/redeliver", AuthToken, s.redeliver),

		h("GET", "/api/logs", AuthToken, s.listLogs),
		h("GET", "/api/logs/{requestId}", AuthToken, s.getLog),
		h("GET", "/api/usage", AuthToken, s.usage),

		h("PUT", "/api/storage", AuthToken, s.putStorage), // storage.go
		h("GET", "/api/storage", AuthToken, s.getStorage),
		h("DELETE", "/api/storage", AuthToken, s.deleteStorage),

		h("POST", "/api/templates", AuthToken, s.createTemplate),
		h("GET", "/api/templates", AuthToken, s.listTemplates),
		h("GET", "/api/templates/{id}", AuthToken, s.getTemplate),
		h("PUT", "/api/templates/{id}", AuthToken, s.updateTemplate),
		h("DELETE", "/api/templates/{id}", AuthToken, s.deleteTemplate),

		h("POST", "/api/pages", AuthToken, s.createPage),
		h("GET", "/api/pages", AuthToken, s.listPages),
		h("GET", "/api/pages/{id}", AuthToken, s.getPage),
		h("PUT", "/api/pages/{id}", AuthToken, s.updatePage),
		h("DELETE", "/api/pages/{id}", AuthToken, s.deletePage),
		h("POST", "/api/pages/{id}/publish", AuthToken, s.publishPage),
	}
	if s.cfg.UI != nil {
		rs = append(rs, route{Route: Route{Pattern: "/ui/", Auth: AuthConsole}, sub: s.cfg.UI})
	}
	return append(rs, h("", "/", AuthNone, func(w http.ResponseWriter, r *http.Request) error {
		return reply.NoRoute(r.Method, r.URL.Path)
	}))
}

// Routes lists the route table (method, pattern, authentication), in
// order, for tests that must cover every route (the authorization matrix)
// and for documentation.
func (s *Server) Routes() []Route {
	rs := s.routes()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}

// Handler returns the whole route table, wrapped in the request-id,
// body-limit and panic middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		h := r.sub
		if h == nil {
			fn := r.fn
			switch r.Auth {
			case AuthToken:
				fn = s.authed(fn)
			case AuthV1Token:
				fn = s.v1Authed(fn)
			}
			h = s.serve(r.Auth.dialect(), fn)
		}
		if r.logged {
			h = s.logged(h)
		}
		mux.Handle(r.MuxPattern(), h)
	}
	return s.middleware(mux)
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keySpaceID
	keyToken
	keyLog
)

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

func spaceID(r *http.Request) string {
	id, _ := r.Context().Value(keySpaceID).(string)
	return id
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := store.NewID("req")
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		rec := httpx.NewStatusRecorder(w)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "request_id", id, "panic", p)
				if !rec.Wrote {
					writeError(rec, r, http.StatusInternalServerError, "internal_error", internalMessage(r))
				}
			}
			s.log.DebugContext(r.Context(), "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.Status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Ready() {
		return reply.ErrNotReady
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version, "sandbox": s.cfg.Sandboxed()})
	return nil
}
