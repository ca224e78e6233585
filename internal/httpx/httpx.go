// Package httpx holds the HTTP plumbing the middlewares of several
// packages share (api, metrics, tracing), a leaf importing only net/http.
package httpx

import "net/http"

// StatusRecorder is a ResponseWriter that notes the status of the answer:
// the first one written, or 200 once a body is written without one.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the answer's status, http.StatusOK until one is written.
	Status int
	// Wrote says the answer has begun (a status or a body was written).
	Wrote bool
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader records the first status written.
func (r *StatusRecorder) WriteHeader(code int) {
	if !r.Wrote {
		r.Status, r.Wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records that the answer has begun.
func (r *StatusRecorder) Write(b []byte) (int, error) {
	r.Wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (write deadlines, flushes) reach the
// connection.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
