package browser

import (
	"cmp"
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
	if err := r.validateCapture3(); err != nil {
		return err
	}
	return r.validateFit()
}

// Bounds of the full-page scroll.
const (
	maxScrollDelay = 5 * time.Second
	maxScrollSteps = 200
)

// scrollThrough scrolls the page down by ScrollIncrement (full pages) or,
// for LazyLoad, by ScrollIncrement or the viewport's height, to its bottom
// and back to where it was. The bottom is where the page ended before the
// scroll, unless AllowInfinite lets it follow the page as it grows; never
// below MaxHeight or maxCaptureHeight, and at most maxScrollSteps steps.
func (r *urlRun) scrollThrough(ctx context.Context) error {
	req := r.req
	step := req.ScrollIncrement
	if req.LazyLoad {
		step = cmp.Or(step, req.Height)
		js := `document.querySelectorAll('img[loading="lazy"], iframe[loading="lazy"]').forEach((e) => { e.loading = 'eager'; })`
		if err := evaluate(ctx, js, nil); err != nil {
			return fmt.Errorf("lazyload: %w", err)
		}
	}
	if step == 0 || (!req.FullPage && !req.LazyLoad) {
		return nil
	}
	limit := float64(maxCaptureHeight)
	if req.MaxHeight > 0 {
		limit = float64(req.MaxHeight)
	}
	var at struct{ X, Y, H float64 }
	if err := evaluate(ctx, `({X: scrollX, Y: scrollY, H: document.documentElement.scrollHeight})`, &at); err != nil {
		return fmt.Errorf("scroll: measure page: %w", err)
	}
	if !req.AllowInfinite {
		limit = min(limit, at.H)
	}
	if req.ScrollHeight > 0 {
		// The scroll goes no further down than ScrollHeight.
		limit = min(limit, float64(req.ScrollHeight+req.Height))
	}
	var stop time.Time
	if req.MaxScrollTime > 0 {
		stop = time.Now().Add(req.MaxScrollTime)
	}
	for y := step; y <= maxScrollSteps*step; y += step {
		if !stop.IsZero() && !time.Now().Before(stop) {
			break // max_scroll_page_time ran out: capture what there is
		}
		if req.ScrollHeight > 0 {
			y = min(y, req.ScrollHeight)
		}
		more, err := r.scrollStep(ctx, y, limit)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	// Back where it was (the top, or where scroll_to put it).
	back := fmt.Sprintf(`window.scrollTo(%d, %d)`, int(at.X), int(at.Y))
	if err := evaluate(ctx, back, nil); err != nil {
		return fmt.Errorf("scroll back: %w", err)
	}
	return nil
}

// infiniteGrace is how long a scroll with AllowInfinite waits at the
// bottom for the page to grow before it stops.
const infiniteGrace = time.Second

// scrollStep scrolls to y, waits ScrollDelay, and reports whether there
// is more page above limit below the viewport; with AllowInfinite, a page
// at its bottom gets infiniteGrace to grow.
func (r *urlRun) scrollStep(ctx context.Context, y int, limit float64) (bool, error) {
	req := r.req
	js := `window.scrollTo(0, ` + strconv.Itoa(y) + `); ` + strconv.Itoa(y) +
		` < Math.min(document.documentElement.scrollHeight, ` + strconv.FormatFloat(limit, 'f', 0, 64) + `) - innerHeight`
	var more bool
	if err := evaluate(ctx, js, &more); err != nil {
		return false, fmt.Errorf("scroll: %w", err)
	}
	wait := max(req.ScrollDelay, pollInterval)
	switch {
	case !more && req.AllowInfinite && float64(y) < limit:
		wait = infiniteGrace
	case !more && req.SkipFinalDelay:
		return false, nil // the last step: capture without its scroll_delay
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return more, nil
		case <-ctx.Done():
			return false, fmt.Errorf("scroll: %w", ctx.Err())
		case <-tick.C:
		}
		if more {
			continue // wait the whole delay
		}
		// At the bottom: has the page grown since?
		grown := false
		js := strconv.Itoa(y) + ` < Math.min(document.documentElement.scrollHeight, ` + strconv.FormatFloat(limit, 'f', 0, 64) + `) - innerHeight`
		if err := evaluate(ctx, js, &grown); err != nil {
			return false, fmt.Errorf("scroll: %w", err)
		}
		if grown {
			return true, nil
		}
	}
}

// thumb scales the capture rectangle clip (nil: the viewport) down to the
// request's thumbnail size; without one it returns clip as it is.
func (r *urlRun) thumb(ctx context.Context, clip *page.Viewport) (*page.Viewport, error) {
	req := r.req
	if req.ThumbWidth == 0 && req.ThumbHeight == 0 {
		return clip, nil
	}
	if clip == nil {
		var err error
		if clip, err = r.viewportClip(ctx); err != nil {
			return nil, err
		}
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
