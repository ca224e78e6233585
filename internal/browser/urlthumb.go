package browser

import (
	"context"
	"fmt"
	"math"

	"github.com/chromedp/cdproto/page"
)

// validateCapture checks the capture-size options.
func (r URLRequest) validateCapture() error {
	if r.ThumbWidth < 0 || r.ThumbWidth > maxDimension || r.ThumbHeight < 0 || r.ThumbHeight > maxDimension ||
		r.MaxHeight < 0 || r.MaxHeight > maxCaptureHeight {
		return fmt.Errorf("%w: thumb %dx%d or max_height %d is outside 0..%d (max_height 0..%d)",
			ErrBadRequest, r.ThumbWidth, r.ThumbHeight, r.MaxHeight, maxDimension, maxCaptureHeight)
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
