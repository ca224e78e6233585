package browser

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/page"
)

// validateCapture checks the capture-size options.
func (r URLRequest) validateCapture() error {
	if r.ThumbWidth < 0 || r.ThumbWidth > maxDimension || r.ThumbHeight < 0 || r.ThumbHeight > maxDimension ||
		r.MaxHeight < 0 || r.MaxHeight > maxCaptureHeight {
		return fmt.Errorf("%w: thumb %dx%d or max_height %d is outside 0..%d (max_height 0..%d)",
			ErrBadRequest, r.ThumbWidth, r.ThumbHeight, r.MaxHeight, maxDimension, maxCaptureHeight)
	}
	if r.ScrollIncrement < 0 || r.ScrollIncrement > maxCaptureHeight || r.ScrollDelay < 0 || r.ScrollDelay > maxScrollDelay {
		return fmt.Errorf("%w: scroll_increment %d or scroll_delay %s is outside 0..%d / 0..%s",
			ErrBadRequest, r.ScrollIncrement, r.ScrollDelay, maxCaptureHeight, maxScrollDelay)
	}
	return nil
}

// Bounds of the full-page scroll.
const (
	maxScrollDelay = 5 * time.Second
	maxScrollSteps = 200
)

// scrollThrough scrolls a full page down by ScrollIncrement to its bottom
// (at most maxScrollSteps steps or maxCaptureHeight) and back to the top.
func (r *urlRun) scrollThrough(ctx context.Context) error {
	req := r.req
	if !req.FullPage || req.ScrollIncrement == 0 {
		return nil
	}
	for step := 1; step <= maxScrollSteps; step++ {
		var more bool
		js := `(() => { const y = ` + strconv.Itoa(step*req.ScrollIncrement) + `; window.scrollTo(0, y);
  return y < Math.min(document.documentElement.scrollHeight - innerHeight, ` + strconv.Itoa(maxCaptureHeight) + `); })()`
		if err := evaluate(ctx, js, &more); err != nil {
			return fmt.Errorf("scroll: %w", err)
		}
		select {
		case <-time.After(max(req.ScrollDelay, pollInterval)):
		case <-ctx.Done():
			return fmt.Errorf("scroll: %w", ctx.Err())
		}
		if !more {
			break
		}
	}
	if err := evaluate(ctx, `window.scrollTo(0, 0)`, nil); err != nil {
		return fmt.Errorf("scroll back: %w", err)
	}
	return nil
}

// thumb scales the capture rectangle clip (nil: the viewport) down to the
// request's thumbnail size; without one it returns clip as it is.
func (r *urlRun) thumb(ctx context.Context, clip *page.Viewport) (*page.Viewport, error) {
	req := r.req
	if req.ThumbWidth == 0 && req.ThumbHeight == 0 {
		return clip, nil
	}
	if clip == nil {
		var at struct{ X, Y float64 }
		if err := evaluate(ctx, `({X: window.scrollX, Y: window.scrollY})`, &at); err != nil {
			return nil, fmt.Errorf("measure scroll: %w", err)
		}
		clip = &page.Viewport{X: at.X, Y: at.Y, Width: float64(req.Width), Height: float64(req.Height), Scale: 1}
	}
	dsf := req.viewport().scale
	var scale float64
	if req.ThumbWidth > 0 {
		scale = float64(req.ThumbWidth) / (clip.Width * dsf)
	} else {
		scale = float64(req.ThumbHeight) / (clip.Height * dsf)
	}
	scale = min(scale, 1)
	if req.ThumbWidth > 0 && req.ThumbHeight > 0 {
		clip.Height = min(clip.Height, math.Floor(float64(req.ThumbHeight)/(scale*dsf)))
	}
	clip.Scale = scale
	return clip, nil
}
