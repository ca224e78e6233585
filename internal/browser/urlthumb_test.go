package browser

import (
	"net/http"
	"testing"
	"time"
)

// TestRenderURLCaptureSize checks thumb_width / thumb_height, max_height
// and full_width by the output image's size and pixels.
func TestRenderURLCaptureSize(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		// Left half red, right half blue, 3000 px tall.
		"/halves": htmlPage(`<!doctype html><body style="margin:0;height:3000px;background:linear-gradient(to right,rgb(255,0,0) 50%,rgb(0,0,255) 50%)">`),
		"/wide":   htmlPage(`<!doctype html><body style="margin:0"><div style="width:1500px;height:100px;background:rgb(0,255,0)"></div>`),
	})
	p := localPool(t)
	u := func(path string) string { return s.URL + path }

	t.Run("thumb_width", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 800, Height: 600, ThumbWidth: 200})
		wantSize(t, img, 200, 150)
		wantPixel(t, img, 40, 75, red)
		wantPixel(t, img, 160, 75, blue)
	})
	t.Run("thumb_height retina", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 800, Height: 600, Retina: true, ThumbHeight: 300})
		wantSize(t, img, 400, 300)
	})
	t.Run("thumb both crops", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 800, Height: 600, FullPage: true, ThumbWidth: 400, ThumbHeight: 250})
		wantSize(t, img, 400, 250)
	})
	t.Run("thumb never enlarges", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 300, Height: 200, ThumbWidth: 600})
		wantSize(t, img, 300, 200)
	})
	t.Run("max_height", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 400, Height: 300, FullPage: true})
		wantSize(t, img, 400, 3000)
		_, img = renderPNG(t, p, URLRequest{URL: u("/halves"), Width: 400, Height: 300, FullPage: true, MaxHeight: 1000})
		wantSize(t, img, 400, 1000)
	})
	t.Run("full_width", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/wide"), Width: 800, Height: 300, FullPage: true, FullWidth: true})
		wantSize(t, img, 1500, 300)
		wantPixel(t, img, 1400, 50, green)
	})
}

// TestRenderURLScrollIncrement checks that scroll_increment makes content
// loaded on scroll appear in a full-page capture, and that without it
// (skip_scroll) nothing scrolls.
func TestRenderURLScrollIncrement(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/lazy": htmlPage(`<!doctype html><body style="margin:0"><div style="height:2000px;background:#fff"></div>` +
			`<div id="end" style="height:200px;background:rgb(255,0,0)"></div><script>
			addEventListener('scroll', () => { if (scrollY > 1000) document.getElementById('end').style.background = 'rgb(0,255,0)'; });</script>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/lazy", Width: 400, Height: 300, FullPage: true})
	wantPixel(t, img, 200, 2100, red)
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/lazy", Width: 400, Height: 300, FullPage: true,
		ScrollIncrement: 400, ScrollDelay: 50 * time.Millisecond})
	wantSize(t, img, 400, 2200)
	wantPixel(t, img, 200, 2100, green)
}
