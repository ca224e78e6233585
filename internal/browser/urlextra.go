package browser

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
)

// This file applies URLRequest's cleanup and request options: hidden
// selectors, blocked URLs and resource types, disabled scripts, Escape,
// Accept-Language and the time zone.

// Bounds of URLRequest's lists.
const (
	// MaxSelectors bounds HideSelector.
	MaxSelectors = 50
	// MaxBlockURLs bounds BlockURLs.
	MaxBlockURLs = 100
	// maxPatternLen bounds one selector or URL pattern (as the v1 parser
	// bounds selectors).
	maxPatternLen = 2048
)

// ResourceType is a kind of request a render may block (Urlbox's block_*
// options), as Chromium classifies it.
type ResourceType string

// ResourceType values, one per Urlbox block_* option.
const (
	ResourceImages    ResourceType = "images"
	ResourceFonts     ResourceType = "fonts"
	ResourceMedias    ResourceType = "medias"
	ResourceStyles    ResourceType = "styles"
	ResourceScripts   ResourceType = "scripts"
	ResourceFrames    ResourceType = "frames"
	ResourceFetch     ResourceType = "fetch"
	ResourceXHR       ResourceType = "xhr"
	ResourceSockets   ResourceType = "sockets"
	ResourcePings     ResourceType = "pings"
	ResourceManifests ResourceType = "manifests"
	ResourceOther     ResourceType = "other"
)

// ResourceTypes lists every ResourceType, in Urlbox's order.
var ResourceTypes = []ResourceType{ResourceImages, ResourceFonts, ResourceMedias, ResourceStyles,
	ResourceScripts, ResourceFrames, ResourceFetch, ResourceXHR, ResourceSockets, ResourcePings,
	ResourceManifests, ResourceOther}

// cdpTypes are the Chromium resource types a ResourceType blocks. Frames
// are sub-documents: the main document's request is never intercepted
// (see fetchPatterns).
var cdpTypes = map[ResourceType][]network.ResourceType{
	ResourceImages:    {network.ResourceTypeImage},
	ResourceFonts:     {network.ResourceTypeFont},
	ResourceMedias:    {network.ResourceTypeMedia}, // Fetch filters know no TextTrack type
	ResourceStyles:    {network.ResourceTypeStylesheet},
	ResourceScripts:   {network.ResourceTypeScript},
	ResourceFrames:    {network.ResourceTypeDocument},
	ResourceFetch:     {network.ResourceTypeFetch},
	ResourceXHR:       {network.ResourceTypeXHR},
	ResourceSockets:   {network.ResourceTypeWebSocket, network.ResourceTypeEventSource},
	ResourcePings:     {network.ResourceTypePing, network.ResourceTypeCSPViolationReport},
	ResourceManifests: {network.ResourceTypeManifest},
	ResourceOther:     {network.ResourceTypeOther, network.ResourceTypePrefetch, network.ResourceTypeSignedExchange},
}

// validateExtra checks the options of this file.
func (r URLRequest) validateExtra() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	// The other families' checks, each in its own file; the first
	// violation is the answer.
	for _, validate := range []func() error{r.validateWaits, r.validateInteract, r.validateCapture, r.validateNav, r.validateVideo, r.validatePage} {
		if err := validate(); err != nil {
			return err
		}
	}
	if len(r.HideSelector) > MaxSelectors {
		return bad("hide_selector: %d selectors, at most %d", len(r.HideSelector), MaxSelectors)
	}
	if len(r.BlockURLs) > MaxBlockURLs {
		return bad("block_urls: %d patterns, at most %d", len(r.BlockURLs), MaxBlockURLs)
	}
	for _, list := range [][]string{r.HideSelector, r.BlockURLs} {
		for _, s := range list {
			if strings.TrimSpace(s) == "" || len(s) > maxPatternLen || strings.ContainsAny(s, "{}") {
				return bad("selector or pattern %q: must be 1..%d characters, without braces", s, maxPatternLen)
			}
		}
	}
	for _, t := range r.BlockResources {
		if cdpTypes[t] == nil {
			return bad("resource type %q is not one of %v", t, ResourceTypes)
		}
	}
	if g := r.Geolocation; g != nil && (!(g.Latitude >= -90 && g.Latitude <= 90) ||
		!(g.Longitude >= -180 && g.Longitude <= 180) || !(g.Accuracy >= 0 && g.Accuracy <= 1e7)) {
		return bad("geolocation %+v: latitude -90..90, longitude -180..180, accuracy 0..1e7", *g)
	}
	if strings.ContainsAny(r.Referer+r.Authorization, "\r\n\x00") || len(r.Referer) > 4096 || len(r.Authorization) > 8192 {
		return bad("referer or authorization too long or malformed")
	}
	if len(r.Timezone) > 100 || len(r.AcceptLanguage) > 200 || strings.ContainsAny(r.AcceptLanguage, "\r\n") {
		return bad("timezone or accept-language too long or malformed")
	}
	return nil
}

