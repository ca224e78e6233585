package render

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/testkit"
)

// TestV1CaptureOptionsParse: each option of v1_capture.go, given with the
// options it needs, lands in its browser.URLRequest field.
func TestV1CaptureOptionsParse(t *testing.T) {
	thumbs := map[string]any{"thumb_width": 200, "thumb_height": 100}
	full := map[string]any{"full_page": true}
	pdf := map[string]any{"format": "pdf"}
	cases := []struct {
		base, opts map[string]any
		want       func(r *browser.URLRequest)
	}{
		{thumbs, map[string]any{"img_fit": "Contain"}, func(r *browser.URLRequest) { r.ImgFit = browser.FitContain }},
		{thumbs, map[string]any{"img_fit": "cover", "img_position": "Right  Top"}, func(r *browser.URLRequest) {
			r.ImgFit, r.ImgPosition = browser.FitCover, "right top"
		}},
		{thumbs, map[string]any{"img_fit": "contain", "img_bg": "#123456"}, func(r *browser.URLRequest) {
			r.ImgFit, r.ImgBg = browser.FitContain, "#123456"
		}},
		{nil, map[string]any{"img_pad": "10"}, func(r *browser.URLRequest) { r.ImgPad = [4]int{10, 10, 10, 10} }},
		{nil, map[string]any{"img_pad": "1,2"}, func(r *browser.URLRequest) { r.ImgPad = [4]int{1, 2, 1, 2} }},
		{nil, map[string]any{"img_pad": "1, 2, 3px, 4", "img_bg": "transparent"}, func(r *browser.URLRequest) {
			r.ImgPad, r.ImgBg = [4]int{1, 2, 3, 4}, "transparent"
		}},
		{nil, map[string]any{"crop_width": 300}, func(r *browser.URLRequest) { r.CropWidth = 300 }},
		{map[string]any{"full_page": true, "full_width": true}, map[string]any{"max_width": 2000}, func(r *browser.URLRequest) { r.MaxWidth = 2000 }},
		{nil, map[string]any{"omit_background": true}, func(r *browser.URLRequest) { r.Transparent = true }},
		{full, map[string]any{"full_page_mode": "STITCH", "max_section_height": 500}, func(r *browser.URLRequest) {
			r.FullPageMode, r.MaxSectionHeight = browser.FullPageStitch, 500
		}},
		{full, map[string]any{"detect_full_height": true}, func(r *browser.URLRequest) { r.DetectFullHeight = true }},
		{nil, map[string]any{"lazyload": true}, func(r *browser.URLRequest) { r.LazyLoad = true }},
		{nil, map[string]any{"lazyload": true, "allow_infinite": true}, func(r *browser.URLRequest) { r.LazyLoad, r.AllowInfinite = true, true }},
		{pdf, map[string]any{"pdf_fit_to_page": true}, func(r *browser.URLRequest) { r.PDF.FitToPage = true }},
		{pdf, map[string]any{"pdf_auto_crop": true}, func(r *browser.URLRequest) { r.PDF.AutoCrop = true }},
		{pdf, map[string]any{"pdf_dpi": 192}, func(r *browser.URLRequest) { r.PDF.DPI = 192 }},
		{pdf, map[string]any{"pdf_header_height": 20, "pdf_footer_height": "15.5"}, func(r *browser.URLRequest) {
			r.PDF.HeaderHeight, r.PDF.FooterHeight = 20, 15.5
		}},
		{pdf, map[string]any{"pdf_show_page_numbers": true}, func(r *browser.URLRequest) { r.PDF.ShowPageNumbers = true }},
		{nil, map[string]any{"watermark_text": "DRAFT", "watermark_color": "red", "watermark_bgcolor": "rgba(0,0,0,0.5)",
			"watermark_opacity": 0.8, "watermark_size": 40, "watermark_position": "bottom"}, func(r *browser.URLRequest) {
			r.Watermark = browser.Watermark{Text: "DRAFT", Colour: "red", Background: "rgba(0,0,0,0.5)", Opacity: 0.8, Size: 40, Position: "bottom"}
		}},
	}
	for _, c := range cases {
		o, base := wantRequest(t, c.base, c.opts, c.want)
		if o == nil {
			continue
		}
		if o.CacheKey("spc") == base.CacheKey("spc") {
			t.Errorf("%v: same cache key as without it", c.opts)
		}
		// An async render's stored options come back whole.
		if back := testkit.RoundTrip[URLOptions](t, o); !reflect.DeepEqual(back.Request, o.Request) {
			t.Errorf("%v: stored and read back: %+v", c.opts, back.Request)
		}
	}
}

