package browser

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/chromedp/cdproto/page"
	"github.com/gen2brain/webp"
	xdraw "golang.org/x/image/draw"

	"github.com/renderhook/renderhook/internal/watermark"
)

// ImgFit is how a capture fits a ThumbWidth × ThumbHeight box (sharp's
// names, which Urlbox uses).
type ImgFit string

// ImgFit values.
const (
	// FitCover scales the capture to cover the box and crops what is
	// outside it (at ImgPosition): exactly the box's size.
	FitCover ImgFit = "cover"
	// FitContain scales it to fit inside the box and pads the rest with
	// ImgBg: exactly the box's size.
	FitContain ImgFit = "contain"
	// FitFill stretches it to the box, aspect ratio lost.
	FitFill ImgFit = "fill"
	// FitInside scales it to fit inside the box: no side larger.
	FitInside ImgFit = "inside"
	// FitOutside scales it to cover the box: no side smaller.
	FitOutside ImgFit = "outside"
)

// FullPageMode is how a full page is captured.
type FullPageMode string

// FullPageMode values.
const (
	FullPageNative FullPageMode = "native"
	FullPageStitch FullPageMode = "stitch"
)

// Bounds of the capture options.
const (
	// MaxImgPad is the most padding on one side, in output pixels.
	MaxImgPad = 1000
	// minSectionHeight is the smallest MaxSectionHeight.
	minSectionHeight = 64
	// maxPostPixels bounds an image decoded and redrawn in Go (fill,
	// contain, padding, stitching, watermark): 40 MP is 160 MB of RGBA.
	maxPostPixels = 40_000_000
	// maxOutputSide bounds each side of a fitted capture in output pixels.
	maxOutputSide = 16384
)

// ImgPositions maps each ImgPosition to where the capture sits: x and y
// from 0 (left, top) to 1 (right, bottom).
var ImgPositions = map[string][2]float64{
	"center": {0.5, 0.5}, "centre": {0.5, 0.5},
	"top": {0.5, 0}, "north": {0.5, 0},
	"right top": {1, 0}, "northeast": {1, 0},
	"right": {1, 0.5}, "east": {1, 0.5},
	"right bottom": {1, 1}, "southeast": {1, 1},
	"bottom": {0.5, 1}, "south": {0.5, 1},
	"left bottom": {0, 1}, "southwest": {0, 1},
	"left": {0, 0.5}, "west": {0, 0.5},
	"left top": {0, 0}, "northwest": {0, 0},
}

// Watermark is text drawn on a captured image.
type Watermark struct {
	// Text is one line of 1..watermark.MaxText characters; "" means no
	// watermark.
	Text string
	// Colour and Background are colours (see ParseColour); "" means
	// white text on no background.
	Colour, Background string
	// Opacity is 0..1; 0 means 0.5.
	Opacity float64
	// Position is one of ImgPositions; "" means "right bottom".
	Position string
	// Size is the font size in output pixels; 0 means 24.
	Size int
	// ImageURL, instead of Text, is an image drawn as the watermark,
	// fetched through the egress guard (urlmark.go).
	ImageURL string
	// Width and Height size the image: px ("120", "120px") or a
	// percentage of the capture's width or height ("25%"); one alone
	// keeps the image's aspect ratio, neither its own size.
	Width, Height string
	// Angle rotates the watermark clockwise, in degrees.
	Angle float64
	// Blend is one of watermark.Blends, Repeat one of watermark.Repeats.
	Blend, Repeat string
}

// on reports whether a watermark is drawn.
func (w Watermark) on() bool { return w.Text != "" || w.ImageURL != "" }

