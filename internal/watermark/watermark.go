// Package watermark draws a watermark on an image: a line of text or an
// image, the watermark_* options of a URL render, drawn in Go on the
// captured pixels so it looks the same whatever page was captured. It can
// be rotated, tiled and blended (CSS's separable mix-blend-modes). The
// font (Go Bold) is embedded in the binary, so no system font is needed.
package watermark

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"
)

// Bounds of a watermark.
const (
	MaxText = 200 // runes
	MinSize = 6   // font size in px
	MaxSize = 400
	// MaxSide bounds an image watermark's width and height in output px.
	MaxSide = 2000
	// MaxAngle bounds the rotation, in degrees either way.
	MaxAngle = 360
)

// Blends are the blend modes a watermark is drawn with: CSS's separable
// mix-blend-mode values ("" is normal).
var Blends = []string{"normal", "multiply", "screen", "overlay", "darken", "lighten", "color-dodge", "color-burn",
	"hard-light", "soft-light", "difference", "exclusion"}

// Repeats are how a watermark is tiled, as CSS's background-repeat: once
// ("" too), over the whole image, along its row or along its column.
var Repeats = []string{"no-repeat", "repeat", "repeat-x", "repeat-y"}

// Spec is one watermark.
type Spec struct {
	// Text is one line of 1..MaxText runes, unless Image is set.
	Text string
	// Image, when not nil, is drawn instead of Text, scaled to Width x
	// Height (one of them 0 keeps its aspect ratio; both its own size).
	Image         image.Image
	Width, Height int
	// Colour is the text's colour.
	Colour color.NRGBA
	// Background, when its alpha is not 0, fills the box behind the text.
	Background color.NRGBA
	// Opacity is 0..1, applied to the whole watermark.
	Opacity float64
	// X and Y place the box in the image: 0 left / top, 1 right / bottom,
	// 0.5 the centre; the box keeps a margin of half the font size (of
	// 12 px for an image). A tiled watermark starts from there.
	X, Y float64
	// Size is the font size in output pixels, MinSize..MaxSize.
	Size float64
	// Angle rotates the watermark clockwise, in degrees.
	Angle float64
	// Blend is one of Blends; Repeat one of Repeats.
	Blend, Repeat string
}

// ErrInvalid is a spec outside the bounds above.
var ErrInvalid = errors.New("invalid watermark")

// Validate checks s against the bounds.
func (s Spec) Validate() error {
	if s.Image == nil {
		n := utf8.RuneCountInString(s.Text)
		switch {
		case n == 0 || n > MaxText || !utf8.ValidString(s.Text):
			return fmt.Errorf("%w: text must be 1..%d characters of UTF-8", ErrInvalid, MaxText)
		case !(s.Size >= MinSize && s.Size <= MaxSize):
			return fmt.Errorf("%w: size %v is outside %d..%d px", ErrInvalid, s.Size, MinSize, MaxSize)
		}
	}
	switch {
	case s.Width < 0 || s.Width > MaxSide || s.Height < 0 || s.Height > MaxSide:
		return fmt.Errorf("%w: size %dx%d is outside 0..%d px", ErrInvalid, s.Width, s.Height, MaxSide)
	case !(s.Opacity >= 0 && s.Opacity <= 1):
		return fmt.Errorf("%w: opacity %v is outside 0..1", ErrInvalid, s.Opacity)
	case !(s.X >= 0 && s.X <= 1 && s.Y >= 0 && s.Y <= 1):
		return fmt.Errorf("%w: position %v,%v is outside 0..1", ErrInvalid, s.X, s.Y)
	case !(s.Angle >= -MaxAngle && s.Angle <= MaxAngle):
		return fmt.Errorf("%w: angle %v is outside ±%d degrees", ErrInvalid, s.Angle, MaxAngle)
	case s.Blend != "" && !slices.Contains(Blends, s.Blend):
		return fmt.Errorf("%w: blend %q is not one of %v", ErrInvalid, s.Blend, Blends)
	case s.Repeat != "" && !slices.Contains(Repeats, s.Repeat):
		return fmt.Errorf("%w: repeat %q is not one of %v", ErrInvalid, s.Repeat, Repeats)
	}
	return nil
}

var (
	parseOnce sync.Once
	goBold    *opentype.Font
	parseErr  error
)