// prepareExtra applies, before the page loads, the options of this file
// that must be in place then. headers are the request's extra headers,
// which it may add to.
func (r *urlRun) prepareExtra(ctx context.Context, headers network.Headers) error {
	req := r.req
	if req.AcceptLanguage != "" {
		headers["Accept-Language"] = req.AcceptLanguage
	}
	if req.Timezone != "" {
		if err := emulation.SetTimezoneOverride(req.Timezone).Do(ctx); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("set timezone: %w", err)
			}
			return fmt.Errorf("%w: timezone %q: %w", ErrBadRequest, req.Timezone, err)
		}
	}
	if req.DisableJS {
		if err := emulation.SetScriptExecutionDisabled(true).Do(ctx); err != nil {
			return fmt.Errorf("disable scripts: %w", err)
		}
	}
	if len(req.BlockURLs) > 0 {
		// Next to the schemes setup blocks, which this call replaces.
		patterns := slices.Concat(blockedSchemePatterns, req.BlockURLs)
		if err := network.SetBlockedURLs(patterns).Do(ctx); err != nil {
			return fmt.Errorf("block urls: %w", err)
		}
	}
	if g := req.Geolocation; g != nil {
		bexec := cdp.WithExecutor(ctx, r.in.browser)
		grant := browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeGeolocation}).WithBrowserContextID(r.bctxID)
		if err := grant.Do(bexec); err != nil {
			return fmt.Errorf("grant geolocation: %w", err)
		}
		acc := g.Accuracy
		if acc == 0 {
			acc = 1
		}
		if err := emulation.SetGeolocationOverride().WithLatitude(g.Latitude).WithLongitude(g.Longitude).WithAccuracy(acc).Do(ctx); err != nil {
			return fmt.Errorf("set geolocation: %w", err)
		}
	}
	pats := fetchPatterns(req.BlockResources)
	if req.Referer != "" && req.URL != "" {
		// Set on the request itself: Chromium's referrer policy would
		// drop Page.navigate's referrer on a downgrade to http.
		pats = append(pats, &fetch.RequestPattern{URLPattern: "*", ResourceType: network.ResourceTypeDocument, RequestStage: fetch.RequestStageRequest})
	}
	if req.Authorization != "" && originOf(req.URL) != "" {
		// Every request, as the handler compares origins with default
		// ports made explicit, which a URL pattern cannot.
		pats = append(pats, &fetch.RequestPattern{URLPattern: "*", RequestStage: fetch.RequestStageRequest})
	}
	if len(pats) > 0 {
		if err := fetch.Enable().WithPatterns(pats).Do(ctx); err != nil {
			return fmt.Errorf("block resource types: %w", err)
		}
	}
	return nil
}

// fetchPatterns are the Fetch interception patterns blocking types.
func fetchPatterns(types []ResourceType) []*fetch.RequestPattern {
	var out []*fetch.RequestPattern
	seen := make(map[network.ResourceType]bool)
	for _, t := range types {
		for _, ct := range cdpTypes[t] {
			if !seen[ct] {
				seen[ct] = true
				out = append(out, &fetch.RequestPattern{URLPattern: "*", ResourceType: ct, RequestStage: fetch.RequestStageRequest})
			}
		}
	}
	return out
}