// spec is w as the watermark package draws it on an image of bounds b,
// mark its image (nil for text).
func (w Watermark) spec(b image.Rectangle, mark image.Image) (watermark.Spec, error) {
	fg, err := ParseColour(cmp.Or(w.Colour, "white"))
	if err != nil {
		return watermark.Spec{}, err
	}
	var bg color.NRGBA
	if w.Background != "" {
		if bg, err = ParseColour(w.Background); err != nil {
			return watermark.Spec{}, err
		}
	}
	at, ok := ImgPositions[cmp.Or(w.Position, "right bottom")]
	if !ok {
		return watermark.Spec{}, fmt.Errorf("watermark position %q is not one of the img_position values", w.Position)
	}
	s := watermark.Spec{Text: w.Text, Colour: fg, Background: bg, Opacity: cmp.Or(w.Opacity, 0.5),
		X: at[0], Y: at[1], Size: float64(cmp.Or(w.Size, 24)), Angle: w.Angle, Blend: w.Blend, Repeat: w.Repeat}
	switch {
	case w.Text != "" && w.ImageURL != "":
		return s, errors.New("give a text or an image url, not both")
	case w.ImageURL == "" && (w.Width != "" || w.Height != ""):
		return s, errors.New("width and height size an image watermark (watermark_url)")
	case w.ImageURL != "":
		s.Image = mark
		if s.Image == nil { // validating before the fetch
			s.Image = image.Rect(0, 0, 1, 1)
		}
	}
	for _, l := range []struct {
		v  string
		of int
		to *int
	}{{w.Width, b.Dx(), &s.Width}, {w.Height, b.Dy(), &s.Height}} {
		if l.v == "" {
			continue
		}
		n, err := watermark.Length(l.v, l.of)
		if err != nil {
			return s, err
		}
		*l.to = n
	}
	return s, s.Validate()
}

// validateFit checks the options of this file.
func (r URLRequest) validateFit() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	switch r.ImgFit {
	case "", FitCover, FitContain, FitFill, FitInside, FitOutside:
	default:
		return bad("img_fit %q is not cover, contain, fill, inside or outside", r.ImgFit)
	}
	if _, ok := ImgPositions[r.ImgPosition]; r.ImgPosition != "" && !ok {
		return bad("img_position %q is not one of top, right top, …, center", r.ImgPosition)
	}
	if r.ImgBg != "" {
		if _, err := ParseColour(r.ImgBg); err != nil {
			return bad("img_bg: %v", err)
		}
	}
	for _, p := range r.ImgPad {
		if p < 0 || p > MaxImgPad {
			return bad("img_pad %v: each side must be 0..%d", r.ImgPad, MaxImgPad)
		}
	}
	switch {
	case r.ImgFit != "" && (r.ThumbWidth == 0 || r.ThumbHeight == 0):
		return bad("img_fit needs both thumb_width and thumb_height")
	case r.MaxWidth < 0 || r.MaxWidth > maxDimension || r.CropWidth < 0 || r.CropWidth > maxDimension:
		return bad("max_width %d or crop_width %d is outside 0..%d", r.MaxWidth, r.CropWidth, maxDimension)
	case r.FullPageMode != "" && r.FullPageMode != FullPageNative && r.FullPageMode != FullPageStitch:
		return bad("full_page_mode %q is not stitch or native", r.FullPageMode)
	case r.MaxSectionHeight != 0 && (r.MaxSectionHeight < minSectionHeight || r.MaxSectionHeight > maxCaptureHeight):
		return bad("max_section_height %d is outside %d..%d", r.MaxSectionHeight, minSectionHeight, maxCaptureHeight)
	}
	if r.Watermark != (Watermark{}) {
		if r.Format == FormatPDF {
			return bad("a watermark is drawn on images only, not on a pdf")
		}
		if _, err := r.Watermark.spec(image.Rect(0, 0, maxDimension, maxDimension), nil); err != nil {
			return bad("watermark: %v", err)
		}
	}
	return nil
}

// position is where ImgPosition places the capture.
func (r URLRequest) position() (x, y float64) {
	at := ImgPositions[cmp.Or(r.ImgPosition, "center")]
	return at[0], at[1]
}

// post reports whether the capture is redrawn in Go after Chromium took
// it (so Chromium takes a lossless PNG).
func (r URLRequest) post() bool {
	return r.ImgFit == FitContain || r.ImgFit == FitFill || r.ImgPad != [4]int{} ||
		(r.FullPage && r.FullPageMode == FullPageStitch) || r.Watermark.on()
}

