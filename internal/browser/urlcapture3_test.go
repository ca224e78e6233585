package browser

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	xdraw "golang.org/x/image/draw"
)

var magenta = pixelOf(sectionColour.R, sectionColour.G, sectionColour.B)

func pixelOf(r, g, b uint8) [4]uint8 { return [4]uint8{r, g, b, 255} }

// wantRGB checks a pixel's colour given as pixelOf.
func wantRGB(t *testing.T, img image.Image, x, y int, want [4]uint8) {
	t.Helper()
	c := pixelAt(img, x, y)
	if [4]uint8{c.R, c.G, c.B, c.A} != want {
		t.Errorf("pixel (%d,%d) = %v, want %v", x, y, c, want)
	}
}

// TestRenderURLStitchGrid checks max_sections (the capture ends after
// them), show_seams (red lines where sections meet), show_sections
// (magenta outlines), and max_section_width / max_xsections (sections
// across a full-width page, their number capped).
func TestRenderURLStitchGrid(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/bands": htmlPage(bandsPage),
		// 1200 px wide: red, then blue from 600.
		"/wide": htmlPage(`<!doctype html><body style="margin:0"><div style="width:1200px;height:600px;` +
			`background:linear-gradient(to right,rgb(255,0,0) 50%,rgb(0,0,255) 50%)"></div>`),
	})
	p := localPool(t)
	base := URLRequest{URL: s.URL + "/bands", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageStitch}

	req := base
	req.MaxSections = 2
	_, img := renderPNG(t, p, req)
	wantSize(t, img, 400, 600) // two sections of the viewport's 300, of a 1000 px page

	// Sections of 250: the seams at 500 and 750 fall in blue bands; the
	// line is red.
	base.MaxSectionHeight = 250
	req = base
	_, plain := renderPNG(t, p, req)
	req.ShowSeams = true
	_, seams := renderPNG(t, p, req)
	wantSize(t, seams, 400, 1000)
	for _, y := range []int{500, 750} {
		wantPixel(t, plain, 200, y, blue)
		wantPixel(t, seams, 200, y, red)
		wantPixel(t, seams, 200, y+1, blue) // one px thick at scale 1
	}
	wantPixel(t, seams, 0, 350, blue) // no outline

	req = base
	req.ShowSections = true
	_, secs := renderPNG(t, p, req)
	for _, at := range [][2]int{{0, 350}, {399, 350}, {200, 0}, {200, 249}, {200, 250}, {200, 999}} {
		wantRGB(t, secs, at[0], at[1], magenta)
	}
	wantPixel(t, secs, 200, 350, blue)

	wide := URLRequest{URL: s.URL + "/wide", Width: 400, Height: 300, FullPage: true, FullWidth: true,
		FullPageMode: FullPageStitch, MaxSectionWidth: 300, ShowSeams: true}
	_, img = renderPNG(t, p, wide)
	wantSize(t, img, 1200, 600)
	for _, x := range []int{300, 900} { // column seams, red on blue at 900
		wantPixel(t, img, x, 100, red)
	}
	wantPixel(t, img, 901, 100, blue)
	wantPixel(t, img, 700, 300, red) // the row seam, on blue
	wide.MaxXSections, wide.ShowSeams = 2, false
	_, img = renderPNG(t, p, wide)
	wantSize(t, img, 600, 600)
	wantPixel(t, img, 599, 100, red)
}

// TestRenderURLSharpStitch checks that sharp_stitch joins a thumbnail's
// sections at full resolution: the result is the full-size page scaled in
// one go, while sections drawn at their own fractional offsets differ at
// the seams.
func TestRenderURLSharpStitch(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/stripes": htmlPage(`<!doctype html><body style="margin:0;height:1000px;` +
			`background:repeating-linear-gradient(rgb(255,0,0) 0 3px,rgb(0,0,255) 3px 7px)">`),
	})
	p := localPool(t)
	_, full := renderPNG(t, p, URLRequest{URL: s.URL + "/stripes", Width: 400, Height: 300, FullPage: true})
	want := image.NewNRGBA(image.Rect(0, 0, 130, 325))
	xdraw.CatmullRom.Scale(want, want.Bounds(), full, full.Bounds(), xdraw.Src, nil)

	req := URLRequest{URL: s.URL + "/stripes", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageStitch,
		MaxSectionHeight: 97, ThumbWidth: 130}
	differs := func(img image.Image) int {
		n := 0
		for y := range 325 {
			if pixelAt(img, 60, y) != pixelAt(want, 60, y) {
				n++
			}
		}
		return n
	}
	_, plain := renderPNG(t, p, req)
	wantSize(t, plain, 130, 325)
	if n := differs(plain); n == 0 {
		t.Error("the plain stitch matches the one-go scale exactly; the test shows nothing")
	}
	req.SharpStitch = true
	_, sharp := renderPNG(t, p, req)
	wantSize(t, sharp, 130, 325)
	if n := differs(sharp); n != 0 {
		t.Errorf("sharp_stitch differs from the full page scaled in one go in %d rows", n)
	}
	// The seams are drawn on the scaled image: a whole red row at the
	// first seam (css 97, output 31.5, row 32).
	req.ShowSeams = true
	_, seams := renderPNG(t, p, req)
	for x := range 130 {
		if c := pixelAt(seams, x, 32); c != red {
			t.Fatalf("sharp_stitch's seam at (%d,32) is %v, want red", x, c)
		}
	}
}

