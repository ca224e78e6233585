package render

import (
	"net/url"
	"slices"
	"strings"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the rows of the v1 table for the XPath variants of the
// selector options and Urlbox's page-behaviour options (#16), which
// browser.URLRequest honours in urlpage.go.

// checkXPath refuses what cannot be an XPath expression: empty, a NUL,
// an unclosed string literal, or unbalanced brackets. What passes may
// still be malformed; Chromium's document.evaluate then fails the render
// naming the option.
func checkXPath(s string) string {
	if strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) {
		return "must be a non-empty XPath expression"
	}
	var open []rune
	var quote rune
	for _, c := range s {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[':
			open = append(open, c)
		case c == ')' || c == ']':
			want := map[rune]rune{')': '(', ']': '['}[c]
			if len(open) == 0 || open[len(open)-1] != want {
				return "is not a well-formed XPath expression: unbalanced " + string(c)
			}
			open = open[:len(open)-1]
		}
	}
	switch {
	case quote != 0:
		return "is not a well-formed XPath expression: unclosed string literal"
	case len(open) > 0:
		return "is not a well-formed XPath expression: unclosed " + string(open[len(open)-1])
	}
	return ""
}

// reqXPaths is a list of at most maxItems XPath expressions.
func reqXPaths(name string, f Family, maxItems int, doc string, set func(r *browser.URLRequest, s []string)) v1Option {
	return reqList(name, f, maxItems, doc, checkXPath, set)
}

// reqXPath is one XPath expression.
func reqXPath(name string, f Family, doc string, set func(r *browser.URLRequest, s string)) v1Option {
	return reqString(name, f, maxV1Short, doc, checkXPath, set)
}

// setDisableEvents takes event names, as a list or comma-separated.
func setDisableEvents(st *v1State, v any) error {
	var names []string
	for _, e := range v.([]string) {
		for n := range strings.SplitSeq(e, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if !browser.ValidEventName(n) {
				return optErr("disable_events", "%q is not a DOM event name", truncate(n))
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) > browser.MaxDisableEvents {
		return optErr("disable_events", "has more than %d event names", browser.MaxDisableEvents)
	}
	st.r.DisableEvents = names
	return nil
}

// htmlOnly is a setter that refuses the option on a url render.
func htmlOnly(name string, set func(st *v1State, v any)) func(*v1State, any) error {
	return func(st *v1State, v any) error {
		if st.hasURL {
			return optErr(name, "applies to html renders only, not to a url")
		}
		set(st, v)
		return nil
	}
}

// checkBaseURL refuses what is not an absolute http(s) URL.
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t\r\n\x00") {
		return "must be an absolute http or https URL"
	}
	return ""
}

var v1XPathRows = []v1Option{
	{OptionSpec: OptionSpec{Name: "base_url", Type: TypeString, Max: 2048, Family: FamilySource, Supported: true,
		Doc: "With html: the URL its relative URLs resolve against (a base element put first); what they fetch passes the egress policy like every request."},
		set: func(st *v1State, v any) error {
			if msg := checkBaseURL(v.(string)); msg != "" {
				return optErr("base_url", "%s", msg)
			}
			return htmlOnly("base_url", func(st *v1State, v any) { st.r.BaseURL = v.(string) })(st, v)
		}},
	{OptionSpec: OptionSpec{Name: "use_tailwind", Type: TypeBoolean, Default: false, Family: FamilySource, Supported: true,
		Doc: "With html: load Tailwind CSS (its browser build 4, bundled with renderhook) so the HTML's Tailwind classes style it, before css and js."},
		set: func(st *v1State, v any) error {
			if !v.(bool) {
				return nil
			}
			return htmlOnly("use_tailwind", func(st *v1State, _ any) { st.r.UseTailwind = true })(st, v)
		}},
	reqString("custom_data_variable", FamilyExtraction, 1100, "A page variable (a name, or a property path from window like app.state) whose value, as JSON of at most 64 KiB, is returned as customData in the JSON answer and the render.succeeded webhook.",
		func(s string) string {
			if !browser.ValidCustomDataPath(s) {
				return "must be a variable name or a property path like app.state"
			}
			return ""
		},
		func(r *browser.URLRequest, s string) { r.Extract.CustomData = s }),
	reqXPaths("hide_selector_x", FamilyCleanup, browser.MaxSelectors, "Hide (display: none) the elements matching these XPath expressions before capturing (after hide_selector).",
		func(r *browser.URLRequest, s []string) { r.HideSelectorX = s }),
	reqXPath("wait_for_x", FamilyWaits, "Wait until an element matches this XPath expression (after wait_for).",
		func(r *browser.URLRequest, s string) { r.WaitForX = s }),
	reqXPath("wait_to_leave_x", FamilyWaits, "After the waits for elements, wait until no element matches this XPath expression.",
		func(r *browser.URLRequest, s string) { r.WaitToLeaveX = s }),
	reqXPaths("click_x", FamilyInteraction, browser.MaxSelectors, "Click the first element matching each XPath expression, in order (after click).",
		func(r *browser.URLRequest, s []string) { r.ClickX = s }),
	reqXPaths("click_all_x", FamilyInteraction, browser.MaxSelectors, "Click every element (at most 100) matching each XPath expression (after click_all).",
		func(r *browser.URLRequest, s []string) { r.ClickAllX = s }),
	reqXPath("hover_x", FamilyInteraction, "Hover over the first element matching this XPath expression before capturing (after hover).",
		func(r *browser.URLRequest, s string) { r.HoverX = s }),
	reqXPath("scroll_to_x", FamilyInteraction, "Scroll to the element matching this XPath expression before capturing (after scroll_to).",
		func(r *browser.URLRequest, s string) { r.ScrollToX = s }),
	reqBool("accept_dialogs", FamilyInteraction, "Accept alert, confirm and prompt dialogs (a prompt gets its default text); without it they are dismissed: confirm returns false, prompt null.",
		func(r *browser.URLRequest, b bool) { r.AcceptDialogs = b }),
	{OptionSpec: OptionSpec{Name: "disable_events", Type: TypeStrings, Max: maxV1Short, MaxItems: browser.MaxDisableEvents, Family: FamilyInteraction, Supported: true,
		Doc: "DOM event types (a list, or comma-separated) the page's listeners never see, like DOMContentLoaded or scroll."},
		set: setDisableEvents},
	reqBool("disable_ligatures", FamilyInteraction, "Turn font ligatures off (ffi is drawn as three letters).",
		func(r *browser.URLRequest, b bool) { r.DisableLigatures = b }),
	reqBool("disable_mql", FamilyInteraction, "Media query listeners (matchMedia change events) never fire.",
		func(r *browser.URLRequest, b bool) { r.DisableMQL = b }),
	reqAlways("disable_resize", FamilyCapture, "Do not resize the viewport for a full-page capture: renderhook never does (100vh stays the window's height), so this changes nothing."),
	reqBool("skip_fonts", FamilyCleanup, "Do not load web fonts (as block_fonts): text falls back to the system's fonts.",
		func(r *browser.URLRequest, b bool) {
			if b && !slices.Contains(r.BlockResources, browser.ResourceFonts) {
				r.BlockResources = append(r.BlockResources, browser.ResourceFonts)
			}
		}),
}
