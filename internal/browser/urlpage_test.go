package browser

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"net/http"
	"strings"
	"testing"
)

// TestRenderURLXPathOptions checks the XPath variants of click, click_all,
// hover, scroll_to, hide_selector, wait_for and wait_to_leave by the
// capture's pixels, and that a malformed expression fails the render
// naming its option.
func TestRenderURLXPathOptions(t *testing.T) {
	const late = `<script>setTimeout(() => { const d = document.createElement('div'); d.id = 'late';
  d.style.cssText = 'position:fixed;inset:0;background:rgb(0,255,0)'; document.body.appendChild(d); }, 300)</script>`
	s := newSite(t, "127.0.0.1:0", withInteractPages(map[string]http.HandlerFunc{
		"/hide": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)">` +
			`<div id="cover" style="position:fixed;inset:0;background:rgb(0,255,0)"></div>` +
			`<p style="position:fixed;left:0;top:0;margin:0;width:100px;height:100px;background:rgb(0,0,255)">word</p>`),
		"/late": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)">` + late),
		"/leave": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">` +
			`<div id="spin" style="position:fixed;inset:0;background:rgb(255,0,0)"></div>` +
			`<script>setTimeout(() => document.getElementById('spin').remove(), 300)</script>`),
	}))
	p := localPool(t)
	u := func(path string) string { return s.URL + path }
	shot := shooter(t, p)

	checkInteract(t, p, u, interactKind{
		suffix:   "_x",
		click:    URLRequest{ClickX: []string{"//button[@id='a']", "//nothing"}},
		clickAll: URLRequest{ClickAllX: []string{"//button[@class='b']"}},
		hover:    URLRequest{HoverX: "//div[@id='h']"},
		scrollTo: URLRequest{ScrollToX: "//div[@id='target']"},
	})
	t.Run("hide_selector_x", func(t *testing.T) {
		at := shot(URLRequest{URL: u("/hide")})
		at(150, 150, green)
		at(50, 50, blue)
		// A text node stands for its element.
		at = shot(URLRequest{URL: u("/hide"), HideSelectorX: []string{"//div[@id='cover']", "//p/text()[.='word']"}})
		at(150, 150, red)
		at(50, 50, red)
	})
	t.Run("wait_for_x", func(t *testing.T) {
		shot(URLRequest{URL: u("/late")})(100, 100, red)
		shot(URLRequest{URL: u("/late"), WaitForX: "//div[@id='late']"})(100, 100, green)
	})
	t.Run("wait_to_leave_x", func(t *testing.T) {
		shot(URLRequest{URL: u("/leave")})(100, 100, red)
		shot(URLRequest{URL: u("/leave"), WaitToLeaveX: "//*[@id='spin']"})(100, 100, green)
	})
	t.Run("malformed", func(t *testing.T) {
		for _, c := range []struct {
			req    URLRequest
			option string
			want   error
		}{
			{URLRequest{ClickX: []string{"//button[@id='a'"}}, "click_x", ErrBadRequest},
			{URLRequest{ClickAllX: []string{"count(//button)"}}, "click_all_x", ErrBadRequest},
			{URLRequest{HideSelectorX: []string{"//div[@@id]"}}, "hide_selector_x", ErrBadRequest},
			{URLRequest{WaitForX: "//div[@id='late'"}, "wait_for_x", ErrSelectorNotFound},
		} {
			c.req.URL, c.req.Format = u("/click"), FormatPNG
			_, err := p.RenderURL(context.Background(), c.req)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.option) {
				t.Errorf("%s: err = %v, want %v naming the option", c.option, err, c.want)
			}
		}
	})
}

