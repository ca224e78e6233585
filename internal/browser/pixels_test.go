package browser

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// The image checks every test of the package shares: a capture decoded,
// and its pixels and size compared with what the page draws.

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	green = color.RGBA{0, 255, 0, 255}
	red   = color.RGBA{255, 0, 0, 255}
)

// decodePNG decodes a PNG capture, failing the test if it is none.
func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	return img
}

// pixelAt is img's pixel at (x, y), alpha included.
func pixelAt(img image.Image, x, y int) color.RGBA {
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

// wantPixel checks img's pixel at (x, y), alpha included: an opaque colour
// is no match for a transparent pixel.
func wantPixel(t *testing.T, img image.Image, x, y int, want color.RGBA) {
	t.Helper()
	if got := pixelAt(img, x, y); got != want {
		t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
	}
}

// wantSize checks img's size, and ends the test if it is wrong (no pixel
// check would mean anything).
func wantSize(t *testing.T, img image.Image, w, h int) {
	t.Helper()
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
}
