package render

import (
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestV1CleanupNavOptionsParse: each cleanup, navigation and proxy option
// lands in its browser.URLRequest field.
func TestV1CleanupNavOptionsParse(t *testing.T) {
	cases := []requestCase{
		{map[string]any{"hide_cookie_banners": true}, func(r *browser.URLRequest) { r.HideCookieBanners = true }},
		{map[string]any{"click_accept": true}, func(r *browser.URLRequest) { r.ClickAccept = true }},
		{map[string]any{"accept_cookies": "1"}, func(r *browser.URLRequest) { r.ClickAccept = true }},
		{map[string]any{"click_accept": true, "accept_cookies": false}, func(r *browser.URLRequest) { r.ClickAccept = true }},
		{map[string]any{"kill_popups": true}, func(r *browser.URLRequest) { r.KillPopups = true }},
		{map[string]any{"hide_ads": true}, func(r *browser.URLRequest) { r.HideAds = true }},
		{map[string]any{"hide_chats": true}, func(r *browser.URLRequest) { r.HideChats = true }},
		{map[string]any{"readable": true}, func(r *browser.URLRequest) { r.Readable = true }},
		{map[string]any{"retry_on_nav_error": true}, func(r *browser.URLRequest) { r.RetryOnNavError = true }},
		{map[string]any{"continue_on_nav_error": true}, func(r *browser.URLRequest) { r.ContinueOnNavError = true }},
		{map[string]any{"global_timeout": 30}, func(r *browser.URLRequest) { r.Timeout = 30 * time.Second }},
		{map[string]any{"global_timeout": 30, "timeout": 10000}, func(r *browser.URLRequest) { r.Timeout = 10 * time.Second }},
		{map[string]any{"global_timeout": "5", "timeout": 10000}, func(r *browser.URLRequest) { r.Timeout = 5 * time.Second }},
		{map[string]any{"proxy": "http://user:pa%40ss@proxy.example:3128"}, func(r *browser.URLRequest) {
			r.Proxy = "http://user:pa%40ss@proxy.example:3128"
		}},
		{map[string]any{"platform": "MacIntel"}, func(r *browser.URLRequest) { r.Platform = "MacIntel" }},
	}
	for _, c := range cases {
		wantRequest(t, nil, c.opts, c.want)
	}
}

// checkRefused parses each case's options and wants InvalidOptions naming
// the case's key (trimmed: keys differ by trailing spaces).
func checkRefused(t *testing.T, cases map[string]map[string]any) {
	t.Helper()
	for name, opts := range cases {
		_, err := parseWith(t, opts)
		wantRefusal(t, opts, err, strings.TrimSpace(name))
	}
}

// TestV1CleanupNavOptionsRefused: bad values are InvalidOptions naming
// the option.
func TestV1CleanupNavOptionsRefused(t *testing.T) {
	checkRefused(t, map[string]map[string]any{
		"global_timeout":  {"global_timeout": 0},
		"global_timeout ": {"global_timeout": 121},
		"proxy":           {"proxy": "socks5://127.0.0.1:1080"},
		"proxy ":          {"proxy": "http://proxy.example:99999"},
		"proxy  ":         {"proxy": "http://proxy.example:3128/path?q"},
		"proxy   ":        {"proxy": "proxy.example:3128"},
		"platform":        {"platform": "Mac\nIntel"},
		"readable":        {"readable": "maybe"},
	})
}
