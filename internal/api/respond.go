package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
)

// errorBody is the one error shape every endpoint answers with.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestId,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal_error","message":"encode response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if h := holder(r); h != nil {
		h.entry.ErrorCode, h.entry.Error = code, msg
	}
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.RequestID = code, msg, requestID(r)
	writeJSON(w, status, b)
}

// fail maps a domain error to a status and a stable code. Client errors
// carry their message; anything unexpected is logged with the request id
// and answered with a generic message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	var rle *render.RateLimitError
	switch {
	case errors.As(err, &rle):
		setRateLimitHeaders(w.Header(), rle)
		writeError(w, r, http.StatusTooManyRequests, "rate_limited", err.Error())
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, ErrBodyTooSlow):
		writeError(w, r, http.StatusRequestTimeout, "body_timeout", "the request body arrived too slowly, or not in time")
	case errors.Is(err, render.ErrInvalidTweak):
		writeError(w, r, http.StatusBadRequest, "InvalidTweak", clean(err, render.ErrInvalidTweak))
	case errors.Is(err, render.ErrInvalidInput):
		writeError(w, r, http.StatusBadRequest, "invalid_request", clean(err, render.ErrInvalidInput))
	case errors.Is(err, errInvalidJSON):
		writeError(w, r, http.StatusBadRequest, "invalid_json", clean(err, errInvalidJSON))
	case errors.Is(err, errValidation):
		writeError(w, r, http.StatusUnprocessableEntity, "validation_failed", clean(err, errValidation))
	case errors.Is(err, render.ErrPageNotFound):
		writeError(w, r, http.StatusNotFound, "page_not_found", err.Error())
	case errors.Is(err, errTemplateNotFound):
		writeError(w, r, http.StatusNotFound, "template_not_found", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "not_found", "no such resource in this space")
	case errors.Is(err, store.ErrConflict):
		writeError(w, r, http.StatusConflict, "conflict", clean(err, store.ErrConflict))
	case errors.Is(err, render.ErrCreditLimit):
		writeError(w, r, http.StatusPaymentRequired, "CreditLimitReached", err.Error())
	case errors.Is(err, render.ErrNotPublished):
		writeError(w, r, http.StatusUnprocessableEntity, "page_not_published", err.Error())
	case errors.Is(err, render.ErrTemplateMismatch):
		writeError(w, r, http.StatusUnprocessableEntity, "template_mismatch", err.Error())
	case errors.Is(err, render.ErrTemplateTooLarge):
		writeError(w, r, http.StatusUnprocessableEntity, "TemplateTooLarge", clean(err, render.ErrTemplateTooLarge))
	case errors.Is(err, render.ErrTemplate):
		writeError(w, r, http.StatusUnprocessableEntity, "template_error", err.Error())
	case errors.Is(err, browser.ErrBadRequest):
		writeError(w, r, http.StatusUnprocessableEntity, "invalid_render", err.Error())
	case errors.Is(err, browser.ErrRenderTimeout):
		writeError(w, r, http.StatusUnprocessableEntity, "render_timeout",
			"the page did not finish loading in time (an image or font that never loads?)")
	case errors.Is(err, browser.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "queue_full", "all browser tabs are busy and the queue is full; retry shortly")
	case errors.Is(err, browser.ErrBrowserCrashed):
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "browser_crashed", "the browser crashed during this render; it is restarting, retry shortly")
	case errors.Is(err, browser.ErrStopped):
		w.Header().Set("Retry-After", "5")
		writeError(w, r, http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, render.ErrTokenRequired):
		// Both alike: a tokenless caller cannot tell an unknown page from
		// one it may not render.
		writeError(w, r, http.StatusUnauthorized, "unauthorized", "a valid API token is required: Authorization: Bearer rh_…")
	case errors.Is(err, capability.ErrBadSignature), errors.Is(err, capability.ErrExpired):
		writeError(w, r, http.StatusForbidden, "invalid_signature", err.Error())
	default:
		s.log.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal_error", "internal error; see the server log for request "+requestID(r))
	}
}

// setRateLimitHeaders says what a refused request may do next, with the
// headers Urlbox's plan tiers and most HTTP APIs use: the limit a minute,
// what is left, the unix second the bucket holds a request again, and
// Retry-After in whole seconds (at least 1).
func setRateLimitHeaders(h http.Header, e *render.RateLimitError) {
	wait := int64(math.Ceil(time.Until(e.Reset).Seconds()))
	h.Set("Retry-After", strconv.FormatInt(max(wait, 1), 10))
	h.Set("X-RateLimit-Limit", strconv.Itoa(e.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(e.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(e.Reset.UnixMilli())/1000)), 10))
}

// clean strips the sentinel's own text from a wrapped message.
func clean(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// ErrBodyTooSlow is what reading a request body returns when it falls
// below the server's minimum body rate or outlasts its read timeout (see
// server.HTTPConfig); it answers 408.
var ErrBodyTooSlow = errors.New("request body too slow")

var (
	errInvalidJSON      = errors.New("invalid JSON")
	errValidation       = errors.New("validation failed")
	errTemplateNotFound = errors.New("template not found")
)

// decodeJSON reads a JSON object body strictly: unknown fields and
// trailing data are errors.
func decodeJSON(r *http.Request, into any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("%w: syntax error at byte %d", errInvalidJSON, se.Offset)
		case errors.As(err, &te):
			return fmt.Errorf("%w: field %q must be %s", errInvalidJSON, te.Field, te.Type.String())
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: empty body", errInvalidJSON)
		}
		return fmt.Errorf("%w: %s", errInvalidJSON, err.Error())
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", errInvalidJSON)
	}
	return nil
}

// authed requires a valid bearer token and puts its space in the context.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(withToken(r.Context(), tok)))
	}
}

func (s *Server) authenticate(r *http.Request) (*store.Token, error) {
	raw, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return auth.Authenticate(r.Context(), s.cfg.Store, raw)
}
