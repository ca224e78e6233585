package render

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/watermark"
)

// This file holds the rows of the v1 table for Urlbox's image fitting,
// padding, cropping, full-page, PDF layout and watermark options (#16),
// which browser.URLRequest honours (urlcapture.go, urlpdffit.go), and
// the capture's tuning: the stitched capture's grid, fixed elements, the
// viewport taken from an element, the scroll's limits, the waits skipped,
// turbo, lightweight and optimise (browser/urlcapture3.go), and no_upload,
// which keeps the file out of every bucket.

// imgPositions are the img_position and watermark_position values, in
// the order the SDK lists them.
var imgPositions = []string{"top", "right top", "right", "right bottom", "bottom", "left bottom", "left", "left top",
	"center", "centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest"}

// normPosition lower-cases a position and collapses its spaces.
func normPosition(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

const positionErr = "must be top, right top, right, right bottom, bottom, left bottom, left, left top, center " +
	"or a compass point (north, northeast, …); entropy and attention are not supported"

// positionRow is a position option.
func positionRow(name, doc string, set func(r *browser.URLRequest, s string)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: 32, Enum: imgPositions, Family: FamilyCapture,
		Supported: true, Doc: doc},
		enumErr: positionErr, norm: normPosition,
		set: func(st *v1State, v any) error { set(st.r, normPosition(v.(string))); return nil }}
}

// goColour refuses what browser.ParseColour cannot draw.
func goColour(s string) string {
	if _, err := browser.ParseColour(s); err != nil {
		return "must be #rgb, #rrggbb, #rrggbbaa, rgb(r,g,b), rgba(r,g,b,a), a basic colour name or transparent"
	}
	return ""
}

// parseImgPad reads img_pad: "n" for every side, "v,h", or
// "top,right,bottom,left", each 0..browser.MaxImgPad output pixels.
func parseImgPad(s string) ([4]int, bool) {
	parts := strings.Split(s, ",")
	var n []int
	for _, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "px")))
		if err != nil || v < 0 || v > browser.MaxImgPad {
			return [4]int{}, false
		}
		n = append(n, v)
	}
	switch len(n) {
	case 1:
		return [4]int{n[0], n[0], n[0], n[0]}, true
	case 2:
		return [4]int{n[0], n[1], n[0], n[1]}, true
	case 4:
		return [4]int{n[0], n[1], n[2], n[3]}, true
	}
	return [4]int{}, false
}

// v1CaptureFitRows are this file's rows, parsed after v1URLBoxRows.
var v1CaptureFitRows = slices.Concat(v1ImageRows, v1FullPageRows, v1PDFLayoutRows, v1WatermarkRows)

var v1ImageRows = []v1Option{
	reqEnum("img_fit", FamilyCapture, 16, []string{"cover", "contain", "fill", "inside", "outside"},
		"With thumb_width and thumb_height, how the capture fits that box: cover crops to it, contain pads it (img_bg), fill stretches, inside fits within, outside covers it.",
		func(r *browser.URLRequest, s string) { r.ImgFit = browser.ImgFit(s) }),
	positionRow("img_position", "Where img_fit cover crops from and contain places the capture (default center).",
		func(r *browser.URLRequest, s string) { r.ImgPosition = s }),
	reqString("img_bg", FamilyCapture, maxV1Colour, "Colour of img_fit contain's and img_pad's padding (default white).", goColour,
		func(r *browser.URLRequest, s string) { r.ImgBg = s }),
	{OptionSpec: OptionSpec{Name: "img_pad", Type: TypeString, Max: 64, Family: FamilyCapture, Supported: true,
		Doc: "Padding around the image in px: \"10\", \"10,20\" (vertical, horizontal) or \"10,20,10,20\" (top, right, bottom, left); each at most 1000."},
		set: func(st *v1State, v any) error {
			pad, ok := parseImgPad(v.(string))
			if !ok {
				return optErr("img_pad", "must be 1, 2 or 4 comma-separated whole px from 0 to %d", browser.MaxImgPad)
			}
			st.r.ImgPad = pad
			return nil
		}},
	reqInt("crop_width", FamilyCapture, 0, maxV1Dimension, "Crop the capture to at most this many CSS px wide, from the left, before any thumbnail (0: no crop).",
		func(r *browser.URLRequest, n int) { r.CropWidth = n }),
	reqInt("max_width", FamilyCapture, 0, maxV1Dimension, "With full_width, the widest the capture may be, in CSS px (0: only the 10000 px limit).",
		func(r *browser.URLRequest, n int) { r.MaxWidth = n }),
	{OptionSpec: OptionSpec{Name: "omit_background", Type: TypeBoolean, Default: false, Family: FamilyCapture, Supported: true,
		Doc: "Capture without the default white background, as transparent (png and webp)."},
		set: func(st *v1State, v any) error {
			if !v.(bool) {
				return nil
			}
			if st.r.Format != browser.FormatPNG && st.r.Format != browser.FormatWebP {
				return optErr("omit_background", "applies to png and webp only, not %s", st.r.Format)
			}
			st.r.Transparent = true
			return nil
		}},
}

