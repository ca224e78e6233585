package takumi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/testkit"
)

func solid(t testing.TB, w, h int, c color.Color) []byte { return testkit.SolidPNG(t, w, h, c) }

func TestImageURLs(t *testing.T) {
	doc := `<div style="background-image: url('https://a.test/bg.png?x=1&amp;y=2')"><img src="https://a.test/p.png?a=1&amp;b=2">` +
		`<img src="data:image/png;base64,AAAA"><img src="file:///etc/passwd"><img src=" HTTP://b.test/u.png ">` +
		`<style>.x { background: url(http://c.test/s.png) } .y { background: url("https://a.test/p.png?a=1&b=2") }</style></div>`
	want := []string{"https://a.test/bg.png?x=1&y=2", "https://a.test/p.png?a=1&b=2", "HTTP://b.test/u.png", "http://c.test/s.png"}
	if got := ImageURLs(doc); !slices.Equal(got, want) {
		t.Fatalf("ImageURLs = %q\nwant %q", got, want)
	}
}

func FuzzImageURLs(f *testing.F) {
	f.Add(`<img src="https://a.test/x.png"><p style="background:url(http://b.test/y)">`)
	f.Add(`<style>@import url("x")</style><img src=`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, u := range ImageURLs(doc) {
			if l := strings.ToLower(u); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Fatalf("ImageURLs returned %q, not http(s)", u)
			}
		}
	})
}

func FuzzUnsupported(f *testing.F) {
	f.Add(`<div style="float:left"><script>x()</script></div>`)
	f.Add(`<style>h1::before{content:"x"}</style>`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, why := range Unsupported(doc) {
			if why == "" {
				t.Fatal("an empty reason")
			}
		}
	})
}

func TestUnsupported(t *testing.T) {
	for doc, want := range map[string]string{
		`<div style="display:flex"><b>ok</b></div>`:                       "",
		`<div style="display:grid;background:linear-gradient(red,blue)">`: "",
		`<p style="float: left">x</p>`:                                    "float",
		`<style>p::after { content: "x" }</style>`:                        "generated content",
		`<script>document.write(1)</script>`:                              "scripts do not run",
		`<link rel="stylesheet" href="https://x.test/a.css">`:             "not fetched",
		`<style>@font-face { font-family: X; src: url(x.woff) }</style>`:  "web fonts",
		`<div style="writing-mode: vertical-rl">縦</div>`:                  "vertical",
	} {
		got := strings.Join(Unsupported(doc), "; ")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("Unsupported(%q) = %q, want %q", doc, got, want)
		}
	}
}

// TestImagesThroughTheGuard: takumi fetches nothing; an image a template
// references is fetched through the egress guard's client and handed over
// as bytes. A loopback image is drawn where the operator allows loopback,
// and left out (never requested) where the default guard refuses it.
func TestImagesThroughTheGuard(t *testing.T) {
	red := solid(t, 40, 40, color.RGBA{R: 255, A: 255})
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(red)
	}))
	defer srv.Close()
	doc := `<div style="display:flex;width:100%;height:100%;background:#fff"><img src="` + srv.URL + `/red.png" width="40" height="40"></div>`
	isRed := func(r, g, b uint32) bool { return r > 240 && g < 20 && b < 20 }

	allow, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	r := startRenderer(t, Config{Fetch: allow.HTTPClient(egress.ClientOptions{})})
	b, err := r.Render(context.Background(), Request{HTML: doc, Width: 100, Height: 100, Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	if n := countPixels(decodePNG(t, b), image.Rect(0, 0, 40, 40), isRed); n < 1500 || hits.Load() != 1 {
		t.Fatalf("allowed image: %d red pixels, %d requests; want the image drawn, fetched once", n, hits.Load())
	}

	deny, err := egress.New(egress.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r = startRenderer(t, Config{Fetch: deny.HTTPClient(egress.ClientOptions{})})
	b, err = r.Render(context.Background(), Request{HTML: doc, Width: 100, Height: 100, Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	if n := countPixels(decodePNG(t, b), image.Rect(0, 0, 100, 100), isRed); n != 0 || hits.Load() != 1 || r.Stats().ImagesRefused != 1 {
		t.Fatalf("refused image: %d red pixels, %d requests, stats %+v; want it left out, never requested", n, hits.Load(), r.Stats())
	}

	big := startRenderer(t, Config{Fetch: allow.HTTPClient(egress.ClientOptions{}), MaxImageBytes: 100})
	b, err = big.Render(context.Background(), Request{HTML: doc, Width: 100, Height: 100, Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	if n := countPixels(decodePNG(t, b), image.Rect(0, 0, 100, 100), isRed); n != 0 || big.Stats().ImagesRefused != 1 {
		t.Fatalf("image over MaxImageBytes: %d red pixels, stats %+v; want it left out", n, big.Stats())
	}
}

func TestSSIM(t *testing.T) {
	white := solid(t, 120, 60, color.White)
	if s, err := Similarity(white, white); err != nil || s != 1 {
		t.Fatalf("identical: %v %v", s, err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 120, 60))
	for y := range 60 {
		for x := range 120 {
			img.Set(x, y, color.White)
			if x > 20 && x < 60 && y > 10 && y < 50 {
				img.Set(x, y, color.Black)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	if s, err := Similarity(white, buf.Bytes()); err != nil || s >= Threshold {
		t.Fatalf("a black box missing scores %v (%v), want below %v", s, err, Threshold)
	}
	if _, err := Similarity(white, solid(t, 60, 60, color.White)); err == nil {
		t.Fatal("images of different sizes compared")
	}
}
