package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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
func (s *Server) logged(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now().UTC()
		hold := &logHolder{entry: store.RequestLog{
			ID: requestID(r), CreatedAt: start, Method: r.Method, Path: r.URL.Path,
			Query: requestlog.SanitizeQuery(r.URL.Query()),
		}}
		r = r.WithContext(context.WithValue(r.Context(), keyLog, hold))
		h(w, r)
		if hold.written || hold.entry.SpaceID == "" {
			return
		}
		e := &hold.entry
		if rec, ok := w.(*statusRecorder); ok {
			e.Status = rec.status
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
	}
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
		CallbackStatus: l.CallbackStatus, Callbacks: l.Callbacks, CacheHit: l.CacheHit,
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

const maxLogLimit = 200

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := store.ListLogsParams{SpaceID: spaceID(r)}
	var err error
	if p.Limit, p.After, err = pageParams(q, "status"); err != nil {
		writeError(w, r, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if v := q.Get("status"); v != "" {
		lo, hi, ok := parseStatusFilter(v)
		if !ok {
			writeError(w, r, http.StatusBadRequest, "invalid_request", "status must be an HTTP status (404), a class (4xx), succeeded or failed")
			return
		}
		p.StatusMin, p.StatusMax = lo, hi
	}
	// One more than asked tells whether there is a next page.
	want := p.Limit
	p.Limit++
	logs, err := s.cfg.Store.ListRequestLogs(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if len(logs) > want {
		logs = logs[:want]
		c := encodeCursor(logs[want-1])
		next = &c
	}
	data := make([]logJSON, 0, len(logs))
	for _, l := range logs {
		data = append(data, s.toLogJSON(l))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "nextCursor": next})
}

// pageParams reads limit and cursor, refusing query parameters other than
// those and the listing's own filters.
func pageParams(q url.Values, filters ...string) (limit int, after *store.LogCursor, err error) {
	for k := range q {
		if k != "limit" && k != "cursor" && !slices.Contains(filters, k) {
			return 0, nil, fmt.Errorf("unknown query parameter %q", k)
		}
	}
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogLimit {
			return 0, nil, fmt.Errorf("limit must be from 1 to %d", maxLogLimit)
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, ok := decodeCursor(v)
		if !ok {
			return 0, nil, errors.New("cursor is not one this API returned")
		}
		after = c
	}
	return limit, after, nil
}

func parseStatusFilter(v string) (lo, hi int, ok bool) {
	switch strings.ToLower(v) {
	case "succeeded", "success", "ok":
		return 200, 399, true
	case "failed", "error":
		return 400, 599, true
	}
	if len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx") && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return c, c + 99, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, false
	}
	return n, n, true
}

func encodeCursor(l *store.RequestLog) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(l.CreatedAt.UnixMilli(), 10) + ":" + l.ID))
}

func decodeCursor(s string) (*store.LogCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return nil, false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, false
	}
	return &store.LogCursor{CreatedAt: time.UnixMilli(n).UTC(), ID: id}, true
}

func (s *Server) getLog(w http.ResponseWriter, r *http.Request) {
	l, err := s.cfg.Store.GetRequestLog(r.Context(), spaceID(r), r.PathValue("requestId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.toLogJSON(l)
	if l.RenderID != "" {
		ds, err := s.cfg.Store.ListDeliveries(r.Context(), store.ListDeliveriesParams{SpaceID: l.SpaceID, RenderID: l.RenderID, Limit: 100})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, d := range ds {
			out.Deliveries = append(out.Deliveries, toDeliveryJSON(d, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	u, err := s.cfg.Store.Usage(r.Context(), spaceID(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"creditsUsed": u.CreditsUsed, "creditLimit": u.CreditLimit,
		"renders": map[string]int64{"succeeded": u.Succeeded, "failed": u.Failed},
	})
}
