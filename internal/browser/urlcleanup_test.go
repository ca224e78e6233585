package browser

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// oneTrustBanner reproduces OneTrust's banner markup (the ids its SDK
// writes); accepting sets its consent cookie, removes the banner and paints
// a blue flag the capture shows.
const oneTrustBanner = `<!doctype html><body style="margin:0;background:rgb(0,255,0)">
<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk" class="otFlat" role="region" aria-label="Cookie banner"
  style="position:fixed;left:0;right:0;bottom:0;height:60%;background:rgb(255,0,0);z-index:2147483645">
  <div id="onetrust-policy"><p id="onetrust-policy-text">We use cookies to improve your experience.</p></div>
  <div id="onetrust-button-group"><button id="onetrust-pc-btn-handler">Cookie Settings</button>
  <button id="onetrust-reject-all-handler">Reject All</button>
  <button id="onetrust-accept-btn-handler">Accept All Cookies</button></div></div></div>
<script>
document.getElementById('onetrust-accept-btn-handler').addEventListener('click', () => {
  document.cookie = 'OptanonAlertBoxClosed=' + new Date().toISOString() + '; path=/';
  document.getElementById('onetrust-banner-sdk').remove();
  const f = document.createElement('div');
  f.style.cssText = 'position:fixed;left:0;top:0;width:20px;height:20px;background:rgb(0,0,255)';
  document.body.appendChild(f);
});
</script>`

// cookiebotDialog reproduces Cookiebot's dialog and the window.Cookiebot
// object its script defines (which autoconsent's rules ask about).
const cookiebotDialog = `<!doctype html><body style="margin:0;background:rgb(0,255,0)">
<div id="CybotCookiebotDialog" name="CybotCookiebotDialog" role="dialog" class="CybotCookiebotDialogActive"
  style="position:fixed;left:0;right:0;bottom:0;height:60%;background:rgb(255,0,0);z-index:2147483631">
  <div id="CybotCookiebotDialogBody">This website uses cookies</div>
  <button id="CybotCookiebotDialogBodyButtonDecline">Deny</button>
  <button id="CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll">Allow all</button>
  <a id="CybotCookiebotDialogBodyButtonAccept" href="#">Allow all cookies</a></div>
<script>
window.Cookiebot = {hasResponse: false, declined: false, consented: false, dialog: {visible: true}};
document.getElementById('CybotCookiebotDialogBodyButtonAccept').addEventListener('click', (e) => {
  e.preventDefault();
  Object.assign(window.Cookiebot, {hasResponse: true, consented: true});
  window.Cookiebot.dialog.visible = false;
  document.cookie = 'CookieConsent=accepted; path=/';
  document.getElementById('CybotCookiebotDialog').remove();
  const f = document.createElement('div');
  f.style.cssText = 'position:fixed;left:0;top:0;width:20px;height:20px;background:rgb(0,0,255)';
  document.body.appendChild(f);
});
</script>`

// consentCookie makes the js option fail the render unless the page's
// accept handler set cookie name.
func consentCookie(name string) string {
	return `if (!document.cookie.includes(` + jsString(name+"=") + `)) throw new Error('no consent cookie')`
}

// TestRenderURLConsent checks hide_cookie_banners and click_accept on
// local fixtures of two real consent platforms: the banner shows in a
// plain render, is hidden (and not answered) with HideCookieBanners, and is
// accepted (the page's own handler ran) with ClickAccept; also hidden in
// an HTML render and with the page's scripts off.
func TestRenderURLConsent(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/onetrust":  htmlPage(oneTrustBanner),
		"/cookiebot": htmlPage(cookiebotDialog),
	})
	p := localPool(t)
	for _, c := range []struct{ path, cookie string }{{"/onetrust", "OptanonAlertBoxClosed"}, {"/cookiebot", "CookieConsent"}} {
		t.Run(c.path, func(t *testing.T) {
			base := URLRequest{URL: s.URL + c.path, Width: 200, Height: 200}
			_, img := renderPNG(t, p, base)
			wantPixel(t, img, 190, 190, red) // the banner covers the page's lower part

			hide := base
			hide.HideCookieBanners = true
			_, img = renderPNG(t, p, hide)
			wantPixel(t, img, 190, 190, green)
			wantPixel(t, img, 5, 5, green) // not accepted: no flag

			accept := base
			accept.ClickAccept, accept.JS = true, consentCookie(c.cookie)
			_, img = renderPNG(t, p, accept)
			wantPixel(t, img, 190, 190, green)
			wantPixel(t, img, 5, 5, blue) // the accept handler ran
		})
	}
	t.Run("html", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{HTML: oneTrustBanner, Width: 200, Height: 200, HideCookieBanners: true})
		wantPixel(t, img, 190, 190, green)
	})
	t.Run("scripts off", func(t *testing.T) {
		_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/onetrust", Width: 200, Height: 200, DisableJS: true, HideCookieBanners: true})
		wantPixel(t, img, 190, 190, green)
	})
}

