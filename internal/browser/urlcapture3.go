package browser

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	xdraw "golang.org/x/image/draw"
)

// This file holds the third part of #16's capture options: the stitched
// capture's grid (sections across and down, their caps, sharp seams, the
// sections and seams drawn), fixed elements frozen, the viewport taken
// from an element, the scroll's distance and time, turbo and lightweight,
// the lossless png optimisation.

// Bounds of this file's options.
const (
	// maxStitchSections caps the sections of one stitched capture (rows
	// times columns), each a screenshot.
	maxStitchSections = 400
	// minSectionWidth is the narrowest MaxSectionWidth.
	minSectionWidth = 64
	// maxSectionCount bounds MaxSections and MaxXSections.
	maxSectionCount = maxStitchSections
	// MaxScrollPageTime is the longest MaxScrollTime.
	MaxScrollPageTime = 120 * time.Second
)

// Colours drawn by ShowSections and ShowSeams.
var (
	sectionColour = color.NRGBA{255, 0, 255, 255}
	seamColour    = color.NRGBA{255, 0, 0, 255}
)

// validateCapture3 checks this file's options.
func (r URLRequest) validateCapture3() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	stitch := r.FullPage && r.FullPageMode == FullPageStitch
	switch {
	case r.MaxSectionWidth != 0 && (r.MaxSectionWidth < minSectionWidth || r.MaxSectionWidth > maxDimension):
		return bad("max_section_width %d is outside %d..%d", r.MaxSectionWidth, minSectionWidth, maxDimension)
	case r.MaxSections < 0 || r.MaxSections > maxSectionCount || r.MaxXSections < 0 || r.MaxXSections > maxSectionCount:
		return bad("max_sections %d or max_xsections %d is outside 0..%d", r.MaxSections, r.MaxXSections, maxSectionCount)
	case (r.SharpStitch || r.ShowSections || r.ShowSeams || r.MaxSections > 0) && !stitch:
		return bad("sharp_stitch, show_sections, show_seams and max_sections go with full_page_mode stitch")
	case (r.MaxSectionWidth > 0 || r.MaxXSections > 0) && (!stitch || !r.FullWidth):
		return bad("max_section_width and max_xsections go with full_page_mode stitch and full_width")
	case r.FreezeFixed && !r.FullPage:
		return bad("freeze_fixed goes with full_page")
	case r.MaxScrollTime < 0 || r.MaxScrollTime > MaxScrollPageTime:
		return bad("max_scroll_page_time %s is outside 0..%s", r.MaxScrollTime, MaxScrollPageTime)
	case r.ScrollHeight < 0 || r.ScrollHeight > maxCaptureHeight:
		return bad("scroll_height %d is outside 0..%d", r.ScrollHeight, maxCaptureHeight)
	case len(r.WidthFrom) > maxPatternLen || len(r.HeightFrom) > maxPatternLen:
		return bad("width_from and height_from are selectors of at most %d characters", maxPatternLen)
	case r.Optimise && r.Format != FormatPNG:
		return bad("optimise applies to png only, not %s", r.Format)
	case r.Turbo && r.WaitUntil != WaitDOMLoaded:
		return bad("turbo captures at domloaded; wait_until %s contradicts it", r.WaitUntil)
	}
	return nil
}

// engineDefaults applies Turbo and Lightweight to the fields they stand
// for (from withDefaults, before WaitUntil gets its default).
func (r URLRequest) engineDefaults() URLRequest {
	if r.Turbo {
		r.WaitUntil = cmp.Or(r.WaitUntil, WaitDOMLoaded)
		r.SkipWaitForImages = true
	}
	if r.Lightweight {
		r.BlockResources = append(r.BlockResources[:len(r.BlockResources):len(r.BlockResources)],
			ResourceMedias, ResourceFonts)
	}
	return r
}

// beforeShot applies, before the capture rectangle is measured, what
// changes the page's layout: WidthFrom, HeightFrom, FixFullHeight and
// FreezeFixed, in that order.
func (r *urlRun) beforeShot(ctx context.Context) error {
	req := r.req
	if req.WidthFrom != "" || req.HeightFrom != "" {
		if err := r.sizeFrom(ctx); err != nil {
			return err
		}
	}
	if req.FullPage && req.FreezeFixed {
		if err := evaluate(ctx, freezeScript, nil); err != nil {
			return fmt.Errorf("freeze fixed: %w", err)
		}
	}
	return nil
}

