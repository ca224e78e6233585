package render

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/testkit"
)

// parseWith parses a url render (format png unless opts say) with opts.
func parseWith(t *testing.T, opts map[string]any) (*URLOptions, error) {
	t.Helper()
	m := map[string]any{"url": "https://a.example"}
	for k, v := range opts {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return ParseV1Body(b)
}

// TestV1URLBoxOptionsParse: each Urlbox option, given alone (with the
// options it needs), lands in its browser.URLRequest field.
func TestV1URLBoxOptionsParse(t *testing.T) {
	pdf := func(m map[string]any) map[string]any { m["format"] = "pdf"; return m }
	cases := []requestCase{
		{map[string]any{"full_width": true}, func(r *browser.URLRequest) { r.FullWidth = true }},
		{map[string]any{"max_height": 5000}, func(r *browser.URLRequest) { r.MaxHeight = 5000 }},
		{map[string]any{"thumb_width": 320}, func(r *browser.URLRequest) { r.ThumbWidth = 320 }},
		{map[string]any{"thumb_height": "240"}, func(r *browser.URLRequest) { r.ThumbHeight = 240 }},
		{map[string]any{"scroll_increment": 400}, func(r *browser.URLRequest) { r.ScrollIncrement = 400 }},
		{map[string]any{"scroll_delay": 150}, func(r *browser.URLRequest) { r.ScrollDelay = 150 * time.Millisecond }},
		{map[string]any{"scroll_increment": 400, "skip_scroll": true}, func(r *browser.URLRequest) {}},
		{map[string]any{"scroll_increment": 400, "skip_scroll": false}, func(r *browser.URLRequest) { r.ScrollIncrement = 400 }},
		{map[string]any{"hide_selector": []string{".ad", "#chat"}}, func(r *browser.URLRequest) { r.HideSelector = []string{".ad", "#chat"} }},
		{map[string]any{"hide_selector": ".ad"}, func(r *browser.URLRequest) { r.HideSelector = []string{".ad"} }},
		{map[string]any{"block_urls": []string{"*.tracker.example/*"}}, func(r *browser.URLRequest) { r.BlockURLs = []string{"*.tracker.example/*"} }},
		{map[string]any{"disable_js": true}, func(r *browser.URLRequest) { r.DisableJS = true }},
		{map[string]any{"press_escape": "true"}, func(r *browser.URLRequest) { r.PressEscape = true }},
		{map[string]any{"click": "#open"}, func(r *browser.URLRequest) { r.Click = []string{"#open"} }},
		{map[string]any{"click_all": []string{".more", ".expand"}}, func(r *browser.URLRequest) { r.ClickAll = []string{".more", ".expand"} }},
		{map[string]any{"hover": "#menu"}, func(r *browser.URLRequest) { r.Hover = "#menu" }},
		{map[string]any{"scroll_to": "600"}, func(r *browser.URLRequest) { r.ScrollTo = "600" }},
		{map[string]any{"disable_animations": true}, func(r *browser.URLRequest) { r.DisableAnimations = true }},
		{map[string]any{"reduced_motion": true}, func(r *browser.URLRequest) { r.ReducedMotion = true }},
		{map[string]any{"bg_color": "#00ff00"}, func(r *browser.URLRequest) { r.BgColor = "#00ff00" }},
		{map[string]any{"highlight": "renderhook"}, func(r *browser.URLRequest) { r.Highlight = "renderhook" }},
		{map[string]any{"highlightfg": "black"}, func(r *browser.URLRequest) { r.HighlightFg = "black" }},
		{map[string]any{"highlightbg": "rgb(255, 255, 0)"}, func(r *browser.URLRequest) { r.HighlightBg = "rgb(255, 255, 0)" }},
		{map[string]any{"wait_to_leave": ".spinner"}, func(r *browser.URLRequest) { r.WaitToLeave = ".spinner" }},
		{map[string]any{"wait_timeout": 2500}, func(r *browser.URLRequest) { r.WaitTimeout = 2500 * time.Millisecond }},
		{map[string]any{"skip_wait_for_images": true}, func(r *browser.URLRequest) { r.SkipWaitForImages = true }},
		{map[string]any{"fail_if_selector_missing": "#main"}, func(r *browser.URLRequest) { r.FailIfSelectorMissing = "#main" }},
		{map[string]any{"fail_if_selector_present": ".error"}, func(r *browser.URLRequest) { r.FailIfSelectorPresent = ".error" }},
		{map[string]any{"accept_lang": "fr-FR,fr;q=0.9"}, func(r *browser.URLRequest) { r.AcceptLanguage = "fr-FR,fr;q=0.9" }},
		{map[string]any{"tz": "Europe/Paris"}, func(r *browser.URLRequest) { r.Timezone = "Europe/Paris" }},
		{map[string]any{"referer": "https://ref.example/"}, func(r *browser.URLRequest) { r.Referer = "https://ref.example/" }},
		{map[string]any{"authorization": "Bearer t0k"}, func(r *browser.URLRequest) { r.Authorization = "Bearer t0k" }},
		{map[string]any{"latitude": 48.85, "longitude": "2.35"}, func(r *browser.URLRequest) {
			r.Geolocation = &browser.Geolocation{Latitude: 48.85, Longitude: 2.35}
		}},
		{map[string]any{"latitude": -90, "longitude": 180, "accuracy": 25}, func(r *browser.URLRequest) {
			r.Geolocation = &browser.Geolocation{Latitude: -90, Longitude: 180, Accuracy: 25}
		}},
		{pdf(map[string]any{"pdf_orientation": "landscape"}), func(r *browser.URLRequest) { r.PDF.Landscape = true }},
		{pdf(map[string]any{"pdf_orientation": "Portrait", "pdf_landscape": true}), func(r *browser.URLRequest) {}},
		{pdf(map[string]any{"pdf_page_width": 100, "pdf_page_height": "150.5"}), func(r *browser.URLRequest) {
			r.PDF.PageWidth, r.PDF.PageHeight = 100, 150.5
		}},
		{pdf(map[string]any{"pdf_scale": 0.5}), func(r *browser.URLRequest) { r.PDF.Scale = 0.5 }},
		{pdf(map[string]any{"pdf_page_range": "1-3, 5"}), func(r *browser.URLRequest) { r.PDF.PageRanges = "1-3, 5" }},
		{pdf(map[string]any{"pdf_show_header": true}), func(r *browser.URLRequest) { r.PDF.ShowHeader = true }},
		{pdf(map[string]any{"pdf_show_footer": true}), func(r *browser.URLRequest) { r.PDF.ShowFooter = true }},
		{pdf(map[string]any{"pdf_header": `<span class="title"></span>`}), func(r *browser.URLRequest) { r.PDF.HeaderTemplate = `<span class="title"></span>` }},
		{pdf(map[string]any{"pdf_footer": `<span class="pageNumber"></span>`}), func(r *browser.URLRequest) {
			r.PDF.FooterTemplate = `<span class="pageNumber"></span>`
		}},
		{pdf(map[string]any{"media": "SCREEN"}), func(r *browser.URLRequest) { r.PDF.Media = "screen" }},
	}
	for _, rt := range browser.ResourceTypes {
		cases = append(cases, requestCase{map[string]any{"block_" + string(rt): true}, func(r *browser.URLRequest) { r.BlockResources = []browser.ResourceType{rt} }})
	}
	for _, c := range cases {
		wantRequest(t, nil, c.opts, c.want)
	}

	// block_* options add up, in the table's order, and false blocks nothing.
	o, err := parseWith(t, map[string]any{"block_fonts": true, "block_images": "1", "block_xhr": false})
	if err != nil || !reflect.DeepEqual(o.Request.BlockResources, []browser.ResourceType{browser.ResourceImages, browser.ResourceFonts}) {
		t.Fatalf("%v %v", o, err)
	}
	// In a signed link's query, list options repeat.
	q, _ := url.ParseQuery("url=a.example&hide_selector=.a&hide_selector=.b&block_urls=*x*&click=%23c&block_scripts")
	o, err = ParseV1Query(q, "png")
	if err != nil || !reflect.DeepEqual(o.Request.HideSelector, []string{".a", ".b"}) || o.Request.BlockURLs[0] != "*x*" ||
		o.Request.Click[0] != "#c" || o.Request.BlockResources[0] != browser.ResourceScripts {
		t.Fatalf("%+v %v", o, err)
	}
}

// TestV1URLBoxOptionsRefused: wrong types, out-of-range values and
// missing companions are a 400 InvalidOptions naming the option.
func TestV1URLBoxOptionsRefused(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = ".x"
		}
		return out
	}
	pdf := func(m map[string]any) map[string]any { m["format"] = "pdf"; return m }
	wantRefused(t, []refusal{
		{map[string]any{"full_width": "wide"}, "full_width"},
		{map[string]any{"max_height": 16385}, "max_height"},
		{map[string]any{"max_height": -1}, "max_height"},
		{map[string]any{"thumb_width": 10001}, "thumb_width"},
		{map[string]any{"thumb_height": 1.5}, "thumb_height"},
		{map[string]any{"scroll_increment": 16385}, "scroll_increment"},
		{map[string]any{"scroll_delay": 5001}, "scroll_delay"},
		{map[string]any{"skip_scroll": "perhaps"}, "skip_scroll"},
		{map[string]any{"hide_selector": many(51)}, "hide_selector"},
		{map[string]any{"hide_selector": []string{strings.Repeat("a", 2049)}}, "hide_selector"},
		{map[string]any{"hide_selector": []string{"a{b}"}}, "hide_selector"},
		{map[string]any{"hide_selector": 5}, "hide_selector"},
		{map[string]any{"block_urls": many(101)}, "block_urls"},
		{map[string]any{"block_urls": []string{" "}}, "block_urls"},
		{map[string]any{"block_images": "yes please"}, "block_images"},
		{map[string]any{"block_other": 2}, "block_other"},
		{map[string]any{"disable_js": 1}, "disable_js"},
		{map[string]any{"press_escape": "x"}, "press_escape"},
		{map[string]any{"click": many(51)}, "click"},
		{map[string]any{"click_all": many(51)}, "click_all"},
		{map[string]any{"hover": 3}, "hover"},
		{map[string]any{"scroll_to": strings.Repeat("a", 2049)}, "scroll_to"},
		{map[string]any{"disable_animations": "x"}, "disable_animations"},
		{map[string]any{"reduced_motion": "x"}, "reduced_motion"},
		{map[string]any{"bg_color": "url(x); color: red"}, "bg_color"},
		{map[string]any{"highlightfg": "not a colour!"}, "highlightfg"},
		{map[string]any{"highlightbg": false}, "highlightbg"},
		{map[string]any{"highlight": []string{"a"}}, "highlight"},
		{map[string]any{"wait_to_leave": 1}, "wait_to_leave"},
		{map[string]any{"wait_timeout": 120001}, "wait_timeout"},
		{map[string]any{"wait_timeout": -1}, "wait_timeout"},
		{map[string]any{"skip_wait_for_images": "x"}, "skip_wait_for_images"},
		{map[string]any{"fail_if_selector_missing": strings.Repeat("a", 2049)}, "fail_if_selector_missing"},
		{map[string]any{"fail_if_selector_present": true}, "fail_if_selector_present"},
		{map[string]any{"accept_lang": strings.Repeat("a", 201)}, "accept_lang"},
		{map[string]any{"accept_lang": "fr\r\nX-Evil: 1"}, "accept_lang"},
		{map[string]any{"tz": strings.Repeat("a", 101)}, "tz"},
		{map[string]any{"referer": strings.Repeat("a", 4097)}, "referer"},
		{map[string]any{"authorization": strings.Repeat("a", 8193)}, "authorization"},
		{map[string]any{"authorization": "Bearer a\nb"}, "authorization"},
		{map[string]any{"latitude": 91, "longitude": 0}, "latitude"},
		{map[string]any{"latitude": 0, "longitude": -181}, "longitude"},
		{map[string]any{"latitude": 0, "longitude": 0, "accuracy": 1e7 + 1}, "accuracy"},
		{map[string]any{"latitude": "north", "longitude": 0}, "latitude"},
		{map[string]any{"latitude": 10}, "longitude"},
		{map[string]any{"longitude": 10}, "latitude"},
		{map[string]any{"accuracy": 10}, "latitude"},
		{map[string]any{"accuracy": 10, "latitude": 1}, "longitude"},
		{pdf(map[string]any{"pdf_orientation": "sideways"}), "pdf_orientation"},
		{map[string]any{"pdf_orientation": "landscape"}, "pdf_orientation"},
		{pdf(map[string]any{"pdf_page_width": 9, "pdf_page_height": 100}), "pdf_page_width"},
		{pdf(map[string]any{"pdf_page_width": 100, "pdf_page_height": 5001}), "pdf_page_height"},
		{pdf(map[string]any{"pdf_page_width": 100}), "pdf_page_height"},
		{pdf(map[string]any{"pdf_page_height": 100}), "pdf_page_width"},
		{pdf(map[string]any{"pdf_scale": 0.05}), "pdf_scale"},
		{pdf(map[string]any{"pdf_scale": 2.5}), "pdf_scale"},
		{pdf(map[string]any{"pdf_page_range": "first"}), "pdf_page_range"},
		{pdf(map[string]any{"pdf_page_range": strings.Repeat("1,", 101)}), "pdf_page_range"},
		{pdf(map[string]any{"pdf_show_header": "x"}), "pdf_show_header"},
		{pdf(map[string]any{"pdf_show_footer": "x"}), "pdf_show_footer"},
		{pdf(map[string]any{"pdf_header": strings.Repeat("a", 10001)}), "pdf_header"},
		{pdf(map[string]any{"pdf_footer": 7}), "pdf_footer"},
		{pdf(map[string]any{"media": "tv"}), "media"},
		{map[string]any{"media": "screen"}, `option "media" applies to format pdf only`},
	})
}

