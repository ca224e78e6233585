package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/render"
)

// HTTPConfig bounds what one client connection may hold of the server: how
// long it may take to send a request, how long the server works and writes
// on one, how long an idle keep-alive connection stays open, and how slowly
// a body may move. The zero value of every field selects its documented
// default; the write timeout's is derived from the longest render allowed.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's line and headers.
	// Default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body.
	// Default DefaultReadTimeout: a 10 MiB body (the default
	// --max-body-bytes) then needs 175 KB/s.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the answer's first bytes: reading the body, the render and writing
	// the answer. It must exceed the longest render (see LongestRender), or
	// a sync render the server allows would be cut; default ReadTimeout +
	// LongestRender + WriteMargin. Writing a large answer
	// (a big file from /files) extends it while the bytes move at
	// MinBodyRate.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MinBodyRate is the slowest a request body may arrive, and an answer
	// be taken, in bytes per second, after BodyGrace: a body dribbled a byte
	// at a time is cut within seconds while an honest slow upload goes on
	// (up to ReadTimeout). Default DefaultMinBodyRate; negative turns it
	// off.
	MinBodyRate int64
	// BodyGrace is the time a body gets before MinBodyRate applies.
	// Default DefaultBodyGrace.
	BodyGrace time.Duration
	// MaxHeaderBytes caps a request's line and headers (the URL, whose query
	// may carry render options, included). Default DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// The defaults of HTTPConfig, applied by WithDefaults.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMinBodyRate       = 1024
	DefaultBodyGrace         = 5 * time.Second
	DefaultMaxHeaderBytes    = 128 << 10
	// WriteMargin is what the default WriteTimeout leaves beyond reading
	// and rendering, for waiting for a tab, recording the render and
	// writing the answer.
	WriteMargin = 30 * time.Second
)

// LongestRender is the longest a render the server accepts may take once
// its body is read: the render timeout, or the longest timeout a v1 render
// may ask for (render.MaxV1Timeout), whichever is longer.
// A zero renderTimeout is the browser's default.
func LongestRender(rt time.Duration) time.Duration {
	return max(renderTimeout(rt), render.MaxV1Timeout)
}

// WithDefaults returns c with every zero field set to its default; the
// write timeout's follows from the read timeout and from renderTimeout
// (the browser's render timeout; zero means its default).
func (c HTTPConfig) WithDefaults(renderTimeout time.Duration) HTTPConfig {
	c.ReadHeaderTimeout = cmp.Or(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, c.ReadTimeout+LongestRender(renderTimeout)+WriteMargin)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MinBodyRate = cmp.Or(c.MinBodyRate, DefaultMinBodyRate)
	c.BodyGrace = cmp.Or(c.BodyGrace, DefaultBodyGrace)
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	return c
}

func (c HTTPConfig) validate(renderTimeout time.Duration) error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--http-read-header-timeout", c.ReadHeaderTimeout}, {"--http-read-timeout", c.ReadTimeout}, {"--http-write-timeout", c.WriteTimeout}, {"--http-idle-timeout", c.IdleTimeout}, {"body grace", c.BodyGrace}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	if longest := LongestRender(renderTimeout); c.WriteTimeout <= longest {
		errs = append(errs, fmt.Errorf("--http-write-timeout %s must exceed the longest render, %s (the larger of --render-timeout and the v1 API's longest timeout option), or sync renders would be cut", c.WriteTimeout, longest))
	}
	if c.MaxHeaderBytes < 4096 {
		errs = append(errs, fmt.Errorf("--http-max-header-bytes must be at least 4096, got %d", c.MaxHeaderBytes))
	}
	return errors.Join(errs...)
}

// server returns the http.Server that serves h with these bounds.
func (c HTTPConfig) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           c.paced(h),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}

// paced holds every request body to MinBodyRate and lets an answer that
// keeps moving at that rate outlive WriteTimeout.
func (c HTTPConfig) paced(h http.Handler) http.Handler {
	if c.MinBodyRate < 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &pacedBody{ReadCloser: r.Body, rc: rc, cfg: c, limit: now.Add(c.ReadTimeout)}
		}
		h.ServeHTTP(&pacedWriter{ResponseWriter: w, rc: rc, cfg: c, deadline: now.Add(c.WriteTimeout)}, r)
	})
}

// pacedBody is a request body that must arrive at MinBodyRate: before each
// read the connection's read deadline is set to the time the bytes read so
// far have earned (BodyGrace from the first read, plus a second per
// MinBodyRate bytes), never past the request's ReadTimeout. A body sent a
// byte every second runs out of earned time after the grace; an honest one
// stays ahead. Once the body is read, net/http clears the deadline itself.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	cfg   HTTPConfig
	limit time.Time // ReadTimeout, from the handler's start
	start time.Time // first Read; zero before
	n     int64
}

func (b *pacedBody) Read(p []byte) (int, error) {
	now := time.Now()
	if b.start.IsZero() {
		b.start = now
	}
	earned := b.start.Add(b.cfg.BodyGrace + time.Duration(float64(b.n)/float64(b.cfg.MinBodyRate)*float64(time.Second)))
	if b.limit.Before(earned) {
		earned = b.limit
	}
	_ = b.rc.SetReadDeadline(earned)
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		err = fmt.Errorf("%w (%d bytes in %s): %w", api.ErrBodyTooSlow, b.n, now.Sub(b.start).Round(time.Millisecond), err)
	}
	return n, err
}

// pacedWriter extends the connection's write deadline as an answer is
// written, by BodyGrace plus the time each write needs at MinBodyRate, so
// a large file keeps downloading as long as its reader keeps up, while a
// reader that stops taking bytes is cut. It only ever extends: a render
// that takes long before the first byte is bounded by WriteTimeout.
type pacedWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	cfg      HTTPConfig
	deadline time.Time
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	// In pieces, each given the time it needs at MinBodyRate from when it
	// is written: one Write of a whole 5 MB render would otherwise earn
	// its reader over an hour up front, whether it reads or not.
	written := 0
	for len(p) > 0 {
		piece := p[:min(len(p), pacedPiece)]
		if d := time.Now().Add(w.cfg.BodyGrace + time.Duration(float64(len(piece))/float64(w.cfg.MinBodyRate)*float64(time.Second))); d.After(w.deadline) {
			if w.rc.SetWriteDeadline(d) == nil {
				w.deadline = d
			}
		}
		n, err := w.ResponseWriter.Write(piece)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// pacedPiece is the most a pacedWriter writes under one deadline: at the
// default 1 KiB/s, a reader that stops is cut about 21 s after the
// connection's buffers are full.
const pacedPiece = 16 << 10

// Unwrap lets http.ResponseController reach the connection.
func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