// sizeFrom sets the viewport's width (WidthFrom) and height (HeightFrom)
// to the matching elements' and lets the page lay out again.
func (r *urlRun) sizeFrom(ctx context.Context) error {
	req := r.req
	measure := func(option, sel string, height bool) (int, error) {
		if sel == "" {
			return 0, nil
		}
		side := "width"
		if height {
			side = "height"
		}
		var n *float64
		js := `(() => { const e = document.querySelector(` + jsString(sel) + `); return e ? e.getBoundingClientRect().` + side + ` : null; })()`
		if err := evaluate(ctx, js, &n); err != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("%s: %w", option, err)
			}
			return 0, fmt.Errorf("%w: %s %q: %w", ErrSelectorNotFound, option, sel, err)
		}
		if n == nil || *n < 1 {
			return 0, fmt.Errorf("%w: %s %q matches no visible element", ErrSelectorNotFound, option, sel)
		}
		return min(int(math.Ceil(*n)), maxDimension), nil
	}
	w, err := measure("width_from", req.WidthFrom, false)
	if err != nil {
		return err
	}
	h, err := measure("height_from", req.HeightFrom, true)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.req.Width, r.req.Height = cmp.Or(w, r.req.Width), cmp.Or(h, r.req.Height)
	v := r.req.viewport()
	r.mu.Unlock()
	if err := emulation.SetDeviceMetricsOverride(int64(v.width), int64(v.height), v.scale, false).Do(ctx); err != nil {
		return fmt.Errorf("width_from, height_from: set viewport: %w", err)
	}
	r.viewport = &v
	return evaluate(ctx, `new Promise((r) => requestAnimationFrame(() => r(true)))`, nil)
}

// freezeScript turns fixed elements into absolute ones where they are
// drawn now, and sticky ones into static, so a full page draws them once.
const freezeScript = `(() => {
  let n = 0;
  for (const e of document.querySelectorAll('body *')) {
    const p = getComputedStyle(e).position;
    if (p === 'sticky') { e.style.setProperty('position', 'static', 'important'); n++; continue; }
    if (p !== 'fixed') continue;
    const b = e.getBoundingClientRect();
    const set = (k, v) => e.style.setProperty(k, v, 'important');
    set('position', 'absolute'); set('top', (b.top + scrollY) + 'px'); set('left', (b.left + scrollX) + 'px');
    set('bottom', 'auto'); set('right', 'auto'); set('width', b.width + 'px'); set('height', b.height + 'px');
    n++;
  }
  return n;
})()`

// grid is the sections of a stitched capture: the edges of its rows and
// columns in CSS px from the capture's top left.
type grid struct{ xs, ys []float64 }

// edges cuts length into sections of size, at most most of them (0: no
// cap).
func edges(length, size float64, most int) []float64 {
	n := int(math.Ceil(length / size))
	if most > 0 {
		n = min(n, most)
	}
	out := make([]float64, 0, n+1)
	for i := range n {
		out = append(out, float64(i)*size)
	}
	return append(out, min(length, float64(n)*size))
}

// stitchGrid is where the stitched capture of clip is cut.
func (r URLRequest) stitchGrid(clip *page.Viewport) (grid, error) {
	secH := float64(cmp.Or(r.MaxSectionHeight, r.Height))
	secW := clip.Width
	if r.FullWidth && (r.MaxSectionWidth > 0 || r.MaxXSections > 0) {
		secW = float64(cmp.Or(r.MaxSectionWidth, r.Width))
	}
	g := grid{xs: edges(clip.Width, secW, r.MaxXSections), ys: edges(clip.Height, secH, r.MaxSections)}
	if n := (len(g.xs) - 1) * (len(g.ys) - 1); n > maxStitchSections {
		return grid{}, fmt.Errorf("%w: a stitched capture of %d sections is over %d; raise max_section_height or set max_sections",
			ErrBadRequest, n, maxStitchSections)
	}
	return g, nil
}

// stitch captures clip (a full page) in the sections of its grid, each
// scrolled into view first, and joins them; with SharpStitch and a scale,
// at full resolution, then scaled in Go. ShowSections and ShowSeams are
// drawn on the result.
func (r *urlRun) stitch(ctx context.Context, clip *page.Viewport) (*image.NRGBA, error) {
	req := r.req
	dsf := req.viewport().scale
	if clip == nil {
		return shootImage(ctx, nil, dsf)
	}
	at := *clip
	if req.SharpStitch {
		at.Scale = 1
	}
	g, err := req.stitchGrid(&at)
	if err != nil {
		return nil, err
	}
	out, err := r.join(ctx, &at, g)
	if err != nil {
		return nil, err
	}
	k := clip.Scale * dsf
	px := func(v float64) int { return int(math.Round(v * k)) }
	if at.Scale != clip.Scale {
		scaled := image.NewNRGBA(image.Rect(0, 0, max(1, px(g.xs[len(g.xs)-1])), max(1, px(g.ys[len(g.ys)-1]))))
		xdraw.CatmullRom.Scale(scaled, scaled.Bounds(), out, out.Bounds(), xdraw.Src, nil)
		out = scaled
	}
	req.drawGrid(out, g, px, dsf)
	return out, nil
}

