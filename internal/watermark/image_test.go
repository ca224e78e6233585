package watermark

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"
)

func uniform(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

var (
	blueC  = color.NRGBA{0, 0, 255, 255}
	redC   = color.NRGBA{255, 0, 0, 255}
	greenC = color.NRGBA{0, 255, 0, 255}
)

// halves is a w x h image, its left half red and its right half green.
func halves(w, h int) *image.NRGBA {
	img := uniform(w, h, redC)
	draw.Draw(img, image.Rect(w/2, 0, w, h), image.NewUniform(greenC), image.Point{}, draw.Src)
	return img
}

// count is how many pixels of img in r are c.
func count(img *image.NRGBA, r image.Rectangle, c color.NRGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.NRGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

// TestDrawImage: an image watermark lands scaled (aspect kept) in its
// box at the position, and nothing outside the box changes.
func TestDrawImage(t *testing.T) {
	dst := uniform(300, 200, blueC)
	s := Spec{Image: uniform(40, 20, redC), Width: 80, Opacity: 1, X: 1, Y: 1}
	if err := Draw(dst, s); err != nil {
		t.Fatal(err)
	}
	box, err := Box(dst.Bounds(), s)
	if err != nil {
		t.Fatal(err)
	}
	// 80 wide keeps 2:1, so 40 high; a 12 px margin at the bottom right.
	if box != image.Rect(208, 148, 288, 188) {
		t.Fatalf("box %v", box)
	}
	if n := count(dst, box, redC); n != 80*40 {
		t.Errorf("%d red pixels in the box, want all %d", n, 80*40)
	}
	if n := count(dst, dst.Bounds(), blueC); n != 300*200-80*40 {
		t.Errorf("%d blue pixels outside the box, want %d", n, 300*200-80*40)
	}
	// Both sides given: stretched to them.
	s.Height = 10
	if box, _ := Box(dst.Bounds(), s); box.Dx() != 80 || box.Dy() != 10 {
		t.Errorf("80x10 lands as %v", box)
	}
}

// TestDrawBlend: each blend mode gives CSS's value over an opaque
// backdrop.
func TestDrawBlend(t *testing.T) {
	cb, cs := color.NRGBA{200, 100, 50, 255}, color.NRGBA{128, 64, 230, 255}
	f := func(v uint8) float64 { return float64(v) / 255 }
	want := map[string]func(b, s float64) float64{
		"normal":     func(_, s float64) float64 { return s },
		"multiply":   func(b, s float64) float64 { return b * s },
		"screen":     func(b, s float64) float64 { return b + s - b*s },
		"darken":     math.Min,
		"lighten":    math.Max,
		"difference": func(b, s float64) float64 { return math.Abs(b - s) },
		"exclusion":  func(b, s float64) float64 { return b + s - 2*b*s },
		"overlay": func(b, s float64) float64 {
			if b <= 0.5 {
				return 2 * b * s
			}
			return 1 - 2*(1-b)*(1-s)
		},
		"color-dodge": func(b, s float64) float64 { return min(1, b/(1-s)) },
		"color-burn":  func(b, s float64) float64 { return 1 - min(1, (1-b)/s) },
	}
	for mode, fn := range want {
		dst := uniform(60, 60, cb)
		if err := Draw(dst, Spec{Image: uniform(10, 10, cs), Opacity: 1, Blend: mode, X: 0.5, Y: 0.5}); err != nil {
			t.Fatal(mode, err)
		}
		got := dst.NRGBAAt(30, 30)
		for i, pair := range [][2]uint8{{cb.R, cs.R}, {cb.G, cs.G}, {cb.B, cs.B}} {
			w := fn(f(pair[0]), f(pair[1])) * 255
			if g := float64([]uint8{got.R, got.G, got.B}[i]); math.Abs(g-w) > 1 {
				t.Errorf("%s: channel %d is %v, want %.1f", mode, i, g, w)
			}
		}
		if dst.NRGBAAt(2, 2) != cb {
			t.Errorf("%s: the backdrop outside the watermark changed", mode)
		}
	}
	// Half opacity with multiply: half way between the backdrop and the product.
	dst := uniform(60, 60, cb)
	if err := Draw(dst, Spec{Image: uniform(10, 10, cs), Opacity: 0.5, Blend: "multiply", X: 0.5, Y: 0.5}); err != nil {
		t.Fatal(err)
	}
	if r := float64(dst.NRGBAAt(30, 30).R); math.Abs(r-(200+200*128/255.0)/2) > 1.5 {
		t.Errorf("half-opaque multiply: red %v", r)
	}
}

// TestBlendDodgeBurnEnds: color-dodge and color-burn at the ends CSS
// spells out (a black backdrop stays black under color-dodge, a white one
// white under color-burn, before the division by zero).
func TestBlendDodgeBurnEnds(t *testing.T) {
	for _, c := range []struct {
		mode         string
		cb, cs, want float64
	}{
		{"color-dodge", 0, 1, 0}, {"color-dodge", 0.5, 1, 1}, {"color-dodge", 0.2, 0.5, 0.4}, {"color-dodge", 0.8, 0.5, 1},
		{"color-burn", 1, 0, 1}, {"color-burn", 0.5, 0, 0}, {"color-burn", 0.8, 0.5, 0.6}, {"color-burn", 0.2, 0.5, 0},
	} {
		if got := blends[c.mode](c.cb, c.cs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s(%v, %v) = %v, want %v", c.mode, c.cb, c.cs, got, c.want)
		}
	}
}

// TestDrawRepeat: repeat covers the image, repeat-x the watermark's row,
// repeat-y its column, no-repeat its box.
func TestDrawRepeat(t *testing.T) {
	for mode, covered := range map[string]func(box image.Rectangle) image.Rectangle{
		"no-repeat": func(box image.Rectangle) image.Rectangle { return box },
		"repeat":    func(image.Rectangle) image.Rectangle { return image.Rect(0, 0, 200, 100) },
		"repeat-x":  func(box image.Rectangle) image.Rectangle { return image.Rect(0, box.Min.Y, 200, box.Max.Y) },
		"repeat-y":  func(box image.Rectangle) image.Rectangle { return image.Rect(box.Min.X, 0, box.Max.X, 100) },
	} {
		dst := uniform(200, 100, blueC)
		s := Spec{Image: uniform(16, 8, redC), Opacity: 1, Repeat: mode, X: 0.5, Y: 0.5}
		if err := Draw(dst, s); err != nil {
			t.Fatal(mode, err)
		}
		box, _ := Box(dst.Bounds(), s)
		area := covered(box)
		if n := count(dst, area, redC); n != area.Dx()*area.Dy() {
			t.Errorf("%s: %d of %v's pixels are the watermark", mode, n, area)
		}
		if n := count(dst, dst.Bounds(), blueC); n != 200*100-area.Dx()*area.Dy() {
			t.Errorf("%s: %d pixels outside %v are untouched, want %d", mode, n, area, 200*100-area.Dx()*area.Dy())
		}
	}
}

// TestDrawAngle: 90 degrees clockwise turns a wide watermark tall, its
// left half to the top; 45 degrees grows its box to the diagonal.
func TestDrawAngle(t *testing.T) {
	dst := uniform(200, 200, blueC)
	s := Spec{Image: halves(60, 20), Opacity: 1, Angle: 90, X: 0.5, Y: 0.5}
	if err := Draw(dst, s); err != nil {
		t.Fatal(err)
	}
	box, _ := Box(dst.Bounds(), s)
	if box.Dx() != 20 || box.Dy() != 60 {
		t.Fatalf("a 60x20 watermark at 90° is %v", box)
	}
	c := box.Min.Add(image.Pt(10, 0))
	if top, bottom := dst.NRGBAAt(c.X, c.Y+10), dst.NRGBAAt(c.X, c.Y+50); top != redC || bottom != greenC {
		t.Errorf("top %v (want red, the left half), bottom %v (want green)", top, bottom)
	}
	s.Angle = 45
	box, _ = Box(dst.Bounds(), s)
	if d := float64(60+20) / math.Sqrt2; math.Abs(float64(box.Dx())-d) > 2 {
		t.Errorf("at 45° the box is %v, want about %.0f wide", box, d)
	}
	// Text rotates too.
	txt := Spec{Text: "DRAFT", Colour: color.NRGBA{255, 255, 255, 255}, Opacity: 1, Size: 30, X: 0.5, Y: 0.5}
	flat, _ := Box(dst.Bounds(), txt)
	txt.Angle = -90
	turned, _ := Box(dst.Bounds(), txt)
	if turned.Dx() != flat.Dy() || turned.Dy() != flat.Dx() {
		t.Errorf("text box %v at -90° is %v", flat, turned)
	}
}

func TestValidateImage(t *testing.T) {
	img := uniform(4, 4, redC)
	for name, s := range map[string]Spec{
		"wide":      {Image: img, Opacity: 1, Width: MaxSide + 1},
		"negative":  {Image: img, Opacity: 1, Height: -1},
		"angle":     {Image: img, Opacity: 1, Angle: 400},
		"blend":     {Image: img, Opacity: 1, Blend: "hue"},
		"repeat":    {Image: img, Opacity: 1, Repeat: "space"},
		"no image":  {Opacity: 1, Width: 10},
		"nan angle": {Image: img, Opacity: 1, Angle: math.NaN()},
	} {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLength(t *testing.T) {
	for in, want := range map[string]int{"120": 120, "120px": 120, " 25% ": 250, "0.5%": 5, "2000": 2000, "100%": 1000} {
		if got, err := Length(in, 1000); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "2001", "101%", "0%", "abc", "1e400", "NaN", "12pt", "%"} {
		if _, err := Length(in, 1000); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// FuzzLength: any text is a length in bounds or ErrInvalid.
func FuzzLength(f *testing.F) {
	for _, s := range []string{"120", "25%", "1e3px", "-0", " 7 px"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Length(s, 4000)
		if err == nil && (n < 1 || n > MaxSide) {
			t.Fatalf("%q: %d", s, n)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
