package api

import (
	"context"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/httpx"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

// logHolder carries a request's log entry through its handler: auth fills
// in the space, writeError the error, and a succeeded render writes the
// entry itself (in its transaction) and sets written.
type logHolder struct {
	entry   store.RequestLog
	written bool
}

func holder(r *http.Request) *logHolder {
	h, _ := r.Context().Value(keyLog).(*logHolder)
	return h
}

// logged records a log entry for every request to h whose space is known,
// unless the render already recorded one.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now().UTC()
		hold := &logHolder{entry: store.RequestLog{
			ID: requestID(r), CreatedAt: start, Method: r.Method, Path: r.URL.Path,
			Query: requestlog.SanitizeQuery(r.URL.Query()),
		}}
		r = r.WithContext(context.WithValue(r.Context(), keyLog, hold))
		h.ServeHTTP(w, r)
		if hold.written || hold.entry.SpaceID == "" {
			return
		}
		e := &hold.entry
		if rec, ok := w.(*httpx.StatusRecorder); ok {
			e.Status = rec.Status
		}
		// A caller without an API token whose request was refused (an
		// anonymous GET of a token-only page, a bad sig or gt) writes
		// nothing into the space's log: otherwise anyone who knows a page
		// id could fill that space's log, and the entry would tell the
		// page exists.
		if e.TokenPrefix == "" && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) {
			return
		}
		e.DurationMs = time.Since(start).Milliseconds()
		if err := s.cfg.Store.CreateRequestLog(context.WithoutCancel(r.Context()), e); err != nil {
			s.log.Error("write request log", "request_id", e.ID, "err", err)
		}
	})
}

type logJSON struct {
	RequestID      string                         `json:"requestId"`
	CreatedAt      time.Time                      `json:"createdAt"`
	Method         string                         `json:"method"`
	Path           string                         `json:"path"`
	Query          string                         `json:"query"`
	Body           string                         `json:"body,omitempty"`
	Status         int                            `json:"status"`
	DurationMs     int64                          `json:"durationMs"`
	TokenPrefix    string                         `json:"tokenPrefix"`
	RenderID       string                         `json:"renderId,omitempty"`
	Format         string                         `json:"format,omitempty"`
	Size           int64                          `json:"size"`
	File           *fileJSON                      `json:"file"`
	Timings        timingsJSON                    `json:"timings"`
	Error          *errorJSON                     `json:"error"`
	CallbackStatus string                         `json:"callbackStatus"`
	Callbacks      map[string]store.CallbackState `json:"callbacks"`
	Deliveries     []deliveryJSON                 `json:"deliveries,omitempty"`
	// CacheHit: answered from an earlier render's file, at no credit.
	CacheHit bool `json:"cacheHit"`
	// Renderer: which renderer made the file ("" when none did).
	Renderer string `json:"renderer,omitempty" enum:"chromium,takumi" doc:"Which renderer made the file (see renderType); absent when nothing was rendered."`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) toLogJSON(l *store.RequestLog) logJSON {
	out := logJSON{
		RequestID: l.ID, CreatedAt: l.CreatedAt, Method: l.Method, Path: l.Path, Query: l.Query, Body: l.Body,
		Status: l.Status, DurationMs: l.DurationMs, TokenPrefix: l.TokenPrefix, RenderID: l.RenderID, Format: l.Format,
		Size: l.Size, Timings: timingsJSON{QueueMs: l.QueueMs, RenderMs: l.RenderMs, TotalMs: l.TotalMs},
		CallbackStatus: l.CallbackStatus, Callbacks: l.Callbacks, CacheHit: l.CacheHit, Renderer: l.Renderer,
	}
	if l.FileKey != "" {
		out.File = &fileJSON{URL: s.cfg.Signer.URL(l.FileKey)}
	}
	if l.ErrorCode != "" || l.Error != "" {
		out.Error = &errorJSON{Code: l.ErrorCode, Message: l.Error}
	}
	if out.Callbacks == nil {
		out.Callbacks = map[string]store.CallbackState{}
	}
	return out
}

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := requestlog.LogQuery(spaceID(r), r.URL.Query())
	if err != nil {
		return err
	}
	return paged(w, p.Limit-1, s.toLogJSON, logCursor)(s.cfg.Store.ListRequestLogs(r.Context(), p))
}

func (s *Server) getLog(w http.ResponseWriter, r *http.Request) error {
	l, err := s.cfg.Store.GetRequestLog(r.Context(), spaceID(r), r.PathValue("requestId"))
	if err != nil {
		return err
	}
	out := s.toLogJSON(l)
	if l.RenderID != "" {
		ds, err := s.cfg.Store.ListDeliveries(r.Context(), store.ListDeliveriesParams{SpaceID: l.SpaceID, RenderID: l.RenderID, Limit: 100})
		if err != nil {
			return err
		}
		for _, d := range ds {
			out.Deliveries = append(out.Deliveries, toDeliveryJSON(d, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.cfg.Store.Usage(r.Context(), spaceID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"creditsUsed": u.CreditsUsed, "creditLimit": u.CreditLimit,
		"renders": map[string]int64{"succeeded": u.Succeeded, "failed": u.Failed},
	})
	return nil
}

func logCursor(l *store.RequestLog) string { return requestlog.EncodeCursor(l.CreatedAt, l.ID) }

func deliveryCursor(d *store.Delivery) string { return requestlog.EncodeCursor(d.CreatedAt, d.ID) }

// paged is listed for a listing page read with one row more than limit:
// 200 with the rows shown, and the cursor after the last one when more
// follow (else null).
func paged[T, J any](w http.ResponseWriter, limit int, show func(T) J, cursor func(T) string) func([]T, error) error {
	return answered(w, http.StatusOK, func(rows []T) map[string]any {
		rows, more := requestlog.Cut(rows, limit)
		var next *string
		if more {
			c := cursor(rows[len(rows)-1])
			next = &c
		}
		return map[string]any{"data": mapSlice(rows, show), "nextCursor": next}
	})
}
