package browser

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestRenderURLHTMLSource checks base_url (the HTML's relative URLs load
// from it, through the egress guard) and use_tailwind (a Tailwind class
// paints) by the capture's pixels.
func TestRenderURLHTMLSource(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/assets/img/g.png": pngPage(t, 200, 200, green),
	})
	p := localPool(t)
	const doc = `<!doctype html><body style="margin:0;background:rgb(255,0,0)"><img src="img/g.png" style="display:block">`

	t.Run("base_url", func(t *testing.T) {
		req := URLRequest{HTML: doc, Width: 200, Height: 200}
		_, img := renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, red)
		req.BaseURL = s.URL + "/assets/"
		_, img = renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, green)
		if n := s.hitsOf("/assets/img/g.png"); n != 1 {
			t.Errorf("the image was fetched %d times, want 1", n)
		}
		// Without a doctype the base element goes first, too.
		req.HTML = strings.TrimPrefix(doc, "<!doctype html>")
		_, img = renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, green)
	})
	t.Run("base_url and egress", func(t *testing.T) {
		// A base URL the guard refuses is refused before rendering.
		_, err := p.RenderURL(context.Background(), URLRequest{HTML: doc, Format: FormatPNG, BaseURL: "http://10.1.2.3/assets/"})
		if !errors.Is(err, ErrBlockedURL) {
			t.Errorf("base_url on a refused address: err = %v, want ErrBlockedURL", err)
		}
		// A page whose own base is refused: its fetches still pass the
		// guard (and are refused).
		res, _ := renderPNG(t, p, URLRequest{HTML: `<base href="http://10.1.2.3/">` + doc, Width: 200, Height: 200})
		wantBlocked(t, res, "http://10.1.2.3/img/g.png")
		for _, bad := range []URLRequest{
			{URL: s.URL, BaseURL: s.URL},
			{HTML: doc, BaseURL: "ftp://example.com/"},
			{HTML: doc, BaseURL: "/relative"},
			{URL: s.URL, UseTailwind: true},
		} {
			bad.Format = FormatPNG
			if _, err := p.RenderURL(context.Background(), bad); !errors.Is(err, ErrBadRequest) {
				t.Errorf("%+v: err = %v, want ErrBadRequest", bad, err)
			}
		}
	})
	t.Run("use_tailwind", func(t *testing.T) {
		req := URLRequest{HTML: `<!doctype html><body style="margin:0"><div class="bg-[rgb(0,255,0)] w-full h-[200px]"></div>`, Width: 200, Height: 200}
		_, img := renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, white)
		req.UseTailwind = true
		_, img = renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, green)
		// Classes the request's js adds get their styles too.
		req.JS = `document.querySelector('div').classList.replace('bg-[rgb(0,255,0)]', 'bg-[rgb(0,0,255)]');
  new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`
		_, img = renderPNG(t, p, req)
		wantPixel(t, img, 100, 100, blue)
	})
}
