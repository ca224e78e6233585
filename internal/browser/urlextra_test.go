package browser

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestRenderURLCleanupOptions checks hide_selector, block_urls, the block_*
// resource types, disable_js, press_escape, accept_lang and tz by what the
// capture shows and what the server received.
func TestRenderURLCleanupOptions(t *testing.T) {
	const solid = `<!doctype html><body style="margin:0;background:rgb(0,255,0)">`
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/banner": htmlPage(solid + `<div class="banner" style="position:fixed;inset:0;background:rgb(255,0,0)"></div>` +
			`<div id="modal" style="position:fixed;left:0;top:0;width:50px;height:50px;background:rgb(0,0,255)"></div>`),
		"/imgs": htmlPage(`<!doctype html><body style="margin:0;background:#fff">` +
			`<img src="/red.png" style="display:block;width:100px;height:100px">` +
			`<img src="/track/pixel.png" style="display:block;width:100px;height:100px">`),
		"/red.png":         pngPage(t, 2, 2, red),
		"/track/pixel.png": pngPage(t, 2, 2, red),
		"/script": htmlPage(`<!doctype html><body style="margin:0;background:rgb(0,255,0)">` +
			`<script>document.body.style.background = 'rgb(255,0,0)'</script>`),
		"/escape": htmlPage(solid + `<div id="m" style="position:fixed;inset:0;background:rgb(255,0,0)"></div><script>
			addEventListener('keydown', (e) => { if (e.key === 'Escape') document.getElementById('m').remove(); });</script>`),
		"/tz": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)"><script>
			if (Intl.DateTimeFormat().resolvedOptions().timeZone === 'Asia/Tokyo' && new Date(0).getTimezoneOffset() === -540)
			  document.body.style.background = 'rgb(0,255,0)';</script>`),
		"/lang": htmlPage(`<!doctype html><p>lang</p>`),
	})
	p := localPool(t)
	u := func(path string) string { return s.URL + path }

	t.Run("hide_selector", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/banner"), Width: 200, Height: 100})
		wantPixel(t, img, 100, 80, red) // without the option, the banner covers the page
		_, img = renderPNG(t, p, URLRequest{URL: u("/banner"), Width: 200, Height: 100, HideSelector: []string{".banner", "#modal", "p:bad("}})
		wantPixel(t, img, 100, 80, green)
		wantPixel(t, img, 10, 10, green)
	})
	t.Run("block_urls", func(t *testing.T) {
		before := s.hitsOf("/track/pixel.png")
		res, img := renderPNG(t, p, URLRequest{URL: u("/imgs"), Width: 200, Height: 300, BlockURLs: []string{"*/track/*"}})
		wantPixel(t, img, 50, 50, red)
		wantPixel(t, img, 50, 150, white)
		if got := s.hitsOf("/track/pixel.png"); got != before {
			t.Errorf("blocked URL was fetched (%d hits)", got-before)
		}
		wantBlocked(t, res, u("/track/pixel.png"))
	})
	t.Run("block_images", func(t *testing.T) {
		before := s.hitsOf("/red.png")
		res, img := renderPNG(t, p, URLRequest{URL: u("/imgs"), Width: 200, Height: 300, BlockResources: []ResourceType{ResourceImages}})
		wantPixel(t, img, 50, 50, white)
		if got := s.hitsOf("/red.png"); got != before {
			t.Errorf("blocked image was fetched (%d hits)", got-before)
		}
		wantBlocked(t, res, u("/red.png"))
		// The document itself is a resource too, never blocked.
		_, img = renderPNG(t, p, URLRequest{URL: u("/script"), Width: 100, Height: 100, BlockResources: []ResourceType{ResourceFrames}})
		wantPixel(t, img, 50, 50, red)
	})
	t.Run("disable_js", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/script"), Width: 100, Height: 100}, 50, 50, red, green, func(r *URLRequest) { r.DisableJS = true })
	})
	t.Run("press_escape", func(t *testing.T) {
		flips(t, p, URLRequest{URL: u("/escape"), Width: 100, Height: 100}, 50, 50, red, green, func(r *URLRequest) { r.PressEscape = true })
	})
	t.Run("tz", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: u("/tz"), Width: 100, Height: 100, Timezone: "Asia/Tokyo"})
		wantPixel(t, img, 50, 50, green)
		_, err := p.RenderURL(context.Background(), URLRequest{URL: u("/tz"), Format: FormatPNG, Timezone: "Mars/Olympus"})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("unknown timezone: err = %v, want ErrBadRequest", err)
		}
	})
	t.Run("accept_lang", func(t *testing.T) {
		renderPNG(t, p, URLRequest{URL: u("/lang"), Width: 100, Height: 100, AcceptLanguage: "de-CH, de;q=0.9"})
		if got := s.headerOf("/lang").Get("Accept-Language"); got != "de-CH, de;q=0.9" {
			t.Errorf("Accept-Language = %q", got)
		}
	})
}

func TestURLRequestExtraValidate(t *testing.T) {
	for name, req := range map[string]URLRequest{
		"too many selectors": {HideSelector: make([]string, MaxSelectors+1)},
		"empty selector":     {HideSelector: []string{" "}},
		"braces":             {HideSelector: []string{"p{}"}},
		"too many patterns":  {BlockURLs: make([]string, MaxBlockURLs+1)},
		"unknown type":       {BlockResources: []ResourceType{"documents"}},
		"header injection":   {AcceptLanguage: "en\r\nX-Evil: 1"},
		"long tz":            {Timezone: strings.Repeat("a", 101)},
		"bad latitude":       {Geolocation: &Geolocation{Latitude: 91}},
		"referer newline":    {Referer: "http://a/\nX: y"},
	} {
		req.URL, req.Format = "http://example.com/", FormatPNG
		if err := req.withDefaults().validate(); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: validate = %v, want ErrBadRequest", name, err)
		}
	}
	ok := URLRequest{URL: "http://example.com/", Format: FormatPNG, HideSelector: []string{"#a"}, BlockURLs: []string{"*ads*"},
		BlockResources: ResourceTypes, Timezone: "UTC", AcceptLanguage: "en"}
	if err := ok.withDefaults().validate(); err != nil {
		t.Errorf("valid request: %v", err)
	}
}

// TestRenderURLRequestOptions checks referer, authorization (to the page's
// origin only) and geolocation by what the servers received and the page
// showed.
func TestRenderURLRequestOptions(t *testing.T) {
	other := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/other.png": pngPage(t, 2, 2, green),
	})
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/page":     htmlPage(`<!doctype html><body><img src="/same.png"><img src="` + other.URL + `/other.png">`),
		"/same.png": pngPage(t, 2, 2, green),
		"/geo": htmlPage(`<!doctype html><body style="margin:0;background:rgb(255,0,0)"><script>
			navigator.geolocation.getCurrentPosition((p) => {
			  if (Math.abs(p.coords.latitude - 48.85) < 1e-6 && Math.abs(p.coords.longitude - 2.35) < 1e-6 && p.coords.accuracy === 25)
			    document.body.style.background = 'rgb(0,255,0)';
			  document.body.appendChild(document.createElement('i')).id = 'done';
			}, () => { document.body.appendChild(document.createElement('i')).id = 'done'; });</script>`),
	})
	p := localPool(t)

	t.Run("referer and authorization", func(t *testing.T) {
		renderPNG(t, p, URLRequest{URL: s.URL + "/page", Width: 100, Height: 100, WaitUntil: WaitRequestsFinished,
			Referer: "https://search.example/?q=x", Authorization: "Bearer s3cret"})
		if got := s.headerOf("/page").Get("Referer"); got != "https://search.example/?q=x" {
			t.Errorf("Referer = %q", got)
		}
		for _, path := range []string{"/page", "/same.png"} {
			if got := s.headerOf(path).Get("Authorization"); got != "Bearer s3cret" {
				t.Errorf("%s: Authorization = %q, want the token", path, got)
			}
		}
		h := other.headerOf("/other.png")
		if h == nil {
			t.Fatal("the other origin's image was not requested")
		}
		if got := h.Get("Authorization"); got != "" {
			t.Errorf("another origin got Authorization %q", got)
		}
	})
	t.Run("geolocation", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/geo", Width: 100, Height: 100, WaitFor: "#done"})
		wantPixel(t, img, 50, 50, red) // no position without the option
		_, img = renderPNG(t, p, URLRequest{URL: s.URL + "/geo", Width: 100, Height: 100, WaitFor: "#done",
			Geolocation: &Geolocation{Latitude: 48.85, Longitude: 2.35, Accuracy: 25}})
		wantPixel(t, img, 50, 50, green)
	})
}
