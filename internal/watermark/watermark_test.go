package watermark

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"
)

func TestDraw(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{0, 0, 255, 255}), image.Point{}, draw.Src)
	s := Spec{Text: "Draft", Colour: color.NRGBA{255, 255, 255, 255}, Background: color.NRGBA{0, 0, 0, 255}, Opacity: 1, X: 1, Y: 1, Size: 30}
	if err := Draw(img, s); err != nil {
		t.Fatal(err)
	}
	box, err := Box(img.Bounds(), s)
	if err != nil {
		t.Fatal(err)
	}
	// Bottom right, a margin of half the font size from the edges.
	if box.Max != image.Pt(285, 185) || box.Dx() < 60 {
		t.Fatalf("box %v", box)
	}
	var white, black int
	for y := range 200 {
		for x := range 300 {
			c := img.NRGBAAt(x, y)
			in := image.Pt(x, y).In(box)
			switch {
			case !in && c != (color.NRGBA{0, 0, 255, 255}):
				t.Fatalf("pixel (%d,%d) outside %v is %v", x, y, box, c)
			case in && c == (color.NRGBA{255, 255, 255, 255}):
				white++
			case in && c == (color.NRGBA{0, 0, 0, 255}):
				black++
			}
		}
	}
	if white < 100 || black < 100 {
		t.Errorf("the box has %d white (text) and %d black (background) pixels", white, black)
	}
}

func TestDrawOpacity(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 100, 60))
	s := Spec{Text: "x", Background: color.NRGBA{255, 0, 0, 255}, Opacity: 0.5, X: 0, Y: 0, Size: 20}
	if err := Draw(img, s); err != nil {
		t.Fatal(err)
	}
	box, _ := Box(img.Bounds(), s)
	if a := img.NRGBAAt(box.Min.X, box.Min.Y).A; a < 120 || a > 135 {
		t.Errorf("a half-opaque background has alpha %d", a)
	}
}

func TestValidate(t *testing.T) {
	ok := Spec{Text: "x", Opacity: 1, Size: 20}
	for name, s := range map[string]Spec{
		"no text":      {Opacity: 1, Size: 20},
		"long text":    {Text: strings.Repeat("é", MaxText+1), Opacity: 1, Size: 20},
		"bad utf-8":    {Text: "\xff", Opacity: 1, Size: 20},
		"tiny":         {Text: "x", Opacity: 1, Size: 1},
		"huge":         {Text: "x", Opacity: 1, Size: MaxSize + 1},
		"opacity":      {Text: "x", Opacity: 1.5, Size: 20},
		"off the edge": {Text: "x", Opacity: 1, Size: 20, X: 2},
	} {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	// A watermark larger than the image is cut to it.
	small := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	if err := Draw(small, Spec{Text: strings.Repeat("W", MaxText), Colour: color.NRGBA{255, 255, 255, 255}, Opacity: 1, Size: MaxSize}); err != nil {
		t.Fatal(err)
	}
}
