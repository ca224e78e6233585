package render

import (
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the rows of the v1 table for Urlbox's page-cleanup,
// navigation-failure and proxy options (#16), which browser.URLRequest
// honours in its cleanup block (urlcleanup.go, urlnav.go).

// maxV1Proxy bounds the proxy option.
const maxV1Proxy = 2048

var v1CleanupNavRows = []v1Option{
	reqBool("hide_cookie_banners", FamilyCleanup, "Hide cookie consent banners, without answering them (DuckDuckGo's autoconsent rules: OneTrust, Cookiebot, Didomi, TCF and hundreds more).",
		func(r *browser.URLRequest, b bool) { r.HideCookieBanners = b }),
	reqBool("click_accept", FamilyCleanup, "Accept cookie consent banners (autoconsent's opt-in steps) before capturing.",
		func(r *browser.URLRequest, b bool) { r.ClickAccept = r.ClickAccept || b }),
	reqBool("accept_cookies", FamilyCleanup, "Urlbox's other name for click_accept.",
		func(r *browser.URLRequest, b bool) { r.ClickAccept = r.ClickAccept || b }),
	reqBool("kill_popups", FamilyCleanup, "Remove modal popups (open dialogs, and fixed overlays covering much of the viewport) just before capturing.",
		func(r *browser.URLRequest, b bool) { r.KillPopups = b }),
	reqBool("hide_ads", FamilyCleanup, "Hide ad slots (AdSense, Ad Manager, AMP, Taboola, Outbrain and common ad containers).",
		func(r *browser.URLRequest, b bool) { r.HideAds = b }),
	reqBool("hide_chats", FamilyCleanup, "Hide chat widgets (Intercom, Drift, Zendesk, HubSpot, Crisp, Tawk and others).",
		func(r *browser.URLRequest, b bool) { r.HideChats = b }),
	reqBool("readable", FamilyInteraction, "Render the page in reader mode: its article only, as Mozilla Readability extracts it (before css and js).",
		func(r *browser.URLRequest, b bool) { r.Readable = b }),
	reqBool("retry_on_nav_error", FamilyWaits, "Retry the navigation (up to twice) when it fails with a network error.",
		func(r *browser.URLRequest, b bool) { r.RetryOnNavError = b }),
	reqBool("continue_on_nav_error", FamilyWaits, "Capture the browser's error page when the navigation fails with a network error, instead of failing (non-2xx pages render anyway unless fail_on_4xx/5xx).",
		func(r *browser.URLRequest, b bool) { r.ContinueOnNavError = b }),
	reqInt("global_timeout", FamilyWaits, int(minV1Timeout/time.Second), int(MaxV1Timeout/time.Second), "Bound on the whole render in seconds (with timeout, the smaller applies).",
		func(r *browser.URLRequest, n int) {
			if d := time.Duration(n) * time.Second; r.Timeout == 0 || d < r.Timeout {
				r.Timeout = d
			}
		}),
	reqString("proxy", FamilyRequest, maxV1Proxy, "Load the page through this HTTP proxy: the http scheme, then user:pass@host:port; its address must pass the egress policy.",
		func(s string) string {
			if _, err := browser.ParseProxy(s); err != nil {
				return err.Error()
			}
			return ""
		},
		func(r *browser.URLRequest, s string) { r.Proxy = s }),
	reqString("platform", FamilyRequest, 100, "What navigator.platform reports, like MacIntel, Win32 or Linux x86_64.", oneLine,
		func(r *browser.URLRequest, s string) { r.Platform = s }),
}