// TestV1CacheKeyURLBoxOptions: each Urlbox option changes the cache key,
// so a request is never answered with a file rendered with other options.
func TestV1CacheKeyURLBoxOptions(t *testing.T) {
	base, err := parseWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	basePDF, err := parseWith(t, map[string]any{"format": "pdf"})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{base.CacheKey("spc"): "(none)", basePDF.CacheKey("spc"): "(pdf)"}
	for _, opts := range []map[string]any{
		{"full_width": true}, {"max_height": 100}, {"thumb_width": 100}, {"thumb_height": 100}, {"scroll_increment": 100},
		{"scroll_increment": 100, "scroll_delay": 10}, {"hide_selector": ".a"}, {"hide_selector": []string{".a", ".b"}},
		{"block_urls": "*a*"}, {"block_images": true}, {"block_fonts": true}, {"block_images": true, "block_fonts": true},
		{"disable_js": true}, {"press_escape": true}, {"click": "#a"}, {"click_all": "#a"}, {"hover": "#a"}, {"scroll_to": "#a"},
		{"disable_animations": true}, {"reduced_motion": true}, {"bg_color": "red"}, {"highlight": "a"},
		{"highlight": "a", "highlightfg": "red"}, {"highlight": "a", "highlightbg": "red"}, {"wait_to_leave": "#a"},
		{"wait_for": "#a", "wait_timeout": 100}, {"skip_wait_for_images": true}, {"fail_if_selector_missing": "#a"},
		{"fail_if_selector_present": "#a"}, {"accept_lang": "fr"}, {"tz": "Europe/Paris"}, {"referer": "https://r.example/"},
		{"authorization": "Bearer a"}, {"authorization": "Bearer b"}, {"latitude": 1, "longitude": 2},
		{"latitude": 1, "longitude": 2, "accuracy": 3}, {"format": "pdf", "pdf_orientation": "landscape"},
		{"format": "pdf", "pdf_page_width": 100, "pdf_page_height": 100}, {"format": "pdf", "pdf_scale": 0.5},
		{"format": "pdf", "pdf_page_range": "1"}, {"format": "pdf", "pdf_show_header": true}, {"format": "pdf", "pdf_show_footer": true},
		{"format": "pdf", "pdf_show_header": true, "pdf_header": "<b>h</b>"}, {"format": "pdf", "pdf_show_footer": true, "pdf_footer": "<b>f</b>"},
		{"format": "pdf", "media": "screen"},
	} {
		o, err := parseWith(t, opts)
		if err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		k := o.CacheKey("spc")
		if other, dup := keys[k]; dup {
			t.Errorf("%v has the cache key of %s", opts, other)
		}
		b, _ := json.Marshal(opts)
		keys[k] = string(b)
	}
}