// join captures the sections of g in clip and joins them.
func (r *urlRun) join(ctx context.Context, clip *page.Viewport, g grid) (*image.NRGBA, error) {
	dsf := r.req.viewport().scale
	k := clip.Scale * dsf
	px := func(v float64) int { return int(math.Round(v * k)) }
	outW, outH := px(g.xs[len(g.xs)-1]), px(g.ys[len(g.ys)-1])
	if outW*outH > maxPostPixels {
		return nil, fmt.Errorf("%w: a stitched capture of %dx%d px is over %d pixels", ErrBadRequest, outW, outH, maxPostPixels)
	}
	out := image.NewNRGBA(image.Rect(0, 0, outW, outH))
	for j := range len(g.ys) - 1 {
		for i := range len(g.xs) - 1 {
			part := *clip
			part.X, part.Y = clip.X+g.xs[i], clip.Y+g.ys[j]
			part.Width, part.Height = g.xs[i+1]-g.xs[i], g.ys[j+1]-g.ys[j]
			js := fmt.Sprintf(`window.scrollTo(%d, %d)`, int(part.X), int(part.Y))
			if err := evaluate(ctx, js+`; new Promise((r) => requestAnimationFrame(() => r(true)))`, nil); err != nil {
				return nil, fmt.Errorf("stitch: scroll: %w", err)
			}
			img, err := shootImage(ctx, &part, dsf)
			if err != nil {
				return nil, fmt.Errorf("stitch: %w", err)
			}
			draw.Draw(out, img.Bounds().Add(image.Pt(px(g.xs[i]), px(g.ys[j]))), img, image.Point{}, draw.Src)
		}
	}
	if err := evaluate(ctx, `window.scrollTo(0, 0)`, nil); err != nil {
		return nil, fmt.Errorf("stitch: scroll back: %w", err)
	}
	return out, nil
}

// drawGrid draws ShowSections' outlines and ShowSeams' lines, each
// max(1, dsf) output px thick.
func (r URLRequest) drawGrid(out *image.NRGBA, g grid, px func(float64) int, dsf float64) {
	t := max(1, int(math.Round(dsf)))
	fill := func(rect image.Rectangle, c color.NRGBA) {
		draw.Draw(out, rect.Intersect(out.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
	}
	if r.ShowSections {
		for j := range len(g.ys) - 1 {
			for i := range len(g.xs) - 1 {
				s := image.Rect(px(g.xs[i]), px(g.ys[j]), px(g.xs[i+1]), px(g.ys[j+1]))
				fill(image.Rect(s.Min.X, s.Min.Y, s.Max.X, s.Min.Y+t), sectionColour)
				fill(image.Rect(s.Min.X, s.Max.Y-t, s.Max.X, s.Max.Y), sectionColour)
				fill(image.Rect(s.Min.X, s.Min.Y, s.Min.X+t, s.Max.Y), sectionColour)
				fill(image.Rect(s.Max.X-t, s.Min.Y, s.Max.X, s.Max.Y), sectionColour)
			}
		}
	}
	if r.ShowSeams {
		b := out.Bounds()
		for _, y := range g.ys[1 : len(g.ys)-1] {
			fill(image.Rect(0, px(y), b.Dx(), px(y)+t), seamColour)
		}
		for _, x := range g.xs[1 : len(g.xs)-1] {
			fill(image.Rect(px(x), 0, px(x)+t, b.Dy()), seamColour)
		}
	}
}

// optimisePNG re-encodes a png with the same pixels as small as it
// goes: as a palette image when it has at most 256 colours, with the best
// deflate; the original when that is not smaller. The best deflate of a
// large capture takes long (10 MP, half a minute of a core): it stops
// when ctx ends (the render's deadline), as the encoder's writes fail.
func optimisePNG(ctx context.Context, data []byte) ([]byte, error) {
	img, err := decodeNRGBA(data)
	if err != nil {
		return nil, err
	}
	var src image.Image = img
	if p := paletted(img); p != nil {
		src = p
	}
	buf := ctxBuffer{ctx: ctx}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, src); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("optimise png: %w", ctx.Err())
		}
		return nil, fmt.Errorf("optimise png: %w", err)
	}
	if buf.Len() >= len(data) {
		return data, nil
	}
	return buf.Bytes(), nil
}

// ctxBuffer is a bytes.Buffer whose writes fail once ctx has ended.
type ctxBuffer struct {
	bytes.Buffer
	ctx context.Context //nolint:containedctx // bounds the writes of one encoding
}

func (b *ctxBuffer) Write(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return b.Buffer.Write(p)
}

// paletted is img as a palette image, or nil when it has over 256
// colours.
func paletted(img *image.NRGBA) *image.Paletted {
	index := make(map[color.NRGBA]uint8, 256)
	var pal color.Palette
	b := img.Bounds()
	out := image.NewPaletted(b, nil)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			i, ok := index[c]
			if !ok {
				if len(pal) == 256 {
					return nil
				}
				i = uint8(len(pal)) // #nosec G115 -- under 256: checked above
				index[c] = i
				pal = append(pal, c)
			}
			out.Pix[out.PixOffset(x, y)] = i
		}
	}
	out.Palette = pal
	return out
}