// TestRenderURLPageBehaviour checks accept_dialogs, disable_events,
// disable_mql and disable_ligatures by what they change in the capture,
// and that a full-page capture keeps the viewport (Urlbox's
// disable_resize is always so).
func TestRenderURLPageBehaviour(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/confirm": htmlPage(`<!doctype html><body style="margin:0"><script>
  document.body.style.background = confirm('go on?') ? 'rgb(0,255,0)' : 'rgb(255,0,0)';</script>`),
		"/prompt": htmlPage(`<!doctype html><body style="margin:0"><script>alert('hi');
  document.body.style.background = prompt('name?', 'yes') === 'yes' ? 'rgb(0,255,0)' : 'rgb(255,0,0)';</script>`),
		"/events": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)"><script>
  document.addEventListener('DOMContentLoaded', () => { document.body.style.background = 'rgb(0,255,0)'; });</script>`),
		// The frame's width goes from 300 to 100 px once it has loaded:
		// its (max-width: 200px) query changes, and its listener paints
		// the page green and marks it changed. Three frames after the
		// resize the page is marked settled.
		"/mql": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)">
  <iframe id="f" style="width:300px;height:50px;border:0" srcdoc="<script>matchMedia('(max-width: 200px)').addEventListener('change',
    () => { parent.document.body.style.background = 'rgb(0,255,0)'; parent.document.body.classList.add('changed'); });</script>"></iframe>
  <script>document.getElementById('f').addEventListener('load', () => {
    document.getElementById('f').style.width = '100px';
    requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => document.body.classList.add('settled'))));
  });</script>`),
		"/font": htmlPage(`<!doctype html><style>@font-face{font-family:W;src:url(/w.woff2) format('woff2')}
  body{font:40px W, serif}</style><body>text`),
		"/w.woff2": func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Type", "font/woff2") },
		"/vh": htmlPage(`<!doctype html><body style="margin:0"><div style="height:100vh;background:rgb(0,255,0)"></div>` +
			`<div style="height:1000px;background:rgb(0,0,255)"></div>`),
	})
	p := localPool(t)
	u := func(path string) string { return s.URL + path }
	base := func(path string) URLRequest { return URLRequest{URL: u(path), Width: 200, Height: 200} }

	t.Run("accept_dialogs", func(t *testing.T) {
		flips(t, p, base("/confirm"), 100, 100, red, green, func(r *URLRequest) { r.AcceptDialogs = true })
		flips(t, p, base("/prompt"), 100, 100, red, green, func(r *URLRequest) { r.AcceptDialogs = true })
	})
	t.Run("disable_events", func(t *testing.T) {
		flips(t, p, base("/events"), 100, 100, green, red, func(r *URLRequest) { r.DisableEvents = []string{"DOMContentLoaded"} })
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/events"), DisableEvents: []string{"x');alert(1"}})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("a bad event name: err = %v, want ErrBadRequest", err)
		}
	})
	t.Run("disable_mql", func(t *testing.T) {
		// Without disable_mql the capture waits for the listener's mark
		// (a loaded machine may take more than three frames to fire it);
		// with it, the listener never runs: the capture waits the three
		// frames after the resize and finds the page as it was.
		req := base("/mql")
		req.WaitFor = "body.changed"
		_, img := renderPNG(t, p, req)
		wantPixel(t, img, 150, 150, green)
		req.WaitFor, req.DisableMQL = "body.settled", true
		_, img = renderPNG(t, p, req)
		wantPixel(t, img, 150, 150, red)
	})
	t.Run("disable_ligatures", func(t *testing.T) {
		req := URLRequest{HTML: `<!doctype html><body style="margin:0;background:#fff;font:80px 'DejaVu Serif'">ffi fl</body>`, Width: 400, Height: 120}
		_, a := renderPNG(t, p, req)
		_, again := renderPNG(t, p, req)
		req.DisableLigatures = true
		_, off := renderPNG(t, p, req)
		if !bytes.Equal(pngPixels(a), pngPixels(again)) {
			t.Fatal("the same render twice drew different pixels")
		}
		if bytes.Equal(pngPixels(a), pngPixels(off)) {
			t.Error("disable_ligatures drew ffi fl as with ligatures")
		}
	})
	t.Run("skip_fonts", func(t *testing.T) {
		// skip_fonts is block_fonts: the font is never asked for.
		renderPNG(t, p, base("/font"))
		if s.hitsOf("/w.woff2") != 1 {
			t.Fatalf("without skip_fonts the web font was fetched %d times, want 1", s.hitsOf("/w.woff2"))
		}
		req := base("/font")
		req.BlockResources = []ResourceType{ResourceFonts}
		renderPNG(t, p, req)
		if n := s.hitsOf("/w.woff2"); n != 1 {
			t.Errorf("with skip_fonts the web font was fetched again (%d hits)", n)
		}
	})
	t.Run("full page without resize", func(t *testing.T) {
		// 100vh is the window's 200 px only when the viewport is not
		// resized to the page for the capture.
		for _, mode := range []FullPageMode{FullPageNative, FullPageStitch} {
			req := base("/vh")
			req.FullPage, req.FullPageMode = true, mode
			_, img := renderPNG(t, p, req)
			wantSize(t, img, 200, 1200)
			wantPixel(t, img, 100, 100, green)
			wantPixel(t, img, 100, 400, blue)
		}
	})
}

// pngPixels are img's pixels, row by row.
func pngPixels(img image.Image) []byte {
	b := img.Bounds()
	out := image.NewNRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)
	return out.Pix
}

// TestRenderURLCustomData reads a page variable as JSON, and bounds it:
// a value JSON cannot encode and one over MaxCustomData fail the render.
func TestRenderURLCustomData(t *testing.T) {
	p := localPool(t)
	const page = `<script>window.app = {state: {n: 1, s: "x"}}; window.loop = {}; window.loop.self = window.loop;
  window.big = 'x'.repeat(70000);</script>`
	render := func(path string) (*URLResult, error) {
		return p.RenderURL(context.Background(), URLRequest{HTML: page, Format: FormatPNG, Width: 100, Height: 100, Extract: Extract{CustomData: path}})
	}
	for path, want := range map[string]string{"app.state": `{"n":1,"s":"x"}`, "app.state.n": `1`, "nothing.here": `null`} {
		res, err := render(path)
		if err != nil || res.Extracted == nil || string(res.Extracted.CustomData) != want {
			t.Errorf("%s: %+v, %v; want %s", path, res, err, want)
		}
	}
	for path, want := range map[string]error{"loop": ErrPageScript, "big": ErrArtifactTooLarge, "app[0]": ErrBadRequest} {
		if _, err := render(path); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", path, err, want)
		}
	}
}