// widgetPage lays out markups as 40×40 red boxes in a row over a white
// page: box i is at x = 50·i + 20, y = 20.
func widgetPage(markups []string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><body style="margin:0;background:#fff">`)
	for i, m := range markups {
		fmt.Fprintf(&b, `<div style="position:absolute;left:%dpx;top:0;width:40px;height:40px">%s</div>`, 50*i, m)
	}
	b.WriteString(`<div id="content" style="position:absolute;left:0;top:60px;width:40px;height:40px;background:rgb(0,255,0)"></div>`)
	return b.String()
}

// box is a red 40×40 block for widget markups.
const box = `style="display:block;width:40px;height:40px;background:rgb(255,0,0);border:0"`

// wantWidgets checks that each of the n boxes of widgetPage is red (shown)
// or white (hidden), and the content stays.
func wantWidgets(t *testing.T, img image.Image, names []string, shown bool) {
	t.Helper()
	want := white
	if shown {
		want = red
	}
	for i, name := range names {
		if got := pixelAt(img, 50*i+20, 20); got != want {
			t.Errorf("%s: pixel %v, want %v", name, got, want)
		}
	}
	wantPixel(t, img, 20, 80, green)
}

// renderWidgets renders widgetPage of markups (sorted by name) with and
// without the option set by on, and checks every widget is shown without
// it and hidden with it.
func renderWidgets(t *testing.T, markups map[string]string, on func(*URLRequest)) {
	p := localPool(t)
	var names []string
	for n := range markups {
		names = append(names, n)
	}
	sort.Strings(names)
	var list []string
	for _, n := range names {
		list = append(list, markups[n])
	}
	req := URLRequest{HTML: widgetPage(list), Width: 50*len(list) + 10, Height: 120}
	_, img := renderPNG(t, p, req)
	wantWidgets(t, img, names, true)
	on(&req)
	_, img = renderPNG(t, p, req)
	wantWidgets(t, img, names, false)
}

// TestRenderURLHideChats checks hide_chats on each vendor's widget markup
// (the ids and classes their loaders write), written here rather than
// taken from chatSelectors.
func TestRenderURLHideChats(t *testing.T) {
	markups := map[string]string{
		"intercom":   `<div id="intercom-container"><div ` + box + `></div></div>`,
		"intercom2":  `<div class="intercom-lightweight-app"><div ` + box + `></div></div>`,
		"drift":      `<div id="drift-frame-controller"><div ` + box + `></div></div>`,
		"zendesk":    `<iframe id="launcher" title="Button to launch messaging window" ` + box + `></iframe>`,
		"hubspot":    `<div id="hubspot-messages-iframe-container"><div ` + box + `></div></div>`,
		"crisp":      `<div class="crisp-client"><div ` + box + `></div></div>`,
		"tawk":       `<iframe title="chat widget" ` + box + `></iframe>`,
		"livechat":   `<div id="chat-widget-container"><div ` + box + `></div></div>`,
		"freshchat":  `<div id="fc_frame"><div ` + box + `></div></div>`,
		"tidio":      `<div id="tidio-chat"><div ` + box + `></div></div>`,
		"olark":      `<div id="olark-wrapper"><div ` + box + `></div></div>`,
		"messenger":  `<div class="fb-customerchat"><div ` + box + `></div></div>`,
		"zoho":       `<div class="zsiq_floatmain"><div ` + box + `></div></div>`,
		"chatwoot":   `<div class="woot--bubble-holder"><div ` + box + `></div></div>`,
		"liveperson": `<div class="LPMcontainer"><div ` + box + `></div></div>`,
	}
	renderWidgets(t, markups, func(r *URLRequest) { r.HideChats = true })
}

// TestRenderURLHideAds checks hide_ads on the markup of the common ad
// slots.
func TestRenderURLHideAds(t *testing.T) {
	markups := map[string]string{
		"adsense": `<ins class="adsbygoogle" data-ad-client="ca-pub-1" data-ad-slot="1" ` + box + `></ins>`,
		"gpt":     `<div id="div-gpt-ad-1234567-0"><div ` + box + `></div></div>`,
		"gam":     `<div id="google_ads_iframe_/1/x_0__container__"><div ` + box + `></div></div>`,
		"amp":     `<amp-ad type="doubleclick" ` + box + `></amp-ad>`,
		"taboola": `<div id="taboola-below-article"><div ` + box + `></div></div>`,
		"outbrn":  `<div class="OUTBRAIN"><div ` + box + `></div></div>`,
		"generic": `<div class="ad-slot"><div ` + box + `></div></div>`,
	}
	renderWidgets(t, markups, func(r *URLRequest) { r.HideAds = true })
}

// TestRenderURLKillPopups checks kill_popups: a modal newsletter popup
// with its backdrop, opened on a timer after load, is gone, while a fixed
// header stays.
func TestRenderURLKillPopups(t *testing.T) {
	p := localPool(t)
	doc := `<!doctype html><html style="overflow:hidden"><body style="margin:0;background:rgb(0,255,0);overflow:hidden;height:3000px">
<header style="position:fixed;top:0;left:0;right:0;height:20px;background:rgb(0,0,255);z-index:1000"></header>
<script>setTimeout(() => document.body.insertAdjacentHTML('beforeend',
  '<div class="backdrop" style="position:fixed;inset:0;background:rgba(0,0,0,.6);z-index:9998"></div>' +
  '<div class="newsletter" role="dialog" style="position:fixed;left:25%;top:25%;width:50%;height:50%;background:rgb(255,0,0);z-index:9999">Subscribe!</div>'), 50);
</script>`
	// Waiting for the popup is the client's part: wait_for it.
	req := URLRequest{HTML: doc, Width: 200, Height: 200, WaitFor: ".newsletter"}
	_, img := renderPNG(t, p, req)
	wantPixel(t, img, 100, 100, red)
	req.KillPopups = true
	_, img = renderPNG(t, p, req)
	wantPixel(t, img, 100, 100, green)
	wantPixel(t, img, 100, 40, green) // backdrop gone too
	wantPixel(t, img, 100, 10, blue)  // the header stays
}

// articlePage is a news page: navigation and a sidebar in red around an
// article.
const articlePage = `<!doctype html><html><head><title>The Quiet Harbour</title></head>
<body style="margin:0;background:rgb(255,0,0)">
<nav style="height:60px;background:rgb(255,0,0)"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<aside class="sidebar" style="float:right;width:200px;background:rgb(255,0,0)"><h3>Trending</h3><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li></ul></aside>
<main><article><h1>The Quiet Harbour</h1>
<p>The harbour town woke slowly that morning, fog rolling in off the grey water while the fishing boats knocked gently against the old stone quay and gulls argued overhead.</p>
<p>Marta had kept the lighthouse for thirty-one years, climbing its hundred and twelve steps twice a day, and she knew every sound the tower made in every kind of weather.</p>
<p>When the letter from the council arrived, announcing that the light would be automated by spring, she read it twice at the kitchen table and then folded it into a very small square.</p>
<p>Nobody in the town could remember a time before Marta, and the children who came up the hill on Sundays to hear her stories about storms and shipwrecks did not believe her when she said she would leave.</p>
<p>The unmistakable phrase periwinkle lantern appears only here, in the article body, so a test can find it after reader mode.</p>
</article></main>
<footer style="background:rgb(255,0,0)">© Harbour Times · <a href="/privacy">Privacy</a></footer></body></html>`

// TestRenderURLReadable checks readable: the navigation, sidebar and
// footer are gone and the article's text is still there.
func TestRenderURLReadable(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/story": htmlPage(articlePage)})
	p := localPool(t)
	check := `if (document.querySelector('nav, aside, footer')) throw new Error('page chrome left');
if (!document.body.innerText.includes('periwinkle lantern')) throw new Error('article text gone');`
	_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/story", Format: FormatPNG, JS: check})
	if !errors.Is(err, ErrPageScript) {
		t.Fatalf("without readable: err = %v, want the check to fail", err)
	}
	_, img := renderPNG(t, p, URLRequest{URL: s.URL + "/story", Width: 400, Height: 300, Readable: true, JS: check})
	wantPixel(t, img, 5, 5, white) // no red navigation
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			if pixelAt(img, x, y) == red {
				t.Fatalf("red page chrome at (%d,%d) in reader mode", x, y)
			}
		}
	}
}