// TestV1URLBoxOptionsSurviveQueue: an async render's options are stored
// as JSON and read back by its job; the Urlbox options come back whole,
// with the same cache key.
func TestV1URLBoxOptionsSurviveQueue(t *testing.T) {
	o, err := parseWith(t, map[string]any{"format": "pdf", "full_width": true, "max_height": 900, "thumb_width": 300,
		"thumb_height": 200, "scroll_increment": 50, "scroll_delay": 5, "hide_selector": ".a", "block_urls": "*b*",
		"block_images": true, "block_other": true, "disable_js": true, "press_escape": true, "click": "#c", "click_all": ".d",
		"hover": "#e", "scroll_to": "10", "disable_animations": true, "reduced_motion": true, "bg_color": "red", "highlight": "f",
		"highlightfg": "blue", "highlightbg": "#fff", "wait_to_leave": ".g", "wait_timeout": 900, "skip_wait_for_images": true,
		"fail_if_selector_missing": "#h", "fail_if_selector_present": ".i", "accept_lang": "de", "tz": "Asia/Tokyo",
		"referer": "https://r.example/", "authorization": "Basic eA==", "latitude": 1.5, "longitude": -2.5, "accuracy": 7,
		"pdf_orientation": "landscape", "pdf_page_width": 210, "pdf_page_height": 99, "pdf_scale": 1.5, "pdf_page_range": "2-",
		"pdf_show_header": true, "pdf_header": "<i>h</i>", "pdf_show_footer": true, "pdf_footer": "<i>f</i>", "media": "screen"})
	if err != nil {
		t.Fatal(err)
	}
	back := testkit.RoundTrip[URLOptions](t, o)
	if !reflect.DeepEqual(back.Request, o.Request) || back.CacheKey("spc") != o.CacheKey("spc") {
		t.Fatalf("stored and read back:\n got %+v\nwant %+v", back.Request, o.Request)
	}
}
