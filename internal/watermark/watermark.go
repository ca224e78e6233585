// Package watermark draws a line of text on an image: the watermark_*
// options of a URL render, drawn in Go on the captured pixels so it looks
// the same whatever page was captured. The font (Go Bold) is embedded in
// the binary, so no system font is needed.
package watermark

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Bounds of a watermark.
const (
	MaxText = 200 // runes
	MinSize = 6   // font size in px
	MaxSize = 400
)

// Spec is one watermark.
type Spec struct {
	// Text is one line of 1..MaxText runes.
	Text string
	// Colour is the text's colour; its alpha is multiplied by Opacity.
	Colour color.NRGBA
	// Background, when its alpha is not 0, fills the box behind the text
	// (with Opacity too).
	Background color.NRGBA
	// Opacity is 0..1.
	Opacity float64
	// X and Y place the box in the image: 0 left / top, 1 right / bottom,
	// 0.5 the centre; the box keeps a margin of half the font size.
	X, Y float64
	// Size is the font size in output pixels, MinSize..MaxSize.
	Size float64
}

// ErrInvalid is a spec outside the bounds above.
var ErrInvalid = errors.New("invalid watermark")

// Validate checks s against the bounds.
func (s Spec) Validate() error {
	n := utf8.RuneCountInString(s.Text)
	switch {
	case n == 0 || n > MaxText || !utf8.ValidString(s.Text):
		return fmt.Errorf("%w: text must be 1..%d characters of UTF-8", ErrInvalid, MaxText)
	case !(s.Size >= MinSize && s.Size <= MaxSize):
		return fmt.Errorf("%w: size %v is outside %d..%d px", ErrInvalid, s.Size, MinSize, MaxSize)
	case !(s.Opacity >= 0 && s.Opacity <= 1):
		return fmt.Errorf("%w: opacity %v is outside 0..1", ErrInvalid, s.Opacity)
	case !(s.X >= 0 && s.X <= 1 && s.Y >= 0 && s.Y <= 1):
		return fmt.Errorf("%w: position %v,%v is outside 0..1", ErrInvalid, s.X, s.Y)
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

// Box is where s's box (background and text) lands on an image of size b.
func Box(b image.Rectangle, s Spec) (image.Rectangle, error) {
	f, err := face(s.Size)
	if err != nil {
		return image.Rectangle{}, err
	}
	defer f.Close()
	return box(b, s, f), nil
}

func box(b image.Rectangle, s Spec, f font.Face) image.Rectangle {
	m := f.Metrics()
	pad := int(s.Size / 4)
	w := font.MeasureString(f, s.Text).Ceil() + 2*pad
	h := (m.Ascent + m.Descent).Ceil() + 2*pad
	margin := int(s.Size / 2)
	free := image.Pt(max(b.Dx()-w-2*margin, 0), max(b.Dy()-h-2*margin, 0))
	at := b.Min.Add(image.Pt(margin+int(float64(free.X)*s.X), margin+int(float64(free.Y)*s.Y)))
	return image.Rectangle{Min: at, Max: at.Add(image.Pt(w, h))}.Intersect(b)
}

// Draw draws s on dst.
func Draw(dst draw.Image, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	f, err := face(s.Size)
	if err != nil {
		return err
	}
	defer f.Close()
	r := box(dst.Bounds(), s, f)
	if s.Background.A > 0 {
		draw.Draw(dst, r, image.NewUniform(faded(s.Background, s.Opacity)), image.Point{}, draw.Over)
	}
	pad := int(s.Size / 4)
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(faded(s.Colour, s.Opacity)),
		Face: f,
		Dot:  fixed.P(r.Min.X+pad, r.Min.Y+pad+f.Metrics().Ascent.Ceil()),
	}
	d.DrawString(s.Text)
	return nil
}

// faded is c with its alpha multiplied by o.
func faded(c color.NRGBA, o float64) color.NRGBA {
	c.A = uint8(float64(c.A)*o + 0.5)
	return c
}
