package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // watermark_url may be a gif
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"time"

	_ "golang.org/x/image/webp" // and a webp

	"github.com/renderhook/renderhook/internal/egress"
)

// watermark_url: the image of an image watermark is fetched by RenderURL
// once the render is admitted (counted against MaxTabs + QueueSize) and
// before it takes a tab, through the egress guard (its address is checked
// as written and again at connect time, redirects too), and bounded in
// time, bytes and pixels before it is decoded. Any failure is the
// request's (ErrBadRequest naming watermark_url).

// Bounds of a watermark image.
const (
	maxMarkBytes  = 5 << 20
	maxMarkPixels = 4 << 20
	markTimeout   = 10 * time.Second
)

// fetchMark fetches and decodes the watermark image at raw.
func (u *URLRenderer) fetchMark(ctx context.Context, raw string) (image.Image, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: watermark_url: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if err := u.cfg.Egress.CheckURL(raw); err != nil {
		return nil, bad("%v", err)
	}
	u.markOnce.Do(func() {
		u.markClient = u.cfg.Egress.HTTPClient(egress.ClientOptions{Timeout: markTimeout, FollowRedirects: true})
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, bad("not a usable URL")
	}
	req.Header.Set("Accept", "image/png,image/jpeg,image/webp,image/gif")
	resp, err := u.markClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("watermark_url: %w", ctx.Err())
		}
		return nil, bad("fetch: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, bad("the image's server answered %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMarkBytes+1))
	switch {
	case err != nil:
		return nil, bad("read: %v", err)
	case len(data) > maxMarkBytes:
		return nil, bad("the image is over %d MiB", maxMarkBytes>>20)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	switch {
	case err != nil:
		return nil, bad("not a png, jpeg, webp or gif image")
	case cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > maxMarkPixels:
		return nil, bad("the image is %dx%d, over %d pixels", cfg.Width, cfg.Height, maxMarkPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, bad("decode: %v", err)
	}
	return img, nil
}
