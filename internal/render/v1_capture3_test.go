package render

import (
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestV1Capture3Options: each option of v1_capture3.go, with its
// companions, lands in its field (and so in the cache key); wrong values
// and missing companions are a 400 naming the option.
func TestV1Capture3Options(t *testing.T) {
	stitch := `"full_page": true, "full_page_mode": "stitch"`
	wide := stitch + `, "full_width": true`
	for _, c := range []struct {
		body string
		want func(r *browser.URLRequest, o *URLOptions) bool
	}{
		{`"freeze_fixed": true, "full_page": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.FreezeFixed }},
		{`"sharp_stitch": true, ` + stitch, func(r *browser.URLRequest, _ *URLOptions) bool { return r.SharpStitch }},
		{`"show_sections": "true", ` + stitch, func(r *browser.URLRequest, _ *URLOptions) bool { return r.ShowSections }},
		{`"show_seams": true, ` + stitch, func(r *browser.URLRequest, _ *URLOptions) bool { return r.ShowSeams }},
		{`"max_sections": 3, ` + stitch, func(r *browser.URLRequest, _ *URLOptions) bool { return r.MaxSections == 3 }},
		{`"max_section_width": 500, ` + wide, func(r *browser.URLRequest, _ *URLOptions) bool { return r.MaxSectionWidth == 500 }},
		{`"max_xsections": 2, ` + wide, func(r *browser.URLRequest, _ *URLOptions) bool { return r.MaxXSections == 2 }},
		{`"width_from": "#card", "height_from": ".box"`, func(r *browser.URLRequest, _ *URLOptions) bool {
			return r.WidthFrom == "#card" && r.HeightFrom == ".box"
		}},
		{`"max_scroll_page_time": 1500, "lazyload": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.MaxScrollTime == 1500*time.Millisecond }},
		{`"scroll_height": 2000, "lazyload": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.ScrollHeight == 2000 }},
		{`"skip_final_delay": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.SkipFinalDelay }},
		{`"skip_wait": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.SkipWait }},
		{`"turbo": true, "wait_until": "domloaded"`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.Turbo }},
		{`"lightweight": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.Lightweight }},
		{`"optimise": true`, func(r *browser.URLRequest, _ *URLOptions) bool { return r.Optimise }},
		{`"no_upload": true`, func(_ *browser.URLRequest, o *URLOptions) bool { return o.NoUpload }},
		// Always so in renderhook: accepted, nothing to set.
		{`"fix_full_height": true, "full_page": true`, func(*browser.URLRequest, *URLOptions) bool { return true }},
		{`"skip_wait_for_modifications": true`, func(*browser.URLRequest, *URLOptions) bool { return true }},
	} {
		o, err := ParseV1Body([]byte(`{"url": "https://a.example", ` + c.body + `}`))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !c.want(&o.Request, o) {
			t.Errorf("%s: %+v", c.body, o.Request)
		}
	}

	for _, c := range []struct{ body, name string }{
		{`"freeze_fixed": true`, "freeze_fixed"},
		{`"fix_full_height": true`, "fix_full_height"},
		{`"sharp_stitch": true, "full_page": true`, "sharp_stitch"},
		{`"show_sections": true`, "show_sections"},
		{`"show_seams": true, "full_page": true`, "show_seams"},
		{`"max_sections": 3`, "max_sections"},
		{`"max_sections": 401, ` + stitch, "max_sections"},
		{`"max_sections": 0, ` + stitch, "max_sections"},
		{`"max_section_width": 500, ` + stitch, "max_section_width"},
		{`"max_section_width": 10, ` + wide, "max_section_width"},
		{`"max_xsections": 2, ` + stitch, "max_xsections"},
		{`"max_scroll_page_time": 50`, "max_scroll_page_time"},
		{`"max_scroll_page_time": 120001`, "max_scroll_page_time"},
		{`"scroll_height": 0`, "scroll_height"},
		{`"scroll_height": 16385`, "scroll_height"},
		{`"width_from": "` + strings.Repeat("a", maxV1Short+1) + `"`, "width_from"},
		{`"height_from": 7`, "height_from"},
		{`"optimise": true, "format": "jpeg"`, "optimise"},
		{`"turbo": true, "wait_until": "requestsfinished"`, "turbo"},
		{`"skip_wait": "sometimes"`, "skip_wait"},
		{`"no_upload": true, "save_markdown": true`, "no_upload"},
		{`"no_upload": true, "save_metadata": true`, "no_upload"},
		{`"blend_mode": "multiply"`, "blend_mode"},
	} {
		_, err := ParseV1Body([]byte(`{"url": "https://a.example", ` + c.body + `}`))
		wantRefusal(t, c.body, err, c.name)
	}
	if err := (&URLOptions{NoUpload: true}).CheckAsync(); err == nil || !strings.Contains(err.Error(), "no_upload") {
		t.Errorf("an async no_upload: %v", err)
	}
}
