package apidoc

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
)

// Served is a built document and its reference page, ready to serve.
type Served struct {
	JSON, HTML []byte
}

// New builds the document of d and renders its page.
func New(d Doc) (*Served, error) {
	doc, err := Build(d)
	if err != nil {
		return nil, err
	}
	page, err := Page(doc)
	if err != nil {
		return nil, err
	}
	return &Served{JSON: doc, HTML: page}, nil
}

// pageCSP lets the page use its own inline stylesheet and nothing else: no
// scripts, no fetches, no frames.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// ServeJSON answers the OpenAPI document.
func (s *Served) ServeJSON(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(s.JSON)))
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.JSON)
}

// ServeHTML answers the reference page.
func (s *Served) ServeHTML(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s.HTML)))
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.HTML)
}
