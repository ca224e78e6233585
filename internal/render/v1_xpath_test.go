package render

import (
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestV1XPathOptionsParse: each XPath and page-behaviour option lands in
// its browser.URLRequest field.
func TestV1XPathOptionsParse(t *testing.T) {
	cases := []requestCase{
		{map[string]any{"hide_selector_x": "//div[@class='ad']"}, func(r *browser.URLRequest) { r.HideSelectorX = []string{"//div[@class='ad']"} }},
		{map[string]any{"wait_for_x": "//p[contains(., 'a)]')]"}, func(r *browser.URLRequest) { r.WaitForX = "//p[contains(., 'a)]')]" }},
		{map[string]any{"wait_to_leave_x": "//*[@id=\"s\"]"}, func(r *browser.URLRequest) { r.WaitToLeaveX = `//*[@id="s"]` }},
		{map[string]any{"click_x": []string{"//a", "(//b)[2]"}}, func(r *browser.URLRequest) { r.ClickX = []string{"//a", "(//b)[2]"} }},
		{map[string]any{"click_all_x": "//a"}, func(r *browser.URLRequest) { r.ClickAllX = []string{"//a"} }},
		{map[string]any{"hover_x": "//a"}, func(r *browser.URLRequest) { r.HoverX = "//a" }},
		{map[string]any{"scroll_to_x": "//footer"}, func(r *browser.URLRequest) { r.ScrollToX = "//footer" }},
		{map[string]any{"custom_data_variable": "app.state"}, func(r *browser.URLRequest) { r.Extract.CustomData = "app.state" }},
		{map[string]any{"accept_dialogs": true}, func(r *browser.URLRequest) { r.AcceptDialogs = true }},
		{map[string]any{"disable_events": "scroll, resize,scroll"}, func(r *browser.URLRequest) { r.DisableEvents = []string{"scroll", "resize"} }},
		{map[string]any{"disable_events": []string{"DOMContentLoaded", "my:event"}}, func(r *browser.URLRequest) {
			r.DisableEvents = []string{"DOMContentLoaded", "my:event"}
		}},
		{map[string]any{"disable_ligatures": true}, func(r *browser.URLRequest) { r.DisableLigatures = true }},
		{map[string]any{"disable_mql": "1"}, func(r *browser.URLRequest) { r.DisableMQL = true }},
		{map[string]any{"disable_resize": true}, func(*browser.URLRequest) {}},
		{map[string]any{"skip_fonts": true}, func(r *browser.URLRequest) { r.BlockResources = []browser.ResourceType{browser.ResourceFonts} }},
		{map[string]any{"skip_fonts": true, "block_fonts": true}, func(r *browser.URLRequest) {
			r.BlockResources = []browser.ResourceType{browser.ResourceFonts}
		}},
	}
	for _, c := range cases {
		wantRequest(t, nil, c.opts, c.want)
	}
}

// TestV1XPathOptionsRefused: malformed expressions, bad event names and
// too many entries are InvalidOptions naming the option.
func TestV1XPathOptionsRefused(t *testing.T) {
	many := make([]string, browser.MaxSelectors+1)
	for i := range many {
		many[i] = "//a"
	}
	events := make([]string, browser.MaxDisableEvents+1)
	for i := range events {
		events[i] = "e" + strings.Repeat("x", i)
	}
	checkRefused(t, map[string]map[string]any{
		"hide_selector_x":       {"hide_selector_x": "//div[@id='a'"},
		"wait_for_x":            {"wait_for_x": "//p[text()='a]"},
		"wait_to_leave_x":       {"wait_to_leave_x": "//p)"},
		"click_x":               {"click_x": []string{"//a", " "}},
		"click_all_x":           {"click_all_x": many},
		"hover_x":               {"hover_x": strings.Repeat("/a", maxV1Short)},
		"scroll_to_x":           {"scroll_to_x": "(//a"},
		"disable_events":        {"disable_events": "scroll, 1bad"},
		"disable_events ":       {"disable_events": events},
		"accept_dialogs":        {"accept_dialogs": "sure"},
		"custom_data_variable":  {"custom_data_variable": "app['x']"},
		"custom_data_variable ": {"custom_data_variable": "a..b"},
	})
}

// TestV1HTMLSourceOptions: base_url and use_tailwind apply to html
// renders, and base_url must be an absolute http(s) URL.
func TestV1HTMLSourceOptions(t *testing.T) {
	o, err := ParseV1Body([]byte(`{"html":"<p>x</p>","base_url":"https://cdn.example/a/","use_tailwind":true}`))
	if err != nil || o.Request.BaseURL != "https://cdn.example/a/" || !o.Request.UseTailwind {
		t.Fatalf("html with base_url and use_tailwind: %+v, %v", o, err)
	}
	for name, body := range map[string]string{
		"base_url":      `{"url":"https://a.example","base_url":"https://cdn.example/"}`,
		"base_url ":     `{"html":"x","base_url":"ftp://cdn.example/"}`,
		"base_url  ":    `{"html":"x","base_url":"/relative/"}`,
		"use_tailwind":  `{"url":"https://a.example","use_tailwind":true}`,
		"use_tailwind ": `{"html":"x","use_tailwind":"perhaps"}`,
	} {
		_, err := ParseV1Body([]byte(body))
		wantRefusal(t, body, err, strings.TrimSpace(name))
	}
}

func FuzzCheckXPath(f *testing.F) {
	for _, s := range []string{"//a", "//p[contains(., ')')]", "(//a", "'", "//*[@x=\"]\"]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkXPath(s) == "" && (strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0)) {
			t.Fatalf("%q accepted", s)
		}
	})
}
