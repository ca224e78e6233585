package browser

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/egress/egresstest"
)

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// countIn is how many pixels of img in r are c.
func countIn(img image.Image, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if pixelAt(img, x, y) == c {
				n++
			}
		}
	}
	return n
}

// TestRenderURLWatermarkImage: watermark_url's image is fetched through
// the guard and drawn on the capture, sized, blended, tiled and rotated
// as asked; an image that is private, missing, not an image or too large
// fails the render before any browser work, naming watermark_url.
func TestRenderURLWatermarkImage(t *testing.T) {
	logo := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	draw.Draw(logo, logo.Bounds(), image.NewUniform(color.NRGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	logoPNG, bigPNG := pngOf(t, logo), pngOf(t, image.NewGray(image.Rect(0, 0, 3000, 2000)))
	serve := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(b)
		}
	}
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/plain":    htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,0,255)">`),
		"/logo.png": serve(logoPNG),
		"/big.png":  serve(bigPNG),
		"/text.png": serve([]byte("<html>not an image</html>")),
	})
	p := localPool(t)
	base := URLRequest{URL: s.URL + "/plain", Width: 400, Height: 300}
	mark := Watermark{ImageURL: s.URL + "/logo.png", Width: "80", Opacity: 1, Position: "center"}
	render := func(w Watermark) image.Image {
		req := base
		req.Watermark = w
		_, img := renderPNG(t, p, req)
		return img
	}
	// 80 wide keeps 2:1: an 80x40 red box in the middle, the rest blue.
	box := image.Rect(160, 130, 240, 170)
	img := render(mark)
	if n := countIn(img, box, red); n != 80*40 {
		t.Errorf("%d of the box's pixels are the logo's red, want %d", n, 80*40)
	}
	if n := countIn(img, img.Bounds(), blue); n != 400*300-80*40 {
		t.Errorf("%d blue pixels, want all %d outside the box", n, 400*300-80*40)
	}
	if s.hitsOf("/logo.png") == 0 {
		t.Error("the image was not fetched from its server")
	}
	t.Run("width percent and height", func(t *testing.T) {
		w := mark
		w.Width, w.Height = "50%", "10"
		img := render(w)
		if n := countIn(img, img.Bounds(), red); n != 200*10 {
			t.Errorf("%d red pixels, want 200x10", n)
		}
	})
	t.Run("blend", func(t *testing.T) {
		w := mark
		w.Blend = "multiply" // red times blue is black
		if n := countIn(render(w), box, black); n != 80*40 {
			t.Errorf("multiply: %d black pixels in the box, want %d", n, 80*40)
		}
		w.Blend = "screen" // red screen blue is magenta
		if n := countIn(render(w), box, color.RGBA{255, 0, 255, 255}); n != 80*40 {
			t.Errorf("screen: %d magenta pixels in the box, want %d", n, 80*40)
		}
	})
	t.Run("repeat", func(t *testing.T) {
		w := mark
		w.Repeat = "repeat"
		if img := render(w); countIn(img, img.Bounds(), red) != 400*300 {
			t.Error("a tiled watermark does not cover the capture")
		}
		w.Repeat = "repeat-x"
		img := render(w)
		if countIn(img, image.Rect(0, 130, 400, 170), red) != 400*40 || countIn(img, img.Bounds(), red) != 400*40 {
			t.Error("repeat-x is not the logo's row")
		}
	})
	t.Run("angle", func(t *testing.T) {
		w := mark
		w.Angle = 90
		img := render(w)
		if n := countIn(img, image.Rect(180, 110, 220, 190), red); n != 40*80 {
			t.Errorf("turned 90°: %d red pixels in the 40x80 box, want %d", n, 40*80)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for url, want := range map[string]string{
			"http://169.254.169.254/logo.png": "watermark_url",
			"http://10.1.2.3/logo.png":        "watermark_url",
			s.URL + "/missing.png":            "answered 404",
			s.URL + "/text.png":               "not a png",
			s.URL + "/big.png":                "over 4194304 pixels",
		} {
			req := base
			req.Format = FormatPNG
			req.Watermark = Watermark{ImageURL: url}
			_, err := p.RenderURL(context.Background(), req)
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "watermark_url") || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want ErrBadRequest naming watermark_url (%s)", url, err, want)
			}
		}
		if n := s.hitsOf("/plain"); n != 7 {
			t.Errorf("the page was loaded %d times, want 7 (none for the refused watermarks)", n)
		}
	})
}

// TestRenderURLWatermarkFetchedOnceAdmitted: the watermark image is
// fetched only once the render is admitted, so a flood of requests with
// a watermark_url cannot hold more fetched and decoded images than the
// pool admits renders. With MaxTabs 1 and QueueSize 1, two renders whose
// image hangs fill the pool: the third is refused (ErrQueueFull) and its
// image server never hears from it.
func TestRenderURLWatermarkFetchedOnceAdmitted(t *testing.T) {
	logoPNG := pngOf(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	arrived, release := make(chan struct{}, 8), make(chan struct{})
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/plain": htmlPage(`<!doctype html><body>`),
		"/slow.png": func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
		"/logo.png": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(logoPNG)
		},
	})
	resolver, _ := egresstest.FakeResolver(netip.MustParseAddr("127.0.0.1"))
	g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Config{MaxTabs: 1, QueueSize: 1, Egress: g, RenderTimeout: 20 * time.Second})
	req := func(mark string) URLRequest {
		return URLRequest{URL: s.URL + "/plain", Width: 200, Height: 100, Format: FormatPNG, SpaceID: "flood",
			Watermark: Watermark{ImageURL: s.URL + mark, Opacity: 1}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); close(release); wg.Wait() }()
	for range 2 {
		wg.Go(func() { _, _ = p.RenderURL(ctx, req("/slow.png")) })
	}
	for range 2 {
		receive(t, arrived, 15*time.Second, "the two hanging watermark fetches did not start")
	}
	_, err = p.RenderURL(context.Background(), req("/logo.png"))
	if !errors.Is(err, ErrQueueFull) {
		t.Errorf("third render: err %v, want ErrQueueFull", err)
	}
	if n := s.hitsOf("/logo.png"); n != 0 {
		t.Errorf("the refused render fetched its watermark image %d times, want 0", n)
	}
}
