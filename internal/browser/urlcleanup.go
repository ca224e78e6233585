package browser

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
)

// This file applies URLRequest's page-cleanup options: cookie banners
// hidden or accepted with DuckDuckGo's autoconsent (its rules and the
// bundle that runs them, embedded unmodified from the npm package with its
// MPL-2.0 licence: thirdparty/autoconsent, refreshed by
// scripts/update-autoconsent.sh), ads and chat widgets hidden, popups
// killed, and reader mode with Mozilla's Readability (Apache-2.0:
// thirdparty/readability).

var (
	// autoconsentBundle is autoconsent's "playwright" content script: it
	// talks to its host through window.autoconsentSendMessage and
	// window.autoconsentReceiveMessage, which consentScript wires up.
	//go:embed thirdparty/autoconsent/autoconsent.playwright.js
	autoconsentBundle string
	// autoconsentRules are autoconsent's JSON rules ({"autoconsent":
	// [...]}); its big consent platforms (OneTrust, Cookiebot, Didomi,
	// TCF, …) are code in the bundle.
	//go:embed thirdparty/autoconsent/rules.json
	autoconsentRules string
	//go:embed thirdparty/readability/Readability.js
	readabilityJS string
)

// How long a render waits for autoconsent once the page has loaded:
// consentDetectWait for it to find a consent platform (its prehiding
// already hides the banners it knows), then, with ClickAccept, at most
// consentMaxWait in all for the opt-in to finish.
const (
	consentDetectWait = 1500 * time.Millisecond
	consentMaxWait    = 8 * time.Second
)

// consentScripts are consentScript's three variants (hide, accept, both:
// index hide + 2·accept), each made once when first needed.
var consentScripts = [4]func() string{nil,
	sync.OnceValue(func() string { return makeConsentScript(true, false) }),
	sync.OnceValue(func() string { return makeConsentScript(false, true) }),
	sync.OnceValue(func() string { return makeConsentScript(true, true) }),
}

// consentScript is the script run in every document of a render with
// HideCookieBanners or ClickAccept (at least one).
func consentScript(hide, accept bool) string {
	i := 0
	if hide {
		i++
	}
	if accept {
		i += 2
	}
	return consentScripts[i]()
}

// makeConsentScript makes a consent script: a host for autoconsent in the page's
// main world (so its rules' evals run inline) that answers its init with
// the rules and records what it reports in window.__renderhookConsent,
// then the bundle. Hiding alone keeps autoconsent's prehiding on for the
// whole render (it answers no banner); ClickAccept opts in.
func makeConsentScript(hide, accept bool) string {
	action := "null"
	if accept {
		action = `"optIn"`
	}
	prehideTimeout := 2000
	if hide {
		prehideTimeout = 1 << 30 // keep hiding: no answer ends it
	}
	config := fmt.Sprintf(`{enabled: true, autoAction: %s, disabledCmps: [], enablePrehide: true, enableCosmeticRules: true,
  enableGeneratedRules: true, detectRetries: 20, isMainWorld: true, prehideTimeout: %d,
  logs: {lifecycle: false, rulesteps: false, detectionsteps: false, evals: false, errors: false, messages: false, waits: false}}`,
		action, prehideTimeout)
	return `(() => {
  if (window.__renderhookConsent) return;
  const st = window.__renderhookConsent = {detected: false, popup: false, optIn: null, lifecycle: ""};
  const config = ` + config + `;
  const rules = ` + autoconsentRules + `;
  const reply = (m) => Promise.resolve().then(() => window.autoconsentReceiveMessage(m));
  window.autoconsentSendMessage = (msg) => {
    switch (msg.type) {
      case "init": reply({type: "initResp", config, rules}); break;
      case "eval": {
        let result = false;
        try { result = !!(0, eval)(msg.code); } catch (e) {}
        reply({type: "evalResp", id: msg.id, result});
        break;
      }
      case "report": if (msg.mainFrame && msg.state) st.lifecycle = msg.state.lifecycle; break;
      case "cmpDetected": st.detected = true; st.cmp = msg.cmp; break;
      case "popupFound": st.popup = true; break;
      case "optInResult": st.optIn = !!msg.result; break;
    }
    return Promise.resolve();
  };
})();
` + autoconsentBundle
}