// TestRenderURLFreezeFixed checks that a fixed header is drawn once, at
// the top, in a stitched full page with freeze_fixed, and at the top of
// every section without.
func TestRenderURLFreezeFixed(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/fixed": htmlPage(`<!doctype html><body style="margin:0;height:1200px;background:rgb(0,0,255)">` +
			`<div style="position:fixed;top:0;left:0;right:0;height:40px;background:rgb(255,0,0)"></div>` +
			`<div style="height:500px"></div><div style="position:sticky;top:0;height:20px;background:rgb(0,255,0)"></div>`),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/fixed", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageStitch}
	_, img := renderPNG(t, p, req)
	wantPixel(t, img, 200, 10, red)
	wantPixel(t, img, 200, 630, red) // the section at 600 shows the header again
	req.FreezeFixed = true
	_, img = renderPNG(t, p, req)
	wantSize(t, img, 400, 1200)
	wantPixel(t, img, 200, 10, red)
	wantPixel(t, img, 200, 630, blue)
	wantPixel(t, img, 200, 910, blue) // the sticky bar stays where it is in the flow
	wantPixel(t, img, 200, 510, green)
}

// TestRenderURLFullHeightNotStretched checks what fix_full_height asks
// for holds without it: a full-page capture, native or stitched, leaves
// a 100vh hero the viewport's height.
func TestRenderURLFullHeightNotStretched(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/hero": htmlPage(`<!doctype html><body style="margin:0"><div style="height:100vh;background:rgb(255,0,0)"></div>` +
			`<div style="height:1000px;background:rgb(0,0,255)"></div>`),
	})
	p := localPool(t)
	for _, mode := range []FullPageMode{FullPageNative, FullPageStitch} {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/hero", Width: 400, Height: 300, FullPage: true, FullPageMode: mode})
		wantSize(t, img, 400, 1300)
		wantPixel(t, img, 200, 295, red)
		wantPixel(t, img, 200, 305, blue)
	}
}