// onPausedLocked answers an intercepted request: a blocked resource type
// fails (never the main frame's document), a request to the URL's origin
// gets the Authorization header, the main document the Referer, anything
// else goes on as it was. It runs
// on chromedp's event goroutine with r.mu held, so the answer is sent from
// a helper.
func (r *urlRun) onPausedLocked(ev *fetch.EventRequestPaused) {
	if r.closed || r.tab == nil || ev.Request == nil {
		return
	}
	tgt := r.tab
	main := ev.ResourceType == network.ResourceTypeDocument && ev.FrameID == r.mainFrame
	block := !main && blocksType(r.req.BlockResources, ev.ResourceType)
	add := make(map[string]string)
	if auth := r.req.Authorization; auth != "" && originOf(ev.Request.URL) == originOf(r.req.URL) {
		add["Authorization"] = auth
	}
	if main && r.req.Referer != "" {
		add["Referer"] = r.req.Referer
	}
	headers := withHeaders(ev.Request.Headers, add)
	if block {
		r.inspBlocked = append(r.inspBlocked, ev.Request.URL)
	}
	r.helpers.Go(func() {
		ctx, cancel := context.WithTimeout(r.in.ctx, cleanupTimeout)
		defer cancel()
		ctx = cdp.WithExecutor(ctx, tgt)
		var err error
		switch {
		case block:
			err = fetch.FailRequest(ev.RequestID, network.ErrorReasonBlockedByClient).Do(ctx)
		case headers != nil:
			err = fetch.ContinueRequest(ev.RequestID).WithHeaders(headers).Do(ctx)
		default:
			err = fetch.ContinueRequest(ev.RequestID).Do(ctx)
		}
		if err != nil {
			r.in.log.Debug("answer intercepted request", "err", err)
		}
	})
}

// withHeaders is have with add's headers set (replacing any of the same
// name), or nil if add is empty.
func withHeaders(have network.Headers, add map[string]string) []*fetch.HeaderEntry {
	if len(add) == 0 {
		return nil
	}
	var out []*fetch.HeaderEntry
	for k, v := range have {
		replaced := false
		for name := range add {
			replaced = replaced || strings.EqualFold(k, name)
		}
		if !replaced {
			out = append(out, &fetch.HeaderEntry{Name: k, Value: fmt.Sprint(v)})
		}
	}
	for k, v := range add {
		out = append(out, &fetch.HeaderEntry{Name: k, Value: v})
	}
	return out
}

// blocksType tells whether types block Chromium's resource type t.
func blocksType(types []ResourceType, t network.ResourceType) bool {
	for _, rt := range types {
		if slices.Contains(cdpTypes[rt], t) {
			return true
		}
	}
	return false
}

// originOf is raw's scheme://host[:port], or "" if it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	hp := hostPortOf(raw)
	if hp == "" {
		return ""
	}
	return u.Scheme + "://" + hp
}

// beforeCapture applies, once the page has loaded and the request's JS
// ran, the options of this file that act on the loaded page.
func (r *urlRun) beforeCapture(ctx context.Context) error {
	req := r.req
	if req.PressEscape {
		for _, t := range []input.KeyType{input.KeyDown, input.KeyUp} {
			err := input.DispatchKeyEvent(t).WithKey("Escape").WithCode("Escape").
				WithWindowsVirtualKeyCode(27).WithNativeVirtualKeyCode(27).Do(ctx)
			if err != nil {
				return fmt.Errorf("press escape: %w", err)
			}
		}
	}
	if err := r.interact(ctx); err != nil {
		return err
	}
	if len(req.HideSelector) > 0 {
		var css strings.Builder
		for _, s := range req.HideSelector {
			// One rule each: a selector the browser rejects drops only
			// its own rule.
			css.WriteString(s + "{display:none !important}\n")
		}
		if err := injectCSS(ctx, css.String()); err != nil {
			return fmt.Errorf("hide selectors: %w", err)
		}
	}
	if err := r.hideXPaths(ctx); err != nil {
		return err
	}
	return r.lastInteract(ctx)
}

// injectCSS adds css to the page as a style element.
func injectCSS(ctx context.Context, css string) error {
	js := `(() => { const s = document.createElement('style'); s.textContent = ` + jsString(css) +
		`; (document.head || document.documentElement).appendChild(s); })()`
	return evaluate(ctx, js, nil)
}
