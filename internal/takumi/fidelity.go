package takumi

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // Similarity decodes what either renderer made
	_ "image/png"
	"math"
)

// Fidelity: how alike two renders of one page look, by SSIM (structural
// similarity, Wang et al. 2004) on images box-downscaled to at most
// similaritySide pixels on their long side, per R, G and B channel, the
// three means averaged.
//
// Why SSIM, downscaled, per channel: the two renderers rasterise glyphs
// and anti-alias edges differently, so a pixel-exact or plain ΔE metric
// punishes every card for sub-pixel noise nobody sees; downscaling averages
// that away, and SSIM then scores what a reader does notice (text in
// another place, a missing box, a layout that collapsed, a border gone),
// because it compares local structure (means, variances, covariance in 8×8
// windows) rather than single pixels. Computing it per colour channel keeps
// colour in it: a gradient drawn in other colours, or a background gone,
// lowers the score where a grey-only SSIM would not see a hue change.
const similaritySide = 300

// Threshold is the similarity at or above which a takumi render counts as
// drawing a template as Chromium does (auto picks takumi). The reference
// templates (internal/render TestFidelityReferences) hold it: the capable
// ones score 0.98 and above, a table whose columns takumi places 1–3 px
// off scores 0.93, a float takumi ignores 0.70, content takumi does not
// draw at all below 0.1.
const Threshold = 0.95

// Similarity decodes two encoded images (PNG or JPEG) of the same size and
// returns their SSIM, 1 for identical images.
func Similarity(a, b []byte) (float64, error) {
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, fmt.Errorf("decode first image: %w", err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("decode second image: %w", err)
	}
	return SSIM(ia, ib)
}

// SSIM returns the structural similarity of two images of the same size
// (see the comment on similaritySide): 1 for identical images, lower as
// they differ; 0 or below for unrelated ones.
func SSIM(a, b image.Image) (float64, error) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 0, fmt.Errorf("images differ in size: %v and %v", a.Bounds().Size(), b.Bounds().Size())
	}
	pa, pb := downscale(a), downscale(b)
	var sum float64
	for c := range 3 {
		sum += ssimChannel(pa, pb, c)
	}
	return sum / 3, nil
}

// plane is an image as float RGB, row-major, 0..255.
type plane struct {
	w, h int
	px   [][3]float64
}

// downscale box-averages img to at most similaritySide on its long side.
func downscale(img image.Image) plane {
	r := img.Bounds()
	f := max(1, int(math.Ceil(float64(max(r.Dx(), r.Dy()))/similaritySide)))
	w, h := max(1, r.Dx()/f), max(1, r.Dy()/f)
	p := plane{w: w, h: h, px: make([][3]float64, w*h)}
	for y := range h {
		for x := range w {
			var acc [3]float64
			for dy := range f {
				for dx := range f {
					cr, cg, cb, _ := img.At(r.Min.X+x*f+dx, r.Min.Y+y*f+dy).RGBA()
					acc[0] += float64(cr >> 8)
					acc[1] += float64(cg >> 8)
					acc[2] += float64(cb >> 8)
				}
			}
			n := float64(f * f)
			p.px[y*w+x] = [3]float64{acc[0] / n, acc[1] / n, acc[2] / n}
		}
	}
	return p
}

// ssimChannel is the mean SSIM of channel c over 8×8 windows, stride 4.
func ssimChannel(a, b plane, c int) float64 {
	const (
		win, stride = 8, 4
		c1          = (0.01 * 255) * (0.01 * 255)
		c2          = (0.03 * 255) * (0.03 * 255)
	)
	var total float64
	var n int
	for y0 := 0; y0+win <= max(a.h, win); y0 += stride {
		for x0 := 0; x0+win <= max(a.w, win); x0 += stride {
			var sa, sb, saa, sbb, sab, k float64
			for y := y0; y < min(y0+win, a.h); y++ {
				for x := x0; x < min(x0+win, a.w); x++ {
					va, vb := a.px[y*a.w+x][c], b.px[y*b.w+x][c]
					sa, sb, saa, sbb, sab, k = sa+va, sb+vb, saa+va*va, sbb+vb*vb, sab+va*vb, k+1
				}
			}
			ma, mb := sa/k, sb/k
			va, vb, cov := saa/k-ma*ma, sbb/k-mb*mb, sab/k-ma*mb
			if va < flatVar && vb < flatVar && math.Abs(ma-mb) < flatDiff {
				continue // the same flat background in both: nothing drawn here
			}
			total += ((2*ma*mb + c1) * (2*cov + c2)) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	if n == 0 {
		return 1 // both images are the same flat colour
	}
	return total / float64(n)
}

// A window both images leave flat (variance below flatVar) in the same
// colour (means within flatDiff) is left out of the mean: a card is mostly
// background, and counting it would let a wrong layout on a small part of
// it score near 1.
const (
	flatVar  = 4.0
	flatDiff = 3.0
)
