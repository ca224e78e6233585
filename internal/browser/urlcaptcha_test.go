package browser

import (
	"context"
	"errors"
	"image/color"
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestRenderURLFailIfCaptcha: fail_if_captcha fails a page with a
// reCAPTCHA, hCaptcha or Turnstile widget (by iframe, script or element)
// with ErrCaptcha naming it, and renders a page without one, even one
// that talks about CAPTCHAs.
func TestRenderURLFailIfCaptcha(t *testing.T) {
	page := func(body string) http.HandlerFunc {
		return htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">` + body)
	}
	pages := map[string]struct {
		h    http.HandlerFunc
		kind string // "" renders
	}{
		"/recaptcha-iframe": {page(`<iframe src="https://www.google.com/recaptcha/api2/anchor?k=site"></iframe>`), "reCAPTCHA"},
		"/recaptcha-div":    {page(`<form><div class="g-recaptcha" data-sitekey="site"></div></form>`), "reCAPTCHA"},
		"/hcaptcha-script":  {page(`<script src="https://js.hcaptcha.com/1/api.js" async></script>`), "hCaptcha"},
		"/hcaptcha-late": {page(`<script>addEventListener('load', () => {
			const d = document.createElement('div'); d.className = 'h-captcha'; document.body.appendChild(d); })</script>`), "hCaptcha"},
		"/turnstile":    {page(`<div class="cf-turnstile" data-sitekey="site"></div>`), "Cloudflare Turnstile"},
		"/cf-challenge": {page(`<iframe src="https://challenges.cloudflare.com/cdn-cgi/challenge-platform/h/b/turnstile/if/ov2"></iframe>`), "Cloudflare Turnstile"},
		"/clean":        {page(`<p class="captcha-help">Our form has no CAPTCHA; see recaptcha.net for what one is.</p><iframe src="/frame"></iframe>`), ""},
		"/frame":        {page(`<p>frame</p>`), ""},
	}
	routes := map[string]http.HandlerFunc{}
	for path, pg := range pages {
		routes[path] = pg.h
	}
	s := newSite(t, "127.0.0.1:0", routes)
	p := localPool(t)
	for path, pg := range pages {
		if path == "/frame" {
			continue
		}
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			req := URLRequest{URL: s.URL + path, Width: 100, Height: 100, Format: FormatPNG}
			if _, err := p.RenderURL(context.Background(), req); err != nil {
				t.Fatalf("without fail_if_captcha: %v", err)
			}
			req.FailIfCaptcha = true
			_, err := p.RenderURL(context.Background(), req)
			switch {
			case pg.kind == "" && err != nil:
				t.Errorf("a page without a CAPTCHA failed: %v", err)
			case pg.kind != "" && (!errors.Is(err, ErrCaptcha) || !strings.Contains(err.Error(), pg.kind+" widget")):
				t.Errorf("err = %v, want ErrCaptcha naming %s", err, pg.kind)
			}
		})
	}
}

// TestRenderURLSRGB: what srgb promises. Chromium draws into sRGB
// (--force-color-profile=srgb): CSS sRGB colours come out as exactly
// those values, and a Display P3 colour is converted to its sRGB value,
// not written as its P3 numbers.
func TestRenderURLSRGB(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/colours": htmlPage(`<!doctype html><body style="margin:0;display:flex">` +
			`<div style="width:20px;height:20px;background:rgb(12,34,56)"></div>` +
			`<div style="width:20px;height:20px;background:#fa8072"></div>` +
			`<div style="width:20px;height:20px;background:rgb(200,201,202)"></div>` +
			`<div style="width:20px;height:20px;background:color(display-p3 0.8 0.3 0.2)"></div>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/colours", Width: 80, Height: 20})
	for i, want := range []color.RGBA{{12, 34, 56, 255}, {250, 128, 114, 255}, {200, 201, 202, 255}} {
		wantPixel(t, img, i*20+10, 10, want)
	}
	want, got := p3ToSRGB(0.8, 0.3, 0.2), pixelAt(img, 70, 10)
	for i, c := range []uint8{got.R, got.G, got.B} {
		if math.Abs(float64(c)-want[i]) > 3 {
			t.Fatalf("display-p3(0.8 0.3 0.2) came out %v, want its sRGB value about %.0f", got, want)
		}
	}
	if got.R == 204 && got.G == 77 && got.B == 51 {
		t.Fatal("the P3 colour was written unconverted")
	}
}

// p3ToSRGB is the sRGB value (0..255) of a Display P3 colour (CSS Color 4).
func p3ToSRGB(r, g, b float64) [3]float64 {
	lin := func(c float64) float64 {
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	enc := func(c float64) float64 {
		c = min(max(c, 0), 1)
		if c <= 0.0031308 {
			return 255 * 12.92 * c
		}
		return 255 * (1.055*math.Pow(c, 1/2.4) - 0.055)
	}
	lr, lg, lb := lin(r), lin(g), lin(b)
	return [3]float64{
		enc(1.2249401*lr - 0.2249404*lg),
		enc(-0.0420569*lr + 1.0420571*lg),
		enc(-0.0196376*lr - 0.0786361*lg + 1.0982735*lb),
	}
}

// TestRenderURLChromium: what use_chromium promises: the page runs in
// Chromium (its user-agent client hints name the Chromium brand).
func TestRenderURLChromium(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/brand": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)"><script>
			const b = navigator.userAgentData && navigator.userAgentData.brands.map((x) => x.brand);
			if (b && b.includes('Chromium') && /Chrome\/\d+/.test(navigator.userAgent)) document.body.style.background = 'rgb(0,255,0)';</script>`),
	})
	p := localPool(t)
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/brand", Width: 20, Height: 20})
	wantPixel(t, img, 10, 10, green)
}