// TestRenderURLSizeFrom checks that width_from and height_from make the
// viewport the element's size, and that a missing element fails.
func TestRenderURLSizeFrom(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/card": htmlPage(`<!doctype html><body style="margin:0"><div id="card" style="width:333px;height:222px;background:rgb(255,0,0)"></div>` +
			`<div style="height:2000px;background:rgb(0,0,255)"></div>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/card", Width: 800, Height: 600, WidthFrom: "#card", HeightFrom: "#card"})
	wantSize(t, img, 333, 222)
	wantPixel(t, img, 332, 221, red)
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/card", Width: 800, Height: 600, HeightFrom: "#card"})
	wantSize(t, img, 800, 222)
	_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/card", Format: FormatPNG, WidthFrom: "#nope"})
	if !errors.Is(err, ErrSelectorNotFound) {
		t.Errorf("width_from matching nothing: %v, want ErrSelectorNotFound", err)
	}
}

// TestRenderURLScrollLimits checks that scroll_height stops the lazyload
// scroll short of an element revealed on view, and that
// max_scroll_page_time stops a slow scroll in time.
func TestRenderURLScrollLimits(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/io": htmlPage(`<!doctype html><body style="margin:0"><div style="height:3000px"></div>` +
			`<div id="io" style="height:100px;background:rgb(255,0,0)"></div><script>
			new IntersectionObserver((es) => { if (es[0].isIntersecting) document.getElementById('io').style.background = 'rgb(0,255,0)'; })
			  .observe(document.getElementById('io'));</script>`),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/io", Width: 400, Height: 300, FullPage: true, LazyLoad: true}
	_, img := renderPNG(t, p, req)
	wantPixel(t, img, 200, 3050, green)
	req.ScrollHeight = 1500
	_, img = renderPNG(t, p, req)
	wantPixel(t, img, 200, 3050, red)

	// 10 steps of 300 px, each waiting 400 ms: 4 s, cut to 500 ms.
	slow := URLRequest{URL: s.URL + "/io", Width: 400, Height: 300, FullPage: true, ScrollIncrement: 300, ScrollDelay: 400 * time.Millisecond}
	_, img = renderPNG(t, p, slow)
	wantPixel(t, img, 200, 3050, green)
	slow.MaxScrollTime = 500 * time.Millisecond
	start := time.Now()
	_, img = renderPNG(t, p, slow)
	wantPixel(t, img, 200, 3050, red)
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Errorf("a scroll bounded to 500 ms took the render %s", d)
	}
}

// TestRenderURLOptimise checks that optimise makes a smaller png of the
// same pixels.
func TestRenderURLOptimise(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/bands": htmlPage(bandsPage)})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/bands", Width: 400, Height: 300, FullPage: true}
	plainRes, plain := renderPNG(t, p, req)
	req.Optimise = true
	optRes, opt := renderPNG(t, p, req)
	if len(optRes.Data) >= len(plainRes.Data) {
		t.Errorf("optimised png is %d bytes, plain %d", len(optRes.Data), len(plainRes.Data))
	}
	t.Logf("optimise: %d → %d bytes (%.0f%% saved)", len(plainRes.Data), len(optRes.Data),
		100*(1-float64(len(optRes.Data))/float64(len(plainRes.Data))))
	b := plain.Bounds()
	wantSize(t, opt, b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if pixelAt(plain, x, y) != pixelAt(opt, x, y) {
				t.Fatalf("pixel (%d,%d) is %v optimised, %v plain", x, y, pixelAt(opt, x, y), pixelAt(plain, x, y))
			}
		}
	}
	// Many colours: no palette, still the same pixels.
	grad := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := range grad.Pix {
		grad.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grad); err != nil {
		t.Fatal(err)
	}
	out, err := optimisePNG(context.Background(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := decodePNG(t, out); !bytes.Equal(got.(*image.NRGBA).Pix, grad.Pix) {
		t.Error("optimising a many-coloured png changed its pixels")
	}
}

// TestOptimisePNGStopsAtDeadline: the best deflate of a large capture
// (4 MP of noise, seconds of a core) stops when the render's context
// ends, answering its error, rather than running on past the deadline
// with the render's slot.
func TestOptimisePNGStopsAtDeadline(t *testing.T) {
	noise := image.NewNRGBA(image.Rect(0, 0, 2000, 2000))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, noise); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	out, err := optimisePNG(ctx, buf.Bytes())
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Fatalf("optimise with its context ended: %d bytes, err %v; want context.Canceled", len(out), err)
	}
	t.Logf("stopped after %s", time.Since(start))
}

// TestRenderURLSkipWaitTurbo checks that skip_wait captures without
// waiting for an image the page adds after load, and turbo without
// waiting for the load event, each of which never comes here.
func TestRenderURLSkipWaitTurbo(t *testing.T) {
	release := make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/late": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)"><script>
			addEventListener('load', () => { const i = new Image(); i.src = '/slow-late.png'; document.body.appendChild(i); });</script>`),
		"/heavy":          htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)"><img src="/slow-heavy.png">`),
		"/slow-late.png":  slow,
		"/slow-heavy.png": slow,
	})
	t.Cleanup(func() { close(release) })
	p := localPool(t)
	for _, c := range []struct {
		path string
		set  func(r *URLRequest)
	}{
		{"/late", func(r *URLRequest) { r.SkipWait = true }},
		{"/heavy", func(r *URLRequest) { r.Turbo = true }},
	} {
		req := URLRequest{URL: s.URL + c.path, Format: FormatPNG, Width: 400, Height: 300, Timeout: 3 * time.Second}
		if _, err := p.RenderURL(context.Background(), req); !errors.Is(err, ErrRenderTimeout) {
			t.Fatalf("%s without the option: %v, want ErrRenderTimeout", c.path, err)
		}
		c.set(&req)
		res, err := p.RenderURL(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		wantPixel(t, decodePNG(t, res.Data), 200, 150, blue)
	}
}

