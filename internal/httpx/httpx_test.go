package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStatusRecorder(t *testing.T) {
	for name, c := range map[string]struct {
		write func(w http.ResponseWriter)
		want  int
		wrote bool
	}{
		"nothing written":    {func(http.ResponseWriter) {}, http.StatusOK, false},
		"body only":          {func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, http.StatusOK, true},
		"status then body":   {func(w http.ResponseWriter) { w.WriteHeader(404); _, _ = w.Write([]byte("x")) }, 404, true},
		"first status kept":  {func(w http.ResponseWriter) { w.WriteHeader(502); w.WriteHeader(200) }, 502, true},
		"body then a status": {func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")); w.WriteHeader(500) }, http.StatusOK, true},
	} {
		rec := httptest.NewRecorder()
		r := NewStatusRecorder(rec)
		c.write(r)
		if r.Status != c.want || r.Wrote != c.wrote {
			t.Errorf("%s: Status %d, Wrote %v; want %d, %v", name, r.Status, r.Wrote, c.want, c.wrote)
		}
		if rec.Code != c.want {
			t.Errorf("%s: the client got %d, want %d", name, rec.Code, c.want)
		}
		if http.NewResponseController(r) == nil || r.Unwrap() != rec {
			t.Errorf("%s: Unwrap does not reach the writer", name)
		}
	}
}
