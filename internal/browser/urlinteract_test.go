package browser

import (
	"context"
	"errors"
	"image/color"
	"net/http"
	"testing"
)

// withInteractPages adds to routes the pages the click, hover and scroll
// tests share (their CSS and XPath variants): red boxes that turn green
// when clicked or hovered, and a page with a green target below the fold.
func withInteractPages(routes map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	const box = `position:absolute;width:50px;height:50px;`
	button := func(attr, left string) string {
		return `<button ` + attr + ` style="` + box + `left:` + left + `;top:0;background:rgb(255,0,0)" onclick="this.style.background='rgb(0,255,0)'"></button>`
	}
	routes["/click"] = htmlPage(`<!doctype html><body style="margin:0;background:#fff">` +
		button(`id="a"`, "0") + button(`class="b"`, "50px") + button(`class="b"`, "100px"))
	routes["/hover"] = htmlPage(`<!doctype html><style>body{margin:0} #h{` + box + `left:20px;top:20px;background:rgb(255,0,0)} #h:hover{background:rgb(0,255,0)}</style><div id="h"></div>`)
	routes["/scroll"] = htmlPage(`<!doctype html><body style="margin:0"><div style="height:2000px;background:rgb(255,0,0)"></div>` +
		`<div id="target" style="height:200px;background:rgb(0,255,0)"></div><div style="height:2000px;background:rgb(0,0,255)"></div>`)
	return routes
}

// shooter renders a request at 200×200 and returns a check of the
// capture's pixels.
func shooter(t *testing.T, p *Pool) func(req URLRequest) func(x, y int, want color.RGBA) {
	return func(req URLRequest) func(x, y int, want color.RGBA) {
		t.Helper()
		req.Width, req.Height = 200, 200
		_, img := renderPNG(t, p, req)
		return func(x, y int, want color.RGBA) { t.Helper(); wantPixel(t, img, x, y, want) }
	}
}

// interactKind is one kind of selector's click, click_all, hover and
// scroll_to (the CSS options or their XPath variants), each a request with
// only that option set, aimed at the pages of withInteractPages.
type interactKind struct {
	suffix                           string // of the option names: "" or "_x"
	click, clickAll, hover, scrollTo URLRequest
}

// checkInteract checks k's options on the pages of withInteractPages (u
// makes their URLs) by the capture's pixels: click turns the first box
// green, click_all every box of class b, hover the hovered box, and
// scroll_to brings the green target into the viewport.
func checkInteract(t *testing.T, p *Pool, u func(string) string, k interactKind) {
	shot := shooter(t, p)
	on := func(path string, req URLRequest) URLRequest { req.URL = u(path); return req }
	t.Run("click"+k.suffix+" and click_all"+k.suffix, func(t *testing.T) {
		at := shot(on("/click", k.click))
		at(25, 25, green)
		at(75, 25, red)
		at = shot(on("/click", k.clickAll))
		at(25, 25, red)
		at(75, 25, green)
		at(125, 25, green)
	})
	t.Run("hover"+k.suffix, func(t *testing.T) {
		shot(on("/hover", URLRequest{}))(45, 45, red)
		shot(on("/hover", k.hover))(45, 45, green)
	})
	t.Run("scroll_to"+k.suffix, func(t *testing.T) {
		shot(on("/scroll", URLRequest{}))(100, 100, red)
		shot(on("/scroll", k.scrollTo))(100, 100, green)
	})
}

// TestRenderURLInteractOptions checks click, click_all, hover, scroll_to,
// bg_color, highlight, disable_animations and reduced_motion by the
// capture's pixels.
func TestRenderURLInteractOptions(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", withInteractPages(map[string]http.HandlerFunc{
		"/blank": htmlPage(`<!doctype html><body style="margin:0"><p>x</p>`),
		"/words": htmlPage(`<!doctype html><body style="margin:0;background:#fff;font-size:80px;line-height:1">` +
			`<span>zzzz</span> <span id="w">needle</span>`),
		"/anim": htmlPage(`<!doctype html><style>body{margin:0;background:rgb(0,255,0)}
			@keyframes k{from{background:rgb(255,0,0)}to{background:rgb(255,0,0)}}
			#a{position:fixed;inset:0;animation:k 100s infinite}</style><div id="a"></div>`),
		"/motion": htmlPage(`<!doctype html><style>body{margin:0;background:rgb(255,0,0)}
			@media (prefers-reduced-motion: reduce){body{background:rgb(0,255,0)}}</style>`),
	}))
	p := localPool(t)
	u := func(path string) string { return s.URL + path }
	shot := shooter(t, p)

	checkInteract(t, p, u, interactKind{
		click:    URLRequest{Click: []string{"#a", "#nothing"}},
		clickAll: URLRequest{ClickAll: []string{".b"}},
		hover:    URLRequest{Hover: "#h"},
		scrollTo: URLRequest{ScrollTo: "#target"},
	})
	t.Run("scroll_to a position", func(t *testing.T) {
		shot(URLRequest{URL: u("/scroll"), ScrollTo: "3000"})(100, 100, blue)
	})
	t.Run("bg_color", func(t *testing.T) {
		shot(URLRequest{URL: u("/blank"), BgColor: "rgb(0, 0, 255)"})(150, 150, blue)
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/blank"), Format: FormatPNG, BgColor: "red}body{x"})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("bg_color breaking out of CSS: err = %v, want ErrBadRequest", err)
		}
	})
	t.Run("highlight", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/words"), Width: 800, Height: 100, Highlight: "needle", HighlightBg: "rgb(0,0,255)"})
		found, before := false, false
		for x := 0; x < 800; x++ {
			c := pixelAt(img, x, 40)
			if c == blue {
				found = true
				before = before || x < 150 // "zzzz" comes first and is not marked
			}
		}
		if !found || before {
			t.Errorf("highlight: blue background found=%v, on the unmarked word=%v", found, before)
		}
	})
	t.Run("disable_animations", func(t *testing.T) {
		shot(URLRequest{URL: u("/anim")})(100, 100, red)
		shot(URLRequest{URL: u("/anim"), DisableAnimations: true})(100, 100, green)
	})
	t.Run("reduced_motion", func(t *testing.T) {
		shot(URLRequest{URL: u("/motion")})(100, 100, red)
		shot(URLRequest{URL: u("/motion"), ReducedMotion: true})(100, 100, green)
	})
}
