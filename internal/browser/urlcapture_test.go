package browser

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	_ "github.com/gen2brain/webp" // registers the webp decoder for image.Decode

	"github.com/renderhook/renderhook/internal/watermark"
)

// decodeAny decodes a PNG, JPEG or WebP.
func decodeAny(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// nearPixel checks a pixel within tol of want on each channel (for
// resampled or lossy images).
func nearPixel(t *testing.T, img image.Image, x, y int, want color.RGBA, tol int) {
	t.Helper()
	got := pixelAt(img, x, y)
	d := func(a, b uint8) bool { return int(a)-int(b) > tol || int(b)-int(a) > tol }
	if d(got.R, want.R) || d(got.G, want.G) || d(got.B, want.B) || d(got.A, want.A) {
		t.Errorf("pixel (%d,%d) = %v, want %v ± %d", x, y, got, want, tol)
	}
}

// TestRenderURLImgFit checks img_fit, img_position, img_bg and img_pad by
// the output's size and the colours where the capture and the padding
// land.
func TestRenderURLImgFit(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		// Left half red, right half blue.
		"/halves": htmlPage(`<!doctype html><body style="margin:0;height:3000px;background:linear-gradient(to right,rgb(255,0,0) 50%,rgb(0,0,255) 50%)">`),
	})
	p := localPool(t)
	base := URLRequest{URL: s.URL + "/halves", Width: 800, Height: 600, ThumbWidth: 200, ThumbHeight: 200}
	with := func(f func(r *URLRequest)) URLRequest { r := base; f(&r); return r }

	type spot struct {
		x, y int
		want color.RGBA
	}
	for _, c := range []struct {
		name     string
		fit      ImgFit
		pos, bg  string
		w, h     int
		expected []spot
	}{
		// 800x600 at 1/3 is 267x200; the centre 200 px keep css 100..700.
		{"cover crops the centre", FitCover, "", "", 200, 200, []spot{{90, 100, red}, {110, 100, blue}}},
		{"cover at the left", FitCover, "left", "", 200, 200, []spot{{125, 100, red}, {140, 100, blue}}}, // css 375 and 420
		// 800x600 at 1/4 is 200x150, 25 px of green above and below.
		{"contain pads with img_bg", FitContain, "", "#00ff00", 200, 200,
			[]spot{{100, 10, green}, {100, 190, green}, {50, 100, red}, {150, 100, blue}}},
		{"contain at the top, white by default", FitContain, "top", "", 200, 200, []spot{{50, 10, red}, {50, 180, white}}},
		{"inside", FitInside, "", "", 200, 150, nil},
		{"outside", FitOutside, "", "", 267, 200, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, img := renderPNG(t, p, with(func(r *URLRequest) { r.ImgFit, r.ImgPosition, r.ImgBg = c.fit, c.pos, c.bg }))
			wantSize(t, img, c.w, c.h)
			for _, s := range c.expected {
				wantPixel(t, img, s.x, s.y, s.want)
			}
		})
	}
	t.Run("fill stretches", func(t *testing.T) {
		_, img := renderPNG(t, p, with(func(r *URLRequest) { r.ImgFit = FitFill }))
		wantSize(t, img, 200, 200)
		nearPixel(t, img, 50, 195, red, 2)
		nearPixel(t, img, 150, 5, blue, 2)
	})
	t.Run("img_pad", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/halves", Width: 200, Height: 100, ImgPad: [4]int{10, 20, 30, 40}, ImgBg: "rgb(0,255,0)"})
		wantSize(t, img, 260, 140)
		wantPixel(t, img, 5, 5, green)       // the top-left padding
		wantPixel(t, img, 255, 135, green)   // the bottom-right padding
		wantPixel(t, img, 40+10, 10+50, red) // the capture, moved by left and top
		wantPixel(t, img, 40+190, 10+50, blue)
	})
	t.Run("contain as jpeg and webp", func(t *testing.T) {
		for _, f := range []Format{FormatJPEG, FormatWebP} {
			res := renderAs(t, p, with(func(r *URLRequest) { r.ImgFit, r.ImgBg, r.Format = FitContain, "#00ff00", f }))
			img := decodeAny(t, res.Data)
			wantSize(t, img, 200, 200)
			nearPixel(t, img, 100, 8, green, 24)
			nearPixel(t, img, 50, 100, red, 24)
		}
	})
	t.Run("transparent padding keeps alpha", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/halves", Width: 200, Height: 100, ImgPad: [4]int{8, 8, 8, 8}, ImgBg: "transparent"})
		if a := pixelAt(img, 2, 2).A; a != 0 {
			t.Errorf("padding alpha = %d, want 0", a)
		}
	})
}