// captureImage takes the screenshot: the capture rectangle (clip, crop,
// fit or thumbnail), by Chromium, then what Go draws (post).
func (r *urlRun) captureImage(ctx context.Context) ([]byte, error) {
	if err := r.beforeShot(ctx); err != nil {
		return nil, err
	}
	req := r.req
	if req.FullPage && req.DetectFullHeight {
		if err := evaluate(ctx, unrollScript, nil); err != nil {
			return nil, fmt.Errorf("detect full height: %w", err)
		}
	}
	clip, err := r.clip(ctx)
	if err != nil {
		return nil, err
	}
	if clip != nil && req.FullPage && req.FullWidth && req.MaxWidth > 0 {
		clip.Width = min(clip.Width, float64(req.MaxWidth))
	}
	if req.CropWidth > 0 {
		if clip == nil {
			if clip, err = r.viewportClip(ctx); err != nil {
				return nil, err
			}
		}
		clip.Width = min(clip.Width, float64(req.CropWidth))
	}
	var box image.Point // fill's and contain's output size
	if req.ImgFit != "" {
		clip, box, err = r.fit(ctx, clip)
	} else {
		clip, err = r.thumb(ctx, clip)
	}
	if err != nil {
		return nil, err
	}
	if req.Format == FormatAVIF {
		// Lossless PNG first, then encoded (encodeAVIF).
		png, err := r.captureAs(ctx, FormatPNG, clip, box)
		if err != nil {
			return nil, err
		}
		return encodeAVIF(ctx, png, req.Quality)
	}
	data, err := r.captureAs(ctx, req.Format, clip, box)
	if err == nil && req.Optimise && req.Format == FormatPNG {
		data, err = optimisePNG(ctx, data)
	}
	return data, err
}

// captureAs captures clip in format f, through the Go redraw when the
// request needs one (img_fit, padding, stitching, watermark).
func (r *urlRun) captureAs(ctx context.Context, f Format, clip *page.Viewport, box image.Point) ([]byte, error) {
	req := r.req
	if !req.post() {
		return shoot(ctx, screenshot(f, req.Quality), clip)
	}
	var img *image.NRGBA
	var err error
	if req.FullPage && req.FullPageMode == FullPageStitch {
		img, err = r.stitch(ctx, clip)
	} else {
		img, err = shootImage(ctx, clip, req.viewport().scale)
	}
	if err != nil {
		return nil, err
	}
	if img, err = req.redraw(img, box); err != nil {
		return nil, err
	}
	return encodeImage(img, f, req.Quality)
}

// shoot captures clip (nil: the viewport) as shot says.
func shoot(ctx context.Context, shot *page.CaptureScreenshotParams, clip *page.Viewport) ([]byte, error) {
	if clip != nil {
		// Beyond the viewport, so full pages and elements below the fold
		// are drawn rather than cut to the window.
		shot = shot.WithClip(clip).WithCaptureBeyondViewport(true)
	}
	data, err := shot.Do(ctx)
	if err != nil {
		return nil, fmt.Errorf("capture screenshot: %w", err)
	}
	return data, nil
}

// shootImage captures clip as a PNG and decodes it.
func shootImage(ctx context.Context, clip *page.Viewport, dsf float64) (*image.NRGBA, error) {
	if clip != nil {
		if k := clip.Scale * dsf; clip.Width*k*clip.Height*k > maxPostPixels {
			return nil, fmt.Errorf("%w: a capture redrawn for img_fit, img_pad, stitch or a watermark may have at most %d pixels", ErrBadRequest, maxPostPixels)
		}
	}
	data, err := shoot(ctx, screenshot(FormatPNG, 0), clip)
	if err != nil {
		return nil, err
	}
	return decodeNRGBA(data)
}

// decodeNRGBA decodes a PNG of at most maxPostPixels.
func decodeNRGBA(data []byte) (*image.NRGBA, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode capture: %w", err)
	}
	if cfg.Width*cfg.Height > maxPostPixels {
		return nil, fmt.Errorf("%w: a capture of %dx%d px is too large to redraw (at most %d pixels)", ErrBadRequest, cfg.Width, cfg.Height, maxPostPixels)
	}
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode capture: %w", err)
	}
	if n, ok := src.(*image.NRGBA); ok {
		return n, nil
	}
	out := image.NewNRGBA(src.Bounds().Sub(src.Bounds().Min))
	draw.Draw(out, out.Bounds(), src, src.Bounds().Min, draw.Src)
	return out, nil
}

// viewportClip is the viewport as a capture rectangle in document pixels.
func (r *urlRun) viewportClip(ctx context.Context) (*page.Viewport, error) {
	var at struct{ X, Y float64 }
	if err := evaluate(ctx, `({X: window.scrollX, Y: window.scrollY})`, &at); err != nil {
		return nil, fmt.Errorf("measure scroll: %w", err)
	}
	return &page.Viewport{X: at.X, Y: at.Y, Width: float64(r.req.Width), Height: float64(r.req.Height), Scale: 1}, nil
}