// TestV1CaptureOptionsRefused: wrong values and missing companions are a
// 400 InvalidOptions naming the option.
func TestV1CaptureOptionsRefused(t *testing.T) {
	thumbs := func(m map[string]any) map[string]any { m["thumb_width"], m["thumb_height"] = 200, 100; return m }
	pdf := func(m map[string]any) map[string]any { m["format"] = "pdf"; return m }
	wantRefused(t, []refusal{
		{thumbs(map[string]any{"img_fit": "squash"}), "img_fit"},
		{map[string]any{"img_fit": "cover", "thumb_width": 100}, "img_fit"},
		{thumbs(map[string]any{"img_fit": "cover", "img_position": "entropy"}), "img_position"},
		{thumbs(map[string]any{"img_fit": "fill", "img_position": "top"}), "img_position"},
		{thumbs(map[string]any{"img_fit": "contain", "img_bg": "url(x)"}), "img_bg"},
		{thumbs(map[string]any{"img_fit": "cover", "img_bg": "red"}), "img_bg"},
		{map[string]any{"img_pad": "1,2,3"}, "img_pad"},
		{map[string]any{"img_pad": "1001"}, "img_pad"},
		{map[string]any{"img_pad": "-1"}, "img_pad"},
		{map[string]any{"img_pad": 10}, "img_pad"},
		{map[string]any{"crop_width": 10001}, "crop_width"},
		{map[string]any{"max_width": 100}, "max_width"},
		{map[string]any{"omit_background": true, "format": "jpeg"}, "omit_background"},
		{map[string]any{"full_page": true, "full_page_mode": "tiles"}, "full_page_mode"},
		{map[string]any{"full_page_mode": "stitch"}, "full_page_mode"},
		{map[string]any{"detect_full_height": true}, "detect_full_height"},
		{map[string]any{"full_page": true, "max_section_height": 500}, "max_section_height"},
		{map[string]any{"full_page": true, "full_page_mode": "stitch", "max_section_height": 10}, "max_section_height"},
		{map[string]any{"allow_infinite": true}, "allow_infinite"},
		{map[string]any{"lazyload": "maybe"}, "lazyload"},
		{pdf(map[string]any{"pdf_dpi": 20}), "pdf_dpi"},
		{pdf(map[string]any{"pdf_dpi": 900, "pdf_scale": 0.5}), "pdf_dpi"},
		{pdf(map[string]any{"pdf_header_height": 201}), "pdf_header_height"},
		{pdf(map[string]any{"pdf_footer_height": -1}), "pdf_footer_height"},
		{pdf(map[string]any{"pdf_fit_to_page": true, "pdf_auto_crop": true}), "pdf_auto_crop"},
		{map[string]any{"pdf_show_page_numbers": true}, "pdf_show_page_numbers"},
		{map[string]any{"pdf_fit_to_page": true, "format": "png"}, "pdf_fit_to_page"},
		{map[string]any{"watermark_text": strings.Repeat("é", 201)}, "watermark_text"},
		{map[string]any{"watermark_text": "a\nb"}, "watermark_text"},
		{map[string]any{"watermark_opacity": 0.5}, "watermark_text"},
		{pdf(map[string]any{"watermark_text": "x"}), "watermark_text"},
		{map[string]any{"watermark_text": "x", "watermark_size": 1000}, "watermark_size"},
		{map[string]any{"watermark_text": "x", "watermark_opacity": 0}, "watermark_opacity"},
		{map[string]any{"watermark_text": "x", "watermark_color": "nope"}, "watermark_color"},
		{map[string]any{"watermark_text": "x", "watermark_position": "middle"}, "watermark_position"},
	})
}

func FuzzParseImgPad(f *testing.F) {
	for _, s := range []string{"10", "1,2", "1,2,3,4", "5px", "", ",", "1,2,3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pad, ok := parseImgPad(s)
		for _, p := range pad {
			if p < 0 || p > browser.MaxImgPad {
				t.Fatalf("parseImgPad(%q) = %v, out of bounds", s, pad)
			}
		}
		if !ok && pad != [4]int{} {
			t.Fatalf("parseImgPad(%q) refused but returned %v", s, pad)
		}
	})
}

// TestV1CaptureTuningOptions: each option of v1_capture.go, with its
// companions, lands in its field (and so in the cache key); wrong values
// and missing companions are a 400 naming the option.
func TestV1CaptureTuningOptions(t *testing.T) {
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