var v1FullPageRows = []v1Option{
	reqEnum("full_page_mode", FamilyCapture, 16, []string{"native", "stitch"},
		"How full_page captures: native in one shot (the default), stitch in sections of max_section_height, each scrolled into view, joined.",
		func(r *browser.URLRequest, s string) { r.FullPageMode = browser.FullPageMode(s) }),
	reqInt("max_section_height", FamilyCapture, 64, maxV1CaptureHeight, "With full_page_mode stitch, the height of each section in CSS px (default the viewport's).",
		func(r *browser.URLRequest, n int) { r.MaxSectionHeight = n }),
	reqBool("detect_full_height", FamilyCapture, "With full_page, unroll the page's largest scrolling element (an app shell of 100vh) so its whole content is captured.",
		func(r *browser.URLRequest, b bool) { r.DetectFullHeight = b }),
	reqBool("allow_infinite", FamilyCapture, "Let the scroll through the page (scroll_increment, lazyload) follow a page that keeps growing, up to max_height and the timeout; without it the scroll stops where the page first ended.",
		func(r *browser.URLRequest, b bool) { r.AllowInfinite = b }),
	reqBool("lazyload", FamilyCapture, "Load lazy images eagerly and scroll through the page a viewport at a time before capturing, so content that loads on view is there.",
		func(r *browser.URLRequest, b bool) { r.LazyLoad = b }),
}

var v1PDFLayoutRows = []v1Option{
	reqBool("pdf_fit_to_page", FamilyPDF, "Scale the page down (to 0.1 at most) so the whole document fits on one page.",
		func(r *browser.URLRequest, b bool) { r.PDF.FitToPage = b }),
	reqBool("pdf_auto_crop", FamilyPDF, "Print one page exactly the size of the content, without margins or blank paper.",
		func(r *browser.URLRequest, b bool) { r.PDF.AutoCrop = b }),
	reqNumber("pdf_dpi", FamilyPDF, 48, 960, "How many CSS px make an inch of paper (default 96); 192 prints at half the size.",
		func(st *v1State, f float64) { st.r.PDF.DPI = f }),
	reqNumber("pdf_header_height", FamilyPDF, 0, 200, "Room for the header at the top of every page, in mm (the top margin is at least this).",
		func(st *v1State, f float64) { st.r.PDF.HeaderHeight = f }),
	reqNumber("pdf_footer_height", FamilyPDF, 0, 200, "Room for the footer at the bottom of every page, in mm (the bottom margin is at least this).",
		func(st *v1State, f float64) { st.r.PDF.FooterHeight = f }),
	reqBool("pdf_show_page_numbers", FamilyPDF, "Print \"page / pages\" at the foot of every page (after pdf_footer when there is one).",
		func(r *browser.URLRequest, b bool) { r.PDF.ShowPageNumbers = b }),
}

var v1WatermarkRows = []v1Option{
	reqString("watermark_text", FamilyOutput, 4*watermark.MaxText, "Text drawn on the image (png, jpeg, webp), one line of at most 200 characters.", oneLine,
		func(r *browser.URLRequest, s string) { r.Watermark.Text = s }),
	reqString("watermark_color", FamilyOutput, maxV1Colour, "The watermark text's colour (default white).", goColour,
		func(r *browser.URLRequest, s string) { r.Watermark.Colour = s }),
	reqString("watermark_bgcolor", FamilyOutput, maxV1Colour, "A box of this colour behind the watermark text (default none).", goColour,
		func(r *browser.URLRequest, s string) { r.Watermark.Background = s }),
	reqNumber("watermark_opacity", FamilyOutput, 0.01, 1, "The watermark's opacity (default 0.5).",
		func(st *v1State, f float64) { st.r.Watermark.Opacity = f }),
	reqInt("watermark_size", FamilyOutput, watermark.MinSize, watermark.MaxSize, "The watermark's font size in px of the image (default 24).",
		func(r *browser.URLRequest, n int) { r.Watermark.Size = n }),
	withThen(positionRow("watermark_position", "Where the watermark sits, as img_position (default right bottom).",
		func(r *browser.URLRequest, s string) { r.Watermark.Position = s }), checkCaptureCombinations),
}

// checkCaptureCombinations refuses this file's options without what they
// go with, then (again, now that the pdf_ options of this file are read)
// the combinations of the table.
func checkCaptureCombinations(st *v1State) error {
	r := st.r
	p := r.PDF
	switch {
	case r.ImgFit != "" && (r.ThumbWidth == 0 || r.ThumbHeight == 0):
		return optErr("img_fit", "needs both thumb_width and thumb_height")
	case r.ImgPosition != "" && r.ImgFit != browser.FitCover && r.ImgFit != browser.FitContain:
		return optErr("img_position", "goes with img_fit cover or contain")
	case r.ImgBg != "" && r.ImgFit != browser.FitContain && r.ImgPad == [4]int{}:
		return optErr("img_bg", "goes with img_fit contain or img_pad")
	case r.MaxWidth > 0 && (!r.FullPage || !r.FullWidth):
		return optErr("max_width", "goes with full_page and full_width")
	case (r.FullPageMode != "" || r.DetectFullHeight) && !r.FullPage:
		return errorf("option \"full_page_mode\" and option \"detect_full_height\" go with full_page")
	case r.MaxSectionHeight > 0 && r.FullPageMode != browser.FullPageStitch:
		return optErr("max_section_height", "goes with full_page_mode stitch")
	case r.AllowInfinite && !r.LazyLoad && (!r.FullPage || r.ScrollIncrement == 0):
		return optErr("allow_infinite", "goes with lazyload, or full_page with scroll_increment")
	case p.FitToPage && p.AutoCrop:
		return errorf("option \"pdf_fit_to_page\" cannot be combined with option \"pdf_auto_crop\"")
	case p.DPI != 0 && !(p.Scale == 0 || (p.Scale*96/p.DPI >= 0.1 && p.Scale*96/p.DPI <= 2)):
		return optErr("pdf_dpi", "with pdf_scale %g prints at %.2f, outside 0.1..2", p.Scale, p.Scale*96/p.DPI)
	}
	return checkCombinations(st)
}

// Bounds of the capture's tuning options.
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

// v1CaptureTuningRows are parsed after v1CaptureFitRows (full_page_mode,
// full_width, format and wait_until are known).
var v1CaptureTuningRows = []v1Option{
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