// TestRenderURLCrop checks crop_width and max_width by the output's size.
func TestRenderURLCrop(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/halves": htmlPage(`<!doctype html><body style="margin:0;height:1000px;background:linear-gradient(to right,rgb(255,0,0) 50%,rgb(0,0,255) 50%)">`),
		"/wide":   htmlPage(`<!doctype html><body style="margin:0"><div style="width:3000px;height:100px;background:rgb(0,255,0)"></div>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/halves", Width: 800, Height: 600, CropWidth: 300})
	wantSize(t, img, 300, 600)
	wantPixel(t, img, 290, 100, red) // only the left, red, part is kept
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/halves", Width: 800, Height: 600, CropWidth: 600, ThumbWidth: 300})
	wantSize(t, img, 300, 300) // cropped to 600x600, then halved
	wantPixel(t, img, 190, 100, red)
	wantPixel(t, img, 210, 100, blue)
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/wide", Width: 800, Height: 300, FullPage: true, FullWidth: true, MaxWidth: 1200})
	wantSize(t, img, 1200, 300)
}

// bandsPage is 10 bands of 100 px, alternating red and blue, whose last
// band turns green only once it has been scrolled into the viewport.
const bandsPage = `<!doctype html><body style="margin:0">` +
	`<div style="height:100px;background:rgb(255,0,0)"></div><div style="height:100px;background:rgb(0,0,255)"></div>` +
	`<div style="height:100px;background:rgb(255,0,0)"></div><div style="height:100px;background:rgb(0,0,255)"></div>` +
	`<div style="height:100px;background:rgb(255,0,0)"></div><div style="height:100px;background:rgb(0,0,255)"></div>` +
	`<div style="height:100px;background:rgb(255,0,0)"></div><div style="height:100px;background:rgb(0,0,255)"></div>` +
	`<div style="height:100px;background:rgb(255,0,0)"></div><div id="last" style="height:100px;background:rgb(0,0,255)"></div>` +
	`<script>addEventListener('scroll', () => { if (scrollY + innerHeight > 950) document.getElementById('last').style.background = 'rgb(0,255,0)'; });</script>`

// TestRenderURLStitch checks full_page_mode=stitch: the sections join
// into the whole page, band by band, and each was scrolled into view.
func TestRenderURLStitch(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/bands": htmlPage(bandsPage)})
	p := localPool(t)
	for _, req := range []URLRequest{
		{URL: s.URL + "/bands", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageStitch, MaxSectionHeight: 250},
		{URL: s.URL + "/bands", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageStitch, Retina: true},
	} {
		_, img := renderPNG(t, p, req)
		k := 1
		if req.Retina {
			k = 2
		}
		wantSize(t, img, 400*k, 1000*k)
		for band := range 9 {
			want := red
			if band%2 == 1 {
				want = blue
			}
			for _, dy := range []int{2, 50, 97} {
				wantPixel(t, img, 200*k, (band*100+dy)*k, want)
			}
		}
		wantPixel(t, img, 200*k, 950*k, green) // the last section was scrolled to
	}
	// The native mode draws the page in one go, without scrolling it.
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/bands", Width: 400, Height: 300, FullPage: true, FullPageMode: FullPageNative})
	wantSize(t, img, 400, 1000)
	wantPixel(t, img, 200, 950, blue)
}

// TestRenderURLDetectFullHeight checks that detect_full_height captures
// the content of an app shell that scrolls inside a 100vh element.
func TestRenderURLDetectFullHeight(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/shell": htmlPage(`<!doctype html><html style="height:100%"><body style="margin:0;height:100%;overflow:hidden">` +
			`<div id="app" style="height:100vh;overflow:auto"><div style="height:2500px;background:#fff"></div>` +
			`<div style="height:500px;background:rgb(255,0,0)"></div></div>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/shell", Width: 400, Height: 300, FullPage: true})
	wantSize(t, img, 400, 300) // the document itself is one viewport high
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/shell", Width: 400, Height: 300, FullPage: true, DetectFullHeight: true})
	wantSize(t, img, 400, 3000)
	wantPixel(t, img, 200, 2700, red)
}

// TestRenderURLAllowInfinite checks that a scroll through an infinitely
// growing page stops at the page's first height unless allow_infinite,
// which follows it to max_height.
func TestRenderURLAllowInfinite(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/feed": htmlPage(`<!doctype html><body style="margin:0"><div style="height:1000px;background:rgb(0,0,255)"></div><script>
			addEventListener('scroll', () => {
			  if (scrollY + innerHeight < document.documentElement.scrollHeight - 100) return;
			  const d = document.createElement('div'); d.style.cssText = 'height:500px;background:rgb(255,0,0)'; document.body.appendChild(d);
			});</script>`),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/feed", Width: 400, Height: 300, FullPage: true, ScrollIncrement: 300, MaxHeight: 4000}
	_, img := renderPNG(t, p, req)
	if h := img.Bounds().Dy(); h >= 2500 {
		t.Errorf("without allow_infinite the page grew to %d px, want the first 1000 and at most a batch or two", h)
	}
	req.AllowInfinite = true
	_, img = renderPNG(t, p, req)
	wantSize(t, img, 400, 4000)
	wantPixel(t, img, 200, 3900, red)
}

// TestRenderURLLazyLoad checks that lazyload brings in a lazy image far
// below the fold and an element revealed by an IntersectionObserver.
func TestRenderURLLazyLoad(t *testing.T) {
	var blueImg bytes.Buffer
	sq := image.NewRGBA(image.Rect(0, 0, 50, 50))
	for i := range sq.Pix {
		if i%4 == 2 || i%4 == 3 {
			sq.Pix[i] = 255
		}
	}
	if err := png.Encode(&blueImg, sq); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/lazy": htmlPage(`<!doctype html><body style="margin:0"><div style="height:6000px"></div>` +
			`<img src="/blue.png" loading="lazy" style="display:block;width:100px;height:100px">` +
			`<div id="io" style="height:100px;background:rgb(255,0,0)"></div><script>
			new IntersectionObserver((es) => { if (es[0].isIntersecting) document.getElementById('io').style.background = 'rgb(0,255,0)'; })
			  .observe(document.getElementById('io'));</script>`),
		"/blue.png": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(blueImg.Bytes())
		},
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/lazy", Width: 400, Height: 300, FullPage: true})
	wantPixel(t, img, 200, 6150, red) // without it, nothing scrolls to the observed element
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/lazy", Width: 400, Height: 300, FullPage: true, LazyLoad: true})
	wantSize(t, img, 400, 6200)
	wantPixel(t, img, 50, 6050, blue)
	wantPixel(t, img, 200, 6150, green)
	if s.hitsOf("/blue.png") == 0 {
		t.Error("the lazy image was never fetched")
	}
	// A viewport capture scrolled by scroll_to stays there after the
	// lazyload scroll.
	_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/lazy", Width: 400, Height: 300, LazyLoad: true, ScrollTo: "5900"})
	wantSize(t, img, 400, 300)
	wantPixel(t, img, 50, 150, blue)   // css 6050
	wantPixel(t, img, 200, 250, green) // css 6150
}

// TestRenderURLWatermark checks that the watermark changes the pixels of
// its box and nothing else.
func TestRenderURLWatermark(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/plain": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
	})
	p := localPool(t)
	req := URLRequest{URL: s.URL + "/plain", Width: 400, Height: 300}
	_, plain := renderPNG(t, p, req)
	req.Watermark = Watermark{Text: "CONFIDENTIAL", Colour: "#ffffff", Opacity: 1, Size: 32, Position: "center"}
	_, marked := renderPNG(t, p, req)
	wantSize(t, marked, 400, 300)
	spec, err := req.Watermark.spec(marked.Bounds(), nil)
	if err != nil {
		t.Fatal(err)
	}
	box, err := watermark.Box(marked.Bounds(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if box.Dx() < 100 || box.Min.X < 50 || box.Max.X > 350 {
		t.Fatalf("a centred 12-letter watermark at 32 px sits at %v", box)
	}
	changed := 0
	for y := range 300 {
		for x := range 400 {
			same := pixelAt(plain, x, y) == pixelAt(marked, x, y)
			in := image.Pt(x, y).In(box)
			if !in && !same {
				t.Fatalf("pixel (%d,%d) outside the watermark's box %v changed", x, y, box)
			}
			if in && !same {
				changed++
			}
		}
	}
	if changed < 300 {
		t.Errorf("only %d pixels of the watermark's box changed", changed)
	}
	// White text: some pixel in the box is white now.
	found := false
	for y := box.Min.Y; y < box.Max.Y && !found; y++ {
		for x := box.Min.X; x < box.Max.X && !found; x++ {
			found = pixelAt(marked, x, y) == white
		}
	}
	if !found {
		t.Error("no white text pixel in the watermark's box")
	}
	t.Run("webp", func(t *testing.T) {
		req := req
		req.Format = FormatWebP
		res, err := p.RenderURL(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		wantSize(t, decodeAny(t, res.Data), 400, 300)
	})
}

// TestURLCaptureValidate checks the bounds of this file's options, which
// fail before any browser work.
func TestURLCaptureValidate(t *testing.T) {
	ok := URLRequest{URL: "https://example.com/", Format: FormatPNG}.withDefaults()
	for name, f := range map[string]func(r *URLRequest){
		"fit without thumbs":   func(r *URLRequest) { r.ImgFit, r.ThumbWidth = FitCover, 100 },
		"unknown fit":          func(r *URLRequest) { r.ImgFit, r.ThumbWidth, r.ThumbHeight = "squash", 10, 10 },
		"unknown position":     func(r *URLRequest) { r.ImgPosition = "entropy" },
		"bad colour":           func(r *URLRequest) { r.ImgBg = "#12" },
		"pad too big":          func(r *URLRequest) { r.ImgPad = [4]int{0, MaxImgPad + 1, 0, 0} },
		"negative pad":         func(r *URLRequest) { r.ImgPad = [4]int{-1, 0, 0, 0} },
		"crop too wide":        func(r *URLRequest) { r.CropWidth = maxDimension + 1 },
		"unknown mode":         func(r *URLRequest) { r.FullPageMode = "tiles" },
		"tiny sections":        func(r *URLRequest) { r.MaxSectionHeight = 10 },
		"watermark on a pdf":   func(r *URLRequest) { r.Format, r.Watermark = FormatPDF, Watermark{Text: "x"} },
		"watermark too long":   func(r *URLRequest) { r.Watermark = Watermark{Text: strings.Repeat("x", 201)} },
		"watermark no text":    func(r *URLRequest) { r.Watermark = Watermark{Size: 20} },
		"watermark huge font":  func(r *URLRequest) { r.Watermark = Watermark{Text: "x", Size: 1000} },
		"watermark opacity":    func(r *URLRequest) { r.Watermark = Watermark{Text: "x", Opacity: 2} },
		"pdf dpi":              func(r *URLRequest) { r.Format, r.PDF = FormatPDF, PDFOptions{DPI: 20} },
		"pdf dpi times scale":  func(r *URLRequest) { r.Format, r.PDF = FormatPDF, PDFOptions{DPI: 900, Scale: 0.5} },
		"pdf header height":    func(r *URLRequest) { r.Format, r.PDF = FormatPDF, PDFOptions{HeaderHeight: 201} },
		"pdf fit and crop":     func(r *URLRequest) { r.Format, r.PDF = FormatPDF, PDFOptions{FitToPage: true, AutoCrop: true} },
		"watermark bad colour": func(r *URLRequest) { r.Watermark = Watermark{Text: "x", Colour: "rgb(300,0,0)"} },
	} {
		r := ok
		f(&r)
		if err := r.validate(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
		}
	}
	if err := ok.validate(); err != nil {
		t.Fatalf("the base request: %v", err)
	}
}

func TestParseColour(t *testing.T) {
	for in, want := range map[string]color.NRGBA{
		"#f00": {255, 0, 0, 255}, "#00ff0080": {0, 255, 0, 128}, "#ABCDEF": {0xab, 0xcd, 0xef, 255}, "#0f08": {0, 255, 0, 0x88},
		"rgb(1, 2, 3)": {1, 2, 3, 255}, "rgba(1,2,3,0)": {1, 2, 3, 0}, "rgba(10, 20, 30, 0.5)": {10, 20, 30, 128},
		" White ": {255, 255, 255, 255}, "transparent": {},
	} {
		got, err := ParseColour(in)
		if err != nil || got != want {
			t.Errorf("ParseColour(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "#12", "#ggg", "rgb(1,2)", "rgb(256,0,0)", "rgba(1,2,3,2)", "rgb(1,2,3", "papayawhip", "rgb(1,2,3)x"} {
		if _, err := ParseColour(in); err == nil {
			t.Errorf("ParseColour(%q) accepted", in)
		}
	}
}

func FuzzParseColour(f *testing.F) {
	for _, s := range []string{"#fff", "rgba(1,2,3,0.5)", "red", "rgb(", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColour(s)
		if err != nil && c != (color.NRGBA{}) {
			t.Fatalf("ParseColour(%q) returned %v with error %v", s, c, err)
		}
	})
}