// fit applies ImgFit to clip (nil: the viewport): the rectangle and scale
// Chromium captures, and for fill and contain the box Go then fits it to.
func (r *urlRun) fit(ctx context.Context, clip *page.Viewport) (*page.Viewport, image.Point, error) {
	req := r.req
	if clip == nil {
		var err error
		if clip, err = r.viewportClip(ctx); err != nil {
			return nil, image.Point{}, err
		}
	}
	dsf := req.viewport().scale
	tw, th := float64(req.ThumbWidth), float64(req.ThumbHeight)
	sx, sy := tw/(clip.Width*dsf), th/(clip.Height*dsf)
	box := image.Pt(req.ThumbWidth, req.ThumbHeight)
	switch req.ImgFit {
	case FitCover:
		clip.Scale = max(sx, sy)
		w, h := tw/(clip.Scale*dsf), th/(clip.Scale*dsf)
		fx, fy := req.position()
		clip.X += (clip.Width - w) * fx
		clip.Y += (clip.Height - h) * fy
		clip.Width, clip.Height = w, h
		box = image.Point{}
	case FitContain, FitInside:
		clip.Scale = min(sx, sy)
	case FitFill, FitOutside:
		clip.Scale = max(sx, sy)
	}
	if req.ImgFit == FitInside || req.ImgFit == FitOutside {
		box = image.Point{}
	}
	w, h := clip.Width*clip.Scale*dsf, clip.Height*clip.Scale*dsf
	if w > maxOutputSide || h > maxOutputSide {
		return nil, image.Point{}, fmt.Errorf("%w: img_fit %s makes a %.0fx%.0f px image; each side may be at most %d",
			ErrBadRequest, req.ImgFit, w, h, maxOutputSide)
	}
	return clip, box, nil
}

// redraw applies in Go what Chromium cannot: fill's stretch, contain's
// and ImgPad's padding, the watermark.
func (r URLRequest) redraw(img *image.NRGBA, box image.Point) (*image.NRGBA, error) {
	bg := color.NRGBA{255, 255, 255, 255}
	if r.ImgBg != "" {
		bg, _ = ParseColour(r.ImgBg) // validated
	}
	switch {
	case r.ImgFit == FitFill && box != (image.Point{}):
		out := image.NewNRGBA(image.Rectangle{Max: box})
		xdraw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
		img = out
	case r.ImgFit == FitContain && box != (image.Point{}):
		out := image.NewNRGBA(image.Rectangle{Max: box})
		draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
		fx, fy := r.position()
		free := box.Sub(img.Bounds().Size())
		at := image.Pt(int(float64(max(free.X, 0))*fx), int(float64(max(free.Y, 0))*fy))
		draw.Draw(out, img.Bounds().Add(at), img, image.Point{}, draw.Src)
		img = out
	}
	if p := r.ImgPad; p != [4]int{} {
		size := img.Bounds().Size()
		out := image.NewNRGBA(image.Rect(0, 0, size.X+p[1]+p[3], size.Y+p[0]+p[2]))
		if out.Bounds().Dx()*out.Bounds().Dy() > maxPostPixels {
			return nil, fmt.Errorf("%w: img_pad makes the image over %d pixels", ErrBadRequest, maxPostPixels)
		}
		draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
		draw.Draw(out, img.Bounds().Add(image.Pt(p[3], p[0])), img, image.Point{}, draw.Src)
		img = out
	}
	if r.Watermark.on() {
		s, err := r.Watermark.spec(img.Bounds(), r.mark)
		if err != nil {
			return nil, fmt.Errorf("%w: watermark: %w", ErrBadRequest, err)
		}
		if err := watermark.Draw(img, s); err != nil {
			return nil, fmt.Errorf("%w: watermark: %w", ErrBadRequest, err)
		}
	}
	return img, nil
}

// encodeImage encodes img as f; jpeg, which has no alpha, on white.
func encodeImage(img *image.NRGBA, f Format, quality int) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	q := cmp.Or(quality, defaultQuality)
	switch f {
	case FormatJPEG:
		flat := image.NewRGBA(img.Bounds())
		draw.Draw(flat, flat.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(flat, flat.Bounds(), img, img.Bounds().Min, draw.Over)
		err = jpeg.Encode(&buf, flat, &jpeg.Options{Quality: q})
	case FormatWebP:
		err = webp.Encode(&buf, img, webp.Options{Quality: q, Method: 2})
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", f, err)
	}
	return buf.Bytes(), nil
}

