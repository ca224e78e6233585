package reply

import (
	"net/http"
	"path"
	"strconv"

	"github.com/renderhook/renderhook/internal/render"
)

// Render answers a synchronous render with its file: its id, time, type,
// length and name. Every render is billed (a console preview too), so
// caches must not replay it as a new one.
func Render(w http.ResponseWriter, out *render.Output) {
	rec := out.Render
	h := w.Header()
	h.Set("X-Render-Id", rec.ID)
	h.Set("X-Render-Time-Ms", strconv.FormatInt(rec.TotalMs, 10))
	if out.Renderer != "" {
		h.Set("X-Renderer", out.Renderer)
	}
	h.Set("Content-Type", rec.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(out.Data)))
	h.Set("Content-Disposition", `inline; filename="`+path.Base(rec.BlobKey)+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Data)
}