// TestRenderURLLightweight checks that lightweight never fetches the
// page's web font or video, and still its image.
func TestRenderURLLightweight(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/page": htmlPage(`<!doctype html><style>@font-face{font-family:F;src:url(/f.woff2)}body{font-family:F}</style>` +
			`<body>text<video src="/v.mp4" autoplay muted></video><img src="/i.png" width="10" height="10">` +
			``),
		"/f.woff2": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) },
		"/v.mp4":   func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) },
		"/i.png":   pngPage(t, 10, 10, red),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/page", Width: 400, Height: 300, WaitUntil: WaitRequestsFinished}
	renderPNG(t, p, req)
	for _, path := range []string{"/f.woff2", "/v.mp4", "/i.png"} {
		if s.hitsOf(path) == 0 {
			t.Fatalf("without lightweight %s was never fetched; the test shows nothing", path)
		}
	}
	before := map[string]int{}
	for _, path := range []string{"/f.woff2", "/v.mp4", "/i.png"} {
		before[path] = s.hitsOf(path)
	}
	req.Lightweight = true
	renderPNG(t, p, req)
	for _, path := range []string{"/f.woff2", "/v.mp4"} {
		if n := s.hitsOf(path) - before[path]; n != 0 {
			t.Errorf("lightweight fetched %s %d times", path, n)
		}
	}
	if s.hitsOf("/i.png") == before["/i.png"] {
		t.Error("lightweight did not fetch the image")
	}
}

// TestURLCapture3Validate checks the bounds and companions of this
// file's options.
func TestURLCapture3Validate(t *testing.T) {
	stitch := URLRequest{URL: "http://x", Format: FormatPNG, FullPage: true, FullPageMode: FullPageStitch}
	for _, c := range []func(r *URLRequest){
		func(r *URLRequest) { r.MaxSections = maxSectionCount + 1 },
		func(r *URLRequest) { r.MaxSections = -1 },
		func(r *URLRequest) { r.MaxSectionWidth = 10; r.FullWidth = true },
		func(r *URLRequest) { r.MaxXSections = 2 }, // without full_width
		func(r *URLRequest) { r.FullPageMode = ""; r.ShowSeams = true },
		func(r *URLRequest) { r.FullPage, r.FullPageMode, r.FreezeFixed = false, "", true },
		func(r *URLRequest) { r.MaxScrollTime = MaxScrollPageTime + time.Second },
		func(r *URLRequest) { r.ScrollHeight = maxCaptureHeight + 1 },
		func(r *URLRequest) { r.Optimise, r.Format = true, FormatJPEG },
		func(r *URLRequest) { r.Turbo, r.WaitUntil = true, WaitRequestsFinished },
	} {
		r := stitch
		c(&r)
		if err := r.withDefaults().validate(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want ErrBadRequest", r, err)
		}
	}
	g, err := URLRequest{Height: 10, MaxSectionHeight: 64}.stitchGrid(&page.Viewport{Width: 100, Height: 64 * 500, Scale: 1})
	if err == nil {
		t.Errorf("a grid of %d rows was allowed", len(g.ys)-1)
	}
}

// TestRenderURLSkipFinalDelay checks that skip_final_delay captures
// without the scroll_delay after the scroll's last step: a page of one
// step with a 5 s delay renders in under that.
func TestRenderURLSkipFinalDelay(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/short": htmlPage(`<!doctype html><body style="margin:0;height:600px;background:rgb(0,0,255)">`),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/short", Width: 400, Height: 300, FullPage: true, ScrollIncrement: 300, ScrollDelay: maxScrollDelay}
	start := time.Now()
	renderPNG(t, p, req)
	if d := time.Since(start); d < maxScrollDelay {
		t.Fatalf("the one-step scroll took %s, under its delay; the test shows nothing", d)
	}
	req.SkipFinalDelay = true
	start = time.Now()
	_, img := renderPNG(t, p, req)
	if d := time.Since(start); d >= maxScrollDelay {
		t.Errorf("with skip_final_delay the render took %s, the delay is still there", d)
	}
	wantSize(t, img, 400, 600)
}

// TestRenderURLNoWaitForModifications checks what
// skip_wait_for_modifications asks for holds without it: a page that
// changes its DOM every few milliseconds, forever, is captured.
func TestRenderURLNoWaitForModifications(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/busy": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)"><p id="n"></p><script>
			let i = 0; setInterval(() => { document.getElementById('n').textContent = String(i++); }, 5);</script>`),
	})
	p := localPool(t)
	res, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/busy", Format: FormatPNG, Width: 400, Height: 300, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wantPixel(t, decodePNG(t, res.Data), 200, 250, blue)
}
