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
	"github.com/renderhook/renderhook/internal/render"
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
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg and returns the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Renderer == nil || cfg.Bucket == nil || cfg.Signer == nil || cfg.Notify == nil || cfg.CheckURL == nil {
		return nil, errors.New("api: Store, Renderer, Bucket, Signer, Notify and CheckURL are required")
	}
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	cfg.RenderSecretOverlap = cmp.Or(cfg.RenderSecretOverlap, capability.DefaultOverlap)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default())}, nil
}

// Handler returns the whole route table, wrapped in the request-id,
// body-limit and panic middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /files/{key...}", s.getFile)

	mux.HandleFunc("GET /api/render/{pageId}", s.logged(s.renderGET))
	mux.HandleFunc("POST /api/render", s.logged(s.authed(s.renderPOST)))

	mux.HandleFunc("GET /api/renders/{renderId}", s.authed(s.renderStatus))

	// The Urlbox-compatible v1 API (v1.go).
	mux.HandleFunc("POST /v1/render/sync", s.logged(s.v1Authed(s.v1Sync)))
	mux.HandleFunc("POST /v1/render/async", s.logged(s.v1Authed(s.v1Async)))
	mux.HandleFunc("POST /v1/render", s.logged(s.v1Authed(s.v1Async)))
	mux.HandleFunc("GET /v1/render/{renderId}", s.v1Authed(s.v1Status))
	mux.HandleFunc("GET /v1/{renderKey}/{token}/{format}", s.logged(s.v1Signed))

	mux.HandleFunc("POST /api/webhooks", s.authed(s.createWebhook))
	mux.HandleFunc("GET /api/webhooks", s.authed(s.listWebhooks))
	mux.HandleFunc("GET /api/webhooks/{id}", s.authed(s.getWebhook))
	mux.HandleFunc("PATCH /api/webhooks/{id}", s.authed(s.patchWebhook))
	mux.HandleFunc("DELETE /api/webhooks/{id}", s.authed(s.deleteWebhook))
	mux.HandleFunc("POST /api/webhooks/{id}/rotate-secret", s.authed(s.rotateWebhook))
	mux.HandleFunc("POST /api/webhooks/{id}/test", s.authed(s.testWebhook))
	mux.HandleFunc("POST /api/webhook-secret/rotate", s.authed(s.rotateSpaceSecret))
	mux.HandleFunc("POST /api/render-secret/rotate", s.authed(s.rotateRenderSecret))
	mux.HandleFunc("POST /api/get-render-token/rotate", s.authed(s.rotateGetRenderToken))
	mux.HandleFunc("GET /api/webhook-deliveries", s.authed(s.listDeliveries))
	mux.HandleFunc("GET /api/webhook-deliveries/{id}", s.authed(s.getDelivery))
	mux.HandleFunc("POST /api/webhook-deliveries/{id}/redeliver", s.authed(s.redeliver))

	mux.HandleFunc("GET /api/logs", s.authed(s.listLogs))
	mux.HandleFunc("GET /api/logs/{requestId}", s.authed(s.getLog))
	mux.HandleFunc("GET /api/usage", s.authed(s.usage))

	mux.HandleFunc("POST /api/templates", s.authed(s.createTemplate))
	mux.HandleFunc("GET /api/templates", s.authed(s.listTemplates))
	mux.HandleFunc("GET /api/templates/{id}", s.authed(s.getTemplate))
	mux.HandleFunc("PUT /api/templates/{id}", s.authed(s.updateTemplate))
	mux.HandleFunc("DELETE /api/templates/{id}", s.authed(s.deleteTemplate))

	mux.HandleFunc("POST /api/pages", s.authed(s.createPage))
	mux.HandleFunc("GET /api/pages", s.authed(s.listPages))
	mux.HandleFunc("GET /api/pages/{id}", s.authed(s.getPage))
	mux.HandleFunc("PUT /api/pages/{id}", s.authed(s.updatePage))
	mux.HandleFunc("DELETE /api/pages/{id}", s.authed(s.deletePage))
	mux.HandleFunc("POST /api/pages/{id}/publish", s.authed(s.publishPage))

	if s.cfg.UI != nil {
		mux.Handle("/ui/", s.cfg.UI)
	}

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
	})
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
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "request_id", id, "panic", p)
				if !rec.wrote {
					writeError(rec, r, http.StatusInternalServerError, "internal_error", "internal error; see the server log for request "+id)
				}
			}
			s.log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Ready() {
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "the browser is starting")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}
