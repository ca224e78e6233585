package browser

import (
	"context"
	"image"
	"testing"
)

// TestFontsHaveGlyphs checks that the fonts install-deps.sh installs are
// there and used: CJK text and emoji render as real glyphs, not as the
// .notdef "tofu" boxes Chromium draws for characters no font has.
//
// Two unassigned code points give the reference tofu rendering; a script
// whose font is missing renders exactly like it.
func TestFontsHaveGlyphs(t *testing.T) {
	p := newPool(t, Config{MaxTabs: 1})
	render := func(text string) image.Image {
		t.Helper()
		res, err := p.Render(context.Background(), pngRequest(Page{
			HTML: `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#fff;color:#000;` +
				`font:64px sans-serif">` + text + `</body>`,
			Width: 300, Height: 100,
		}))
		if err != nil {
			t.Fatalf("render %q: %v", text, err)
		}
		return decodePNG(t, res.Data)
	}
	tofu := render("\u0378\u0379")
	if ink(tofu) == 0 {
		t.Fatal("the .notdef reference has no ink; the test cannot tell tofu from glyphs")
	}
	// Any two missing characters look alike, which is what lets a missing
	// font be detected by comparison.
	if !sameImage(render("\u0380\u0381"), tofu) {
		t.Fatal("two pairs of unassigned code points rendered differently; the test cannot tell tofu from glyphs")
	}
	renders := map[string]image.Image{}
	for _, text := range []string{"漢字", "かな", "한글", "😀🎉"} {
		img := render(text)
		renders[text] = img
		switch {
		case ink(img) == 0:
			t.Errorf("%q rendered nothing", text)
		case sameImage(img, tofu):
			t.Errorf("%q rendered as tofu boxes: its font is missing", text)
		}
	}
	if sameImage(renders["漢字"], renders["😀🎉"]) {
		t.Error("CJK and emoji rendered alike")
	}
	if !hasColour(renders["😀🎉"]) {
		t.Error("emoji rendered without colour: the colour emoji font is missing")
	}
}

// ink counts pixels that are not white.
func ink(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if pixelAt(img, x, y) != white {
				n++
			}
		}
	}
	return n
}

// hasColour reports whether any pixel is clearly not grey.
func hasColour(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := pixelAt(img, x, y)
			hi := max(c.R, c.G, c.B)
			lo := min(c.R, c.G, c.B)
			if hi-lo > 80 {
				return true
			}
		}
	}
	return false
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if pixelAt(a, x, y) != pixelAt(b, x, y) {
				return false
			}
		}
	}
	return true
}
