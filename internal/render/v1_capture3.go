package render

import (
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the rows of the v1 table for the third part of Urlbox's
// capture options (#16): the stitched capture's grid, fixed elements,
// the viewport taken from an element, the scroll's limits, the waits
// skipped, turbo, lightweight and optimise (browser/urlcapture3.go), and
// no_upload, which keeps the file out of every bucket.

// Bounds of this file's options.
const (
	maxV1Sections      = 400 // max_sections, max_xsections (browser's maxStitchSections)
	maxV1SectionWidth  = maxV1Dimension
	minV1SectionWidth  = 64
	minV1ScrollPageMs  = 100
	maxV1ScrollPageMs  = int(browser.MaxScrollPageTime / time.Millisecond)
	maxV1ScrollHeight  = maxV1CaptureHeight
	maxV1FromSelector  = maxV1Short
	stitchCompanionErr = "goes with full_page and full_page_mode stitch"
)

// v1Capture3Rows are parsed after v1CaptureFitRows (full_page_mode,
// full_width, format and wait_until are known).
var v1Capture3Rows = []v1Option{
	reqBool("freeze_fixed", FamilyCapture, "With full_page, turn fixed elements (headers, cookie bars) into absolute ones where they are at the top, and sticky ones into static, so they are drawn once rather than in every section.",
		func(r *browser.URLRequest, b bool) { r.FreezeFixed = b }),
	reqBool("sharp_stitch", FamilyCapture, "With full_page_mode stitch and a thumbnail, capture and join the sections at full size and scale the joined image, so no seam is resampled on its own (without a thumbnail the sections are full size already).",
		func(r *browser.URLRequest, b bool) { r.SharpStitch = b }),
	reqBool("show_sections", FamilyCapture, "With full_page_mode stitch, outline each section in magenta.",
		func(r *browser.URLRequest, b bool) { r.ShowSections = b }),
	reqBool("show_seams", FamilyCapture, "With full_page_mode stitch, draw a red line where two sections meet.",
		func(r *browser.URLRequest, b bool) { r.ShowSeams = b }),
	{OptionSpec: OptionSpec{Name: "fix_full_height", Type: TypeBoolean, Default: false, Family: FamilyCapture, Supported: true,
		Doc: "With full_page: keep elements sized by the viewport (100vh) at the viewport's height. Always so in renderhook, whose full-page capture draws beyond the viewport without resizing it."},
		set: func(st *v1State, v any) error {
			if v.(bool) && !st.r.FullPage {
				return optErr("fix_full_height", "goes with full_page")
			}
			return nil
		}},
	reqString("width_from", FamilyCapture, maxV1FromSelector, "A CSS selector: once the page has loaded, the viewport takes the first matching element's width (at most 10000 px).", nil,
		func(r *browser.URLRequest, s string) { r.WidthFrom = s }),
	reqString("height_from", FamilyCapture, maxV1FromSelector, "A CSS selector: once the page has loaded, the viewport takes the first matching element's height (at most 10000 px).", nil,
		func(r *browser.URLRequest, s string) { r.HeightFrom = s }),
	reqInt("max_section_width", FamilyCapture, minV1SectionWidth, maxV1SectionWidth, "With full_page_mode stitch and full_width, the width of each section in CSS px (default the viewport's once max_xsections is given; otherwise the whole width).",
		func(r *browser.URLRequest, n int) { r.MaxSectionWidth = n }),
	reqInt("max_sections", FamilyCapture, 1, maxV1Sections, "With full_page_mode stitch, the most rows of sections captured: the capture ends after them.",
		func(r *browser.URLRequest, n int) { r.MaxSections = n }),
	reqInt("max_xsections", FamilyCapture, 1, maxV1Sections, "With full_page_mode stitch and full_width, the most columns of sections (of max_section_width, default the viewport's) captured: the capture ends after them.",
		func(r *browser.URLRequest, n int) { r.MaxXSections = n }),
	reqInt("max_scroll_page_time", FamilyCapture, minV1ScrollPageMs, maxV1ScrollPageMs, "Milliseconds the scroll through the page (lazyload, full_page with scroll_increment) may take; then it stops and the capture goes on.",
		func(r *browser.URLRequest, n int) { r.MaxScrollTime = ms(n) }),
	reqInt("scroll_height", FamilyCapture, 1, maxV1ScrollHeight, "How far down, in CSS px, the scroll through the page (lazyload, full_page with scroll_increment) goes.",
		func(r *browser.URLRequest, n int) { r.ScrollHeight = n }),
	reqBool("skip_final_delay", FamilyWaits, "With a scroll through the page, capture right after its last step instead of waiting scroll_delay once more.",
		func(r *browser.URLRequest, b bool) { r.SkipFinalDelay = b }),
	reqBool("skip_wait", FamilyWaits, "Capture as soon as wait_until is reached, without waiting for the page to settle (images decoded, web fonts, frames).",
		func(r *browser.URLRequest, b bool) { r.SkipWait = b }),
	reqAlways("skip_wait_for_modifications", FamilyWaits, "Do not wait for the page's DOM to stop changing. Always so in renderhook, which never waits for that."),
	reqBool("turbo", FamilyEngine, "Render fast: capture at DOMContentLoaded (wait_until domloaded) without waiting for images to load.",
		func(r *browser.URLRequest, b bool) { r.Turbo = b }),
	reqBool("lightweight", FamilyEngine, "Fetch none of the page's audio, video and web fonts (block_medias and block_fonts).",
		func(r *browser.URLRequest, b bool) { r.Lightweight = b }),
	withThen(reqBool("optimise", FamilyOutput, "Make the png as small as it goes with the same pixels: a palette when it has at most 256 colours, the best compression (png only).",
		func(r *browser.URLRequest, b bool) { r.Optimise = b }), checkCapture3Combinations),
}

// checkCapture3Combinations refuses this file's capture options without
// what they go with.
func checkCapture3Combinations(st *v1State) error {
	r := st.r
	stitch := r.FullPage && r.FullPageMode == browser.FullPageStitch
	for _, c := range []struct {
		name string
		on   bool
		ok   bool
		msg  string
	}{
		{"freeze_fixed", r.FreezeFixed, r.FullPage, "goes with full_page"},
		{"sharp_stitch", r.SharpStitch, stitch, stitchCompanionErr},
		{"show_sections", r.ShowSections, stitch, stitchCompanionErr},
		{"show_seams", r.ShowSeams, stitch, stitchCompanionErr},
		{"max_sections", r.MaxSections > 0, stitch, stitchCompanionErr},
		{"max_section_width", r.MaxSectionWidth > 0, stitch && r.FullWidth, "goes with full_page, full_width and full_page_mode stitch"},
		{"max_xsections", r.MaxXSections > 0, stitch && r.FullWidth, "goes with full_page, full_width and full_page_mode stitch"},
		{"optimise", r.Optimise, r.Format == browser.FormatPNG, "applies to format png only"},
		{"turbo", r.Turbo, r.WaitUntil == "" || r.WaitUntil == browser.WaitDOMLoaded, "captures at domloaded and contradicts option \"wait_until\""},
	} {
		if c.on && !c.ok {
			return optErr(c.name, "%s", c.msg)
		}
	}
	return nil
}

// v1NoUploadRows are parsed after the storage, extraction and wire
// options.
var v1NoUploadRows = []v1Option{
	{OptionSpec: OptionSpec{Name: "no_upload", Type: TypeBoolean, Default: false, Family: FamilyStorage, Supported: true,
		Doc: "Store the file nowhere: it is in the answer only (response_type binary or base64; json answers renderUrl null), " +
			"with X-Renderhook-Stored: false. Never served from or kept for the cache; not with async renders, use_s3 or the save_* options."},
		set: func(st *v1State, v any) error {
			if !v.(bool) {
				return nil
			}
			x := st.r.Extract
			switch {
			case st.o.Storage.UseS3:
				return optErr("no_upload", "contradicts option \"use_s3\"")
			case x.HTML || x.MHTML || x.Markdown || st.o.SaveMetadata:
				return optErr("no_upload", "cannot be combined with the save_* options, which store files")
			}
			st.o.NoUpload = true
			return nil
		}},
}
