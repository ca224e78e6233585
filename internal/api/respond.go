package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/requestlog"
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

// handler is what every API route's code is: it answers, or returns the
// error the route's dialect answers with (serve).
type handler func(w http.ResponseWriter, r *http.Request) error

// serve adapts h to net/http: an error h returns is answered once, from
// reply's table in dialect d.
func (s *Server) serve(d reply.Dialect, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.answer(w, r, d, err)
		}
	}
}

// answer writes err as reply's table spells it in dialect d. Client
// errors carry their message; anything unexpected is logged with the
// request id and answered with a generic message.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, d reply.Dialect, err error) {
	a := reply.For(d, err)
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	msg := a.Message
	if a.Internal {
		s.log.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		msg = internalMessage(r)
	}
	writeError(w, r, a.Status, a.Code, msg)
}

func internalMessage(r *http.Request) string {
	return reply.InternalMessage + " for request " + requestID(r)
}

// ErrBodyTooSlow is what reading a request body returns when it falls
// below the server's minimum body rate or outlasts its read timeout (see
// server.HTTPConfig); it answers 408.
var ErrBodyTooSlow = reply.ErrBodyTooSlow

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
			return fmt.Errorf("%w: syntax error at byte %d", reply.ErrInvalidJSON, se.Offset)
		case errors.As(err, &te):
			return fmt.Errorf("%w: field %q must be %s", reply.ErrInvalidJSON, te.Field, te.Type.String())
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: empty body", reply.ErrInvalidJSON)
		}
		return fmt.Errorf("%w: %s", reply.ErrInvalidJSON, err.Error())
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", reply.ErrInvalidJSON)
	}
	return nil
}

// authed requires a valid bearer token and puts its space in the context.
func (s *Server) authed(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(withToken(r.Context(), tok)))
	}
}

// v1Authed requires a bearer API token, for the v1 dialect: no token at
// all is reply.ErrNoAPIKey there.
func (s *Server) v1Authed(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := auth.BearerToken(r.Header.Get("Authorization")); !ok {
			return reply.ErrNoAPIKey
		}
		return s.authed(h)(w, r)
	}
}

func (s *Server) authenticate(r *http.Request) (*store.Token, error) {
	raw, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return auth.Authenticate(r.Context(), s.cfg.Store, raw)
}

// readBody reads the whole body, keeping it (sanitised) for the request
// log.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if h := holder(r); h != nil {
		h.entry.Body = requestlog.SanitizeBody(data)
	}
	return data, nil
}
