package browser

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestRenderURLWaitOptions checks wait_to_leave, wait_timeout,
// skip_wait_for_images and the fail_if_selector_* options.
func TestRenderURLWaitOptions(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/spinner": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">` +
			`<div id="spin" style="position:fixed;inset:0;background:rgb(255,0,0)"></div>` +
			`<script>setTimeout(() => document.getElementById('spin').remove(), 1200)</script>`),
		"/lateimg": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)"><script>
			addEventListener('load', () => { const i = new Image(); i.src = '/hang.png'; document.body.appendChild(i); });</script>`),
		"/hang.png": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		},
		"/plain": htmlPage(`<!doctype html><body><p id="here">here</p>`),
	})
	p := localPool(t)
	u := func(path string) string { return s.URL + path }
	render := func(req URLRequest) error {
		req.Format = FormatPNG
		_, err := p.RenderURL(context.Background(), req)
		return err
	}

	t.Run("wait_to_leave", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/spinner"), Width: 100, Height: 100}, 50, 50, red, green, func(r *URLRequest) { r.WaitToLeave = "#spin" })
	})
	t.Run("wait_timeout", func(t *testing.T) {
		start := time.Now()
		err := render(URLRequest{URL: u("/plain"), WaitFor: "#never", WaitTimeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrSelectorNotFound) || errors.Is(err, ErrRenderTimeout) {
			t.Errorf("err = %v, want ErrSelectorNotFound without ErrRenderTimeout", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("gave up after %s, want about 300ms", took)
		}
		err = render(URLRequest{URL: u("/spinner"), WaitToLeave: "#spin", WaitTimeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrSelectorNotFound) {
			t.Errorf("wait_to_leave: err = %v, want ErrSelectorNotFound", err)
		}
	})
	t.Run("skip_wait_for_images", func(t *testing.T) {
		err := render(URLRequest{URL: u("/lateimg"), Timeout: 3 * time.Second})
		if !errors.Is(err, ErrRenderTimeout) {
			t.Fatalf("without the option: err = %v, want ErrRenderTimeout (the image never loads)", err)
		}
		_, img := renderPNG(t, p, URLRequest{URL: u("/lateimg"), Width: 100, Height: 100, Timeout: 10 * time.Second, SkipWaitForImages: true})
		wantPixel(t, img, 50, 50, green)
	})
	t.Run("fail_if_selector", func(t *testing.T) {
		if err := render(URLRequest{URL: u("/plain"), FailIfSelectorMissing: "#here", FailIfSelectorPresent: "#gone"}); err != nil {
			t.Errorf("both hold: %v", err)
		}
		if err := render(URLRequest{URL: u("/plain"), FailIfSelectorMissing: "#gone"}); !errors.Is(err, ErrSelectorMissing) {
			t.Errorf("missing: err = %v, want ErrSelectorMissing", err)
		}
		if err := render(URLRequest{URL: u("/plain"), FailIfSelectorPresent: "p#here"}); !errors.Is(err, ErrSelectorPresent) {
			t.Errorf("present: err = %v, want ErrSelectorPresent", err)
		}
		if err := render(URLRequest{URL: u("/plain"), FailIfSelectorPresent: "p:::"}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("malformed: err = %v, want ErrBadRequest", err)
		}
	})
}