// prepareConsent registers consentScript for the documents a URL render
// loads (an HTML render, or one with the page's scripts off, runs it once
// loaded, in settleConsent).
func (r *urlRun) prepareConsent(ctx context.Context) error {
	req := r.req
	if !req.HideCookieBanners && !req.ClickAccept || req.URL == "" || req.DisableJS {
		return nil
	}
	if _, err := page.AddScriptToEvaluateOnNewDocument(consentScript(req.HideCookieBanners, req.ClickAccept)).Do(ctx); err != nil {
		return fmt.Errorf("add consent script: %w", err)
	}
	return nil
}

// consentState is what consentScript recorded.
type consentState struct {
	Detected, Popup bool
	OptIn           *bool
	Lifecycle       string
}

// settled tells whether the render need wait no longer for autoconsent,
// waited since the page loaded.
func (s *consentState) settled(accept bool, waited time.Duration) bool {
	switch {
	case s == nil:
		return waited >= consentDetectWait // the script did not run (scripts off)
	case s.Lifecycle == "nothingDetected" || s.OptIn != nil:
		return true
	case !s.Detected:
		return waited >= consentDetectWait
	case !accept:
		return s.Popup || waited >= consentDetectWait
	}
	return false // opting in: until the result, at most consentMaxWait
}