// unrollScript finds the page's largest scrolling element that is at
// least half the viewport wide and lets it and its ancestors grow to their
// content, so the document's height is the content's.
const unrollScript = `(() => {
  let best = null, most = 0;
  for (const e of document.querySelectorAll('body *')) {
    const extra = e.scrollHeight - e.clientHeight;
    if (extra <= most || e.clientWidth * 2 < innerWidth) continue;
    if (!/(auto|scroll|hidden)/.test(getComputedStyle(e).overflowY)) continue;
    best = e; most = extra;
  }
  for (let e = best; e; e = e.parentElement) {
    for (const [k, v] of [['height', 'auto'], ['max-height', 'none'], ['overflow', 'visible']]) e.style.setProperty(k, v, 'important');
  }
  return best !== null;
})()`

// namedColours are the colour names ParseColour knows (CSS's basic ones).
var namedColours = map[string]color.NRGBA{
	"black": {0, 0, 0, 255}, "white": {255, 255, 255, 255}, "red": {255, 0, 0, 255}, "lime": {0, 255, 0, 255},
	"green": {0, 128, 0, 255}, "blue": {0, 0, 255, 255}, "yellow": {255, 255, 0, 255}, "cyan": {0, 255, 255, 255},
	"aqua": {0, 255, 255, 255}, "magenta": {255, 0, 255, 255}, "fuchsia": {255, 0, 255, 255}, "gray": {128, 128, 128, 255},
	"grey": {128, 128, 128, 255}, "silver": {192, 192, 192, 255}, "maroon": {128, 0, 0, 255}, "olive": {128, 128, 0, 255},
	"navy": {0, 0, 128, 255}, "purple": {128, 0, 128, 255}, "teal": {0, 128, 128, 255}, "orange": {255, 165, 0, 255},
	"transparent": {},
}

// ParseColour reads a colour drawn in Go: #rgb, #rgba, #rrggbb,
// #rrggbbaa, rgb(r,g,b), rgba(r,g,b,a) with a from 0 to 1, or one of
// CSS's basic names (black, white, red, …, transparent).
func ParseColour(s string) (color.NRGBA, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := namedColours[s]; ok {
		return c, nil
	}
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		return parseHex(s, hex)
	}
	var c color.NRGBA
	var r, g, b int
	a := 1.0
	var n int
	var err error
	switch {
	case strings.HasPrefix(s, "rgba("):
		n, err = fmt.Sscanf(s, "rgba(%d,%d,%d,%g)", &r, &g, &b, &a)
		if err != nil || n != 4 {
			n, err = fmt.Sscanf(strings.ReplaceAll(s, " ", ""), "rgba(%d,%d,%d,%g)", &r, &g, &b, &a)
		}
	case strings.HasPrefix(s, "rgb("):
		n, err = fmt.Sscanf(strings.ReplaceAll(s, " ", ""), "rgb(%d,%d,%d)", &r, &g, &b)
		n++
	default:
		return c, fmt.Errorf("colour %q is not #rrggbb, rgb(), rgba() or a basic name", s)
	}
	if err != nil || n != 4 || !strings.HasSuffix(s, ")") || r < 0 || r > 255 || g < 0 || g > 255 || b < 0 || b > 255 || !(a >= 0 && a <= 1) {
		return c, fmt.Errorf("colour %q: channels must be 0..255 and alpha 0..1", s)
	}
	return color.NRGBA{uint8(r), uint8(g), uint8(b), uint8(a*255 + 0.5)}, nil
}

// parseHex reads the digits of a # colour.
func parseHex(s, hex string) (color.NRGBA, error) {
	var v [8]uint8
	switch len(hex) {
	case 3, 4, 6, 8:
	default:
		return color.NRGBA{}, fmt.Errorf("colour %q is not #rgb, #rgba, #rrggbb or #rrggbbaa", s)
	}
	for i := range len(hex) {
		c := hex[i]
		switch {
		case c >= '0' && c <= '9':
			v[i] = c - '0'
		case c >= 'a' && c <= 'f':
			v[i] = c - 'a' + 10
		default:
			return color.NRGBA{}, fmt.Errorf("colour %q has a digit that is not hex", s)
		}
	}
	ch := func(i int) uint8 {
		if len(hex) <= 4 {
			return v[i]*16 + v[i]
		}
		return v[2*i]*16 + v[2*i+1]
	}
	out := color.NRGBA{ch(0), ch(1), ch(2), 255}
	if len(hex) == 4 || len(hex) == 8 {
		out.A = ch(3)
	}
	return out, nil
}