// face is the embedded font at size px.
func face(size float64) (font.Face, error) {
	parseOnce.Do(func() { goBold, parseErr = opentype.Parse(gobold.TTF) })
	if parseErr != nil {
		return nil, fmt.Errorf("parse embedded font: %w", parseErr)
	}
	return opentype.NewFace(goBold, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// Box is where s's box (its tile, once, rotated if it is) lands on an
// image of size b.
func Box(b image.Rectangle, s Spec) (image.Rectangle, error) {
	if err := s.Validate(); err != nil {
		return image.Rectangle{}, err
	}
	t, err := s.tile(b)
	if err != nil {
		return image.Rectangle{}, err
	}
	return s.place(b, t.Bounds().Size()).Intersect(b), nil
}

// place is the rectangle of a tile of size sz placed in b.
func (s Spec) place(b image.Rectangle, sz image.Point) image.Rectangle {
	margin := 12
	if s.Image == nil {
		margin = int(s.Size / 2)
	}
	free := image.Pt(max(b.Dx()-sz.X-2*margin, 0), max(b.Dy()-sz.Y-2*margin, 0))
	at := b.Min.Add(image.Pt(margin+int(float64(free.X)*s.X), margin+int(float64(free.Y)*s.Y)))
	return image.Rectangle{Min: at, Max: at.Add(sz)}
}

// maxTextTile bounds a text tile's sides (a long line at a large size
// is cut, as it would be by the image's edge).
const maxTextTile = 8192

// tile is the watermark drawn once for an image of bounds b, opacity
// applied, rotated.
func (s Spec) tile(b image.Rectangle) (*image.NRGBA, error) {
	var t *image.NRGBA
	if s.Image != nil {
		t = s.scaled()
	} else {
		// No side longer than the image's diagonal is ever seen.
		limit := min(int(math.Ceil(math.Hypot(float64(b.Dx()), float64(b.Dy())))), maxTextTile)
		var err error
		if t, err = s.textTile(max(limit, 1)); err != nil {
			return nil, err
		}
	}
	if s.Opacity < 1 {
		for i := 3; i < len(t.Pix); i += 4 {
			t.Pix[i] = uint8(float64(t.Pix[i])*s.Opacity + 0.5)
		}
	}
	if a := math.Mod(s.Angle, 360); a != 0 {
		t = rotate(t, a)
	}
	return t, nil
}

// scaled is the image at Width x Height.
func (s Spec) scaled() *image.NRGBA {
	sz := s.Image.Bounds().Size()
	w, h := s.Width, s.Height
	switch {
	case w == 0 && h == 0:
		w, h = sz.X, sz.Y
	case w == 0:
		w = max(1, int(math.Round(float64(h)*float64(sz.X)/float64(sz.Y))))
	case h == 0:
		h = max(1, int(math.Round(float64(w)*float64(sz.Y)/float64(sz.X))))
	}
	w, h = min(w, MaxSide), min(h, MaxSide)
	t := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(t, t.Bounds(), s.Image, s.Image.Bounds(), xdraw.Src, nil)
	return t
}

// textTile is the text on its background, in a box padded by a quarter
// of the font size, its sides at most limit.
func (s Spec) textTile(limit int) (*image.NRGBA, error) {
	f, err := face(s.Size)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := f.Metrics()
	pad := int(s.Size / 4)
	w := font.MeasureString(f, s.Text).Ceil() + 2*pad
	h := (m.Ascent + m.Descent).Ceil() + 2*pad
	t := image.NewNRGBA(image.Rect(0, 0, min(w, limit), min(h, limit)))
	if s.Background.A > 0 {
		draw.Draw(t, t.Bounds(), image.NewUniform(s.Background), image.Point{}, draw.Src)
	}
	d := font.Drawer{Dst: t, Src: image.NewUniform(s.Colour), Face: f, Dot: fixed.P(pad, pad+m.Ascent.Ceil())}
	d.DrawString(s.Text)
	return t, nil
}

// rotate turns t clockwise by deg degrees about its centre, into the
// box that holds it.
func rotate(t *image.NRGBA, deg float64) *image.NRGBA {
	sin, cos := math.Sincos(deg * math.Pi / 180)
	w, h := float64(t.Bounds().Dx()), float64(t.Bounds().Dy())
	// (less a hair, so 90° turns 60x20 into 20x60, not 21x61)
	ow, oh := math.Ceil(math.Abs(w*cos)+math.Abs(h*sin)-1e-9), math.Ceil(math.Abs(w*sin)+math.Abs(h*cos)-1e-9)
	out := image.NewNRGBA(image.Rect(0, 0, int(ow), int(oh)))
	// src (x, y) → dst: rotate about the source's centre, then centre in out.
	cx, cy := w/2, h/2
	m := f64.Aff3{cos, -sin, ow/2 - cos*cx + sin*cy, sin, cos, oh/2 - sin*cx - cos*cy}
	xdraw.BiLinear.Transform(out, m, t, t.Bounds(), xdraw.Src, nil)
	return out
}

// Draw draws s on dst.
func Draw(dst *image.NRGBA, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	b := dst.Bounds()
	t, err := s.tile(b)
	if err != nil {
		return err
	}
	at := s.place(b, t.Bounds().Size())
	area := at
	switch s.Repeat {
	case "repeat":
		area = b
	case "repeat-x":
		area.Min.X, area.Max.X = b.Min.X, b.Max.X
	case "repeat-y":
		area.Min.Y, area.Max.Y = b.Min.Y, b.Max.Y
	}
	area = area.Intersect(b)
	blend := blends[s.Blend]
	tw, th := t.Bounds().Dx(), t.Bounds().Dy()
	for y := area.Min.Y; y < area.Max.Y; y++ {
		ty := mod(y-at.Min.Y, th)
		for x := area.Min.X; x < area.Max.X; x++ {
			i := t.PixOffset(mod(x-at.Min.X, tw), ty)
			if t.Pix[i+3] == 0 {
				continue
			}
			j := dst.PixOffset(x, y)
			composite(dst.Pix[j:j+4:j+4], t.Pix[i:i+4:i+4], blend)
		}
	}
	return nil
}

func mod(a, n int) int { return ((a % n) + n) % n }

// composite draws the source pixel s over the backdrop pixel d (both
// non-premultiplied RGBA) with blend, as CSS compositing does: the blended
// colour where the backdrop is opaque, then source-over.
func composite(d, s []uint8, blend func(cb, cs float64) float64) {
	as, ab := float64(s[3])/255, float64(d[3])/255
	ao := as + ab*(1-as)
	for c := range 3 {
		cs, cb := float64(s[c])/255, float64(d[c])/255
		mixed := cs
		if blend != nil {
			mixed = (1-ab)*cs + ab*blend(cb, cs)
		}
		co := as*mixed + (1-as)*ab*cb
		d[c] = uint8(math.Round(min(max(co/ao, 0), 1) * 255))
	}
	d[3] = uint8(math.Round(ao * 255))
}

// blends are the blend functions B(cb, cs) of CSS Compositing Level 1; nil
// (normal) is cs.
var blends = map[string]func(cb, cs float64) float64{
	"multiply":    func(cb, cs float64) float64 { return cb * cs },
	"screen":      screen,
	"overlay":     func(cb, cs float64) float64 { return hardLight(cs, cb) },
	"darken":      math.Min,
	"lighten":     math.Max,
	"color-dodge": func(cb, cs float64) float64 { return dodge(cb, 1-cs) },
	"color-burn":  func(cb, cs float64) float64 { return 1 - dodge(1-cb, cs) },
	"hard-light":  hardLight,
	"soft-light": func(cb, cs float64) float64 {
		if cs <= 0.5 {
			return cb - (1-2*cs)*cb*(1-cb)
		}
		d := math.Sqrt(cb)
		if cb <= 0.25 {
			d = ((16*cb-12)*cb + 4) * cb
		}
		return cb + (2*cs-1)*(d-cb)
	},
	"difference": func(cb, cs float64) float64 { return math.Abs(cb - cs) },
	"exclusion":  func(cb, cs float64) float64 { return cb + cs - 2*cb*cs },
}

func screen(cb, cs float64) float64 { return cb + cs - cb*cs }

// dodge is min(1, n/d) with 0/d as 0 and n/0 as 1: color-dodge is
// dodge(cb, 1-cs), and color-burn its mirror, 1 - dodge(1-cb, cs) (the
// spec's two cases each, in its order).
func dodge(n, d float64) float64 {
	switch {
	case n == 0:
		return 0
	case d == 0:
		return 1
	}
	return min(1, n/d)
}

func hardLight(cb, cs float64) float64 {
	if cs <= 0.5 {
		return cb * 2 * cs
	}
	return screen(cb, 2*cs-1)
}

// Length reads a watermark width or height: px ("120", "120px") or a
// percentage of of ("25%"), 1..MaxSide px either way.
func Length(v string, of int) (int, error) {
	v = strings.TrimSpace(strings.ToLower(v))
	pct := strings.HasSuffix(v, "%")
	num := strings.TrimSuffix(strings.TrimSuffix(v, "%"), "px")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0) || len(v) > 16:
		return 0, fmt.Errorf("%w: %q is not a length in px or %%", ErrInvalid, v)
	case pct && !(f > 0 && f <= 100):
		return 0, fmt.Errorf("%w: %q is outside 0..100%%", ErrInvalid, v)
	case pct:
		f = f * float64(of) / 100
	case !(f >= 1 && f <= MaxSide):
		return 0, fmt.Errorf("%w: %q is outside 1..%d px", ErrInvalid, v, MaxSide)
	}
	return min(max(int(math.Round(f)), 1), MaxSide), nil
}