// settleConsent waits, once the page has loaded, for autoconsent to find
// the page's consent banner and, with ClickAccept, to accept it.
func (r *urlRun) settleConsent(ctx context.Context) error {
	req := r.req
	if !req.HideCookieBanners && !req.ClickAccept {
		return nil
	}
	if req.URL == "" || req.DisableJS {
		if err := evaluate(ctx, consentScript(req.HideCookieBanners, req.ClickAccept), nil); err != nil {
			return fmt.Errorf("run consent script: %w", err)
		}
	}
	start := time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Since(start) < consentMaxWait {
		var st *consentState
		if err := evaluate(ctx, `window.__renderhookConsent || null`, &st); err != nil {
			return fmt.Errorf("wait for consent banner: %w", err)
		}
		if st.settled(req.ClickAccept, time.Since(start)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for consent banner: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// adSelectors are what HideAds hides: the containers and frames the big
// ad networks fill (Google AdSense and Ad Manager, AMP ads, Amazon,
// Taboola, Outbrain, …) and the class and attribute names of EasyList's
// most common generic hiding rules. Each entry is one CSS rule, so an
// entry a browser cannot parse drops only itself.
var adSelectors = []string{
	`ins.adsbygoogle`, `.adsbygoogle`, `[id^="google_ads_iframe"]`, `[id^="div-gpt-ad"]`, `div[data-google-query-id]`,
	`iframe[src*="doubleclick.net"]`, `iframe[src*="googlesyndication.com"]`, `iframe[src*="amazon-adsystem.com"]`,
	`amp-ad`, `amp-embed`, `amp-sticky-ad`, `[data-ad-slot]`, `[data-ad-unit]`, `[data-adunit]`, `[data-ad-client]`,
	`.ad-slot`, `.ad-container`, `.ad-banner`, `.ad-unit`, `.adsbox`, `.advertisement`, `.sponsored-ad`,
	`[id^="taboola-"]`, `.trc_related_container`, `[id^="outbrain_widget"]`, `.OUTBRAIN`, `.ob-widget`,
	`a[href*="doubleclick.net/"]`, `a[href*="googleadservices.com/"]`,
}

// chatSelectors are what HideChats hides: the launchers and frames of the
// common chat widgets, by vendor (each has a case in TestRenderURLHideChats).
var chatSelectors = map[string][]string{
	"intercom":   {`#intercom-container`, `#intercom-frame`, `.intercom-lightweight-app`, `iframe[name^="intercom"]`},
	"drift":      {`#drift-widget`, `#drift-widget-container`, `#drift-frame-controller`, `#drift-frame-chat`},
	"zendesk":    {`iframe#launcher`, `iframe#webWidget`, `[data-product="web_widget"]`, `iframe[title="Button to launch messaging window"]`},
	"hubspot":    {`#hubspot-messages-iframe-container`},
	"crisp":      {`.crisp-client`, `#crisp-chatbox`},
	"tawk":       {`[id^="tawkchat"]`, `iframe[title="chat widget"]`},
	"livechat":   {`#chat-widget-container`},
	"freshchat":  {`#fc_frame`},
	"tidio":      {`#tidio-chat`},
	"olark":      {`#olark-wrapper`, `#olark-box-container`},
	"messenger":  {`.fb-customerchat`, `.fb_customer_chat_bounce_in_v2`},
	"zoho":       {`.zsiq_floatmain`, `#zsiq_float`},
	"chatwoot":   {`.woot-widget-holder`, `.woot--bubble-holder`},
	"liveperson": {`.LPMcontainer`},
}

// hidingCSS is the style HideAds and HideChats add.
func (r URLRequest) hidingCSS() string {
	var css strings.Builder
	rule := func(s string) { css.WriteString(s + "{display:none !important}\n") }
	if r.HideAds {
		for _, s := range adSelectors {
			rule(s)
		}
	}
	if r.HideChats {
		for _, list := range chatSelectors {
			for _, s := range list {
				rule(s)
			}
		}
	}
	return css.String()
}

// readerScript makes the page its article (Readability's extraction of a
// copy of the document), in a plain reading layout; it returns whether
// the page had an article.
const readerScript = `
  const art = new Readability(document.cloneNode(true)).parse();
  if (!art || !art.content) return false;
  document.adoptedStyleSheets = [];
  document.documentElement.innerHTML = '<head><meta charset="utf-8"><title></title><style>' +
    'body{margin:0;background:#fff;color:#222}article{max-width:42em;margin:0 auto;padding:2em 1.5em;' +
    'font:18px/1.6 Georgia,serif}h1{font-size:1.8em;line-height:1.2}img{max-width:100%;height:auto}' +
    '.byline{color:#666;font-style:italic}</style></head><body><article><h1></h1><p class="byline"></p>' +
    art.content + '</article></body>';
  document.title = art.title || '';
  document.querySelector('article > h1').textContent = art.title || '';
  const by = document.querySelector('article > .byline');
  if (art.byline) by.textContent = art.byline; else by.remove();
  if (art.dir) document.documentElement.dir = art.dir;
  return true;`

// cleanPage applies, once the page has loaded and before the client's css
// and js, reader mode, the consent options and the hiding of ads and
// chats.
func (r *urlRun) cleanPage(ctx context.Context) error {
	req := r.req
	if req.Readable {
		var ok bool
		js := `(() => {` + readabilityJS + readerScript + `})()`
		if err := evaluate(ctx, js, &ok); err != nil {
			return fmt.Errorf("reader mode: %w", err)
		}
	}
	if err := r.settleConsent(ctx); err != nil {
		return err
	}
	if css := req.hidingCSS(); css != "" {
		if err := injectCSS(ctx, css); err != nil {
			return fmt.Errorf("hide ads and chats: %w", err)
		}
	}
	return nil
}

// killPopupsScript hides modal overlays: open dialogs, elements marked
// aria-modal, and fixed elements that cover a quarter of the viewport or
// float (z-index 100 and up, clear of the top edge, so not a header) over
// a fair part of it; then lets the page scroll again. It returns how many
// it hid.
const killPopupsScript = `(() => {
  const vw = innerWidth, vh = innerHeight, hidden = new Set();
  const hide = (e) => { if (!hidden.has(e)) { hidden.add(e); e.style.setProperty('display', 'none', 'important'); } };
  document.querySelectorAll('dialog[open], [aria-modal="true"]').forEach(hide);
  for (const e of document.querySelectorAll('body *')) {
    if (hidden.has(e)) continue;
    const cs = getComputedStyle(e);
    if (cs.position !== 'fixed' || cs.display === 'none' || cs.visibility === 'hidden') continue;
    const b = e.getBoundingClientRect();
    const w = Math.max(0, Math.min(b.right, vw) - Math.max(b.left, 0));
    const h = Math.max(0, Math.min(b.bottom, vh) - Math.max(b.top, 0));
    const z = parseInt(cs.zIndex, 10) || 0;
    if (w * h >= 0.25 * vw * vh || (z >= 100 && b.top > 0 && w >= 0.2 * vw && h >= 0.15 * vh)) hide(e);
  }
  if (hidden.size > 0) {
    for (const e of [document.documentElement, document.body]) {
      if (e) { e.style.setProperty('overflow', 'auto', 'important'); e.style.setProperty('position', 'static', 'important'); }
    }
  }
  return hidden.size;
})()`

// killPopups applies KillPopups, last before the page settles for
// capture, so popups opened on a timer are gone too.
func (r *urlRun) killPopups(ctx context.Context) error {
	if !r.req.KillPopups {
		return nil
	}
	var n int
	if err := evaluate(ctx, killPopupsScript, &n); err != nil {
		return fmt.Errorf("kill popups: %w", err)
	}
	return nil
}
