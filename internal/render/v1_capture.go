package render

import (
	"slices"
	"strconv"
	"strings"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/watermark"
)

// This file holds the rows of the v1 table for Urlbox's image fitting,
// padding, cropping, full-page, PDF layout and watermark options (#16),
// which browser.URLRequest honours (urlcapture.go, urlpdffit.go).

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
	{OptionSpec: OptionSpec{Name: "img_fit", Type: TypeString, Max: 16, Family: FamilyCapture, Supported: true,
		Enum: []string{"cover", "contain", "fill", "inside", "outside"},
		Doc:  "With thumb_width and thumb_height, how the capture fits that box: cover crops to it, contain pads it (img_bg), fill stretches, inside fits within, outside covers it."},
		norm: strings.ToLower,
		set:  func(st *v1State, v any) error { st.r.ImgFit = browser.ImgFit(strings.ToLower(v.(string))); return nil }},
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
	{OptionSpec: OptionSpec{Name: "full_page_mode", Type: TypeString, Max: 16, Enum: []string{"native", "stitch"}, Family: FamilyCapture,
		Supported: true, Doc: "How full_page captures: native in one shot (the default), stitch in sections of max_section_height, each scrolled into view, joined."},
		norm: strings.ToLower,
		set: func(st *v1State, v any) error {
			st.r.FullPageMode = browser.FullPageMode(strings.ToLower(v.(string)))
			return nil
		}},
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
