package render

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the rows of the v1 table for Urlbox's capture, cleanup,
// interaction, wait, request and PDF options that browser.URLRequest
// honours (#16), and the constructors that keep those rows short.

// Bounds of the Urlbox options.
const (
	maxV1CaptureHeight = 16384 // max_height, scroll_increment
	maxV1ScrollDelay   = 5 * time.Second
	maxV1Template      = 10000 // pdf_header, pdf_footer
	maxV1BlockURLs     = 100
	maxV1Colour        = 100
)

// cssColourRE is what bg_color, highlightfg and highlightbg accept: a hex
// colour, a colour name, or a functional colour like rgb(1, 2, 3).
var cssColourRE = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|[a-z]{3,5}\([0-9a-zA-Z.,%/ +-]{1,80}\))$`)

// pdfPageRangeRE is what pdf_page_range accepts: "1", "1-3", "2-",
// comma-separated.
var pdfPageRangeRE = regexp.MustCompile(`^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$`)

// reqBool is a boolean option (default false) that sets a request field.
func reqBool(name string, f Family, doc string, set func(r *browser.URLRequest, b bool)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeBoolean, Default: false, Family: f, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error { set(st.r, v.(bool)); return nil }}
}

// reqAlways is a boolean option asking for what renderhook always does:
// accepted either way, it changes nothing (doc says why).
func reqAlways(name string, f Family, doc string) v1Option {
	return reqBool(name, f, doc, func(*browser.URLRequest, bool) {})
}

// reqString is a string option of at most maxLen bytes; check, when set,
// refuses a value with the message it returns ("" accepts).
func reqString(name string, f Family, maxLen int, doc string, check func(string) string, set func(r *browser.URLRequest, s string)) v1Option {
	return wireString(name, f, maxLen, doc, check, func(o *URLOptions, s string) { set(&o.Request, s) })
}

// reqEnum is a string option of at most maxLen bytes that is one of enum,
// in any case; set gets it lower-cased.
func reqEnum(name string, f Family, maxLen int, enum []string, doc string, set func(r *browser.URLRequest, s string)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: float64(maxLen), Enum: enum, Family: f, Supported: true, Doc: doc},
		norm: strings.ToLower,
		set:  func(st *v1State, v any) error { set(st.r, strings.ToLower(v.(string))); return nil }}
}

// reqInt is an integer option from lo to hi.
func reqInt(name string, f Family, lo, hi int, doc string, set func(r *browser.URLRequest, n int)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeInteger, Min: float64(lo), Max: float64(hi), Family: f, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error { set(st.r, v.(int)); return nil }}
}

// reqNumber is a number option from lo to hi.
func reqNumber(name string, f Family, lo, hi float64, doc string, set func(st *v1State, n float64)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeNumber, Min: lo, Max: hi, Family: f, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error { set(st, v.(float64)); return nil }}
}

// reqSelectors is a list of at most maxItems CSS selectors or URL
// patterns, each 1..maxV1Short bytes without braces.
func reqSelectors(name string, f Family, maxItems int, doc string, set func(r *browser.URLRequest, s []string)) v1Option {
	return reqList(name, f, maxItems, doc, checkSelector, set)
}

// checkSelector refuses an empty selector or pattern, or one with braces
// (which would end the CSS rule it is put in).
func checkSelector(s string) string {
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "{}") {
		return "entries must not be empty or contain braces"
	}
	return ""
}

// reqList is a list of at most maxItems strings of at most maxV1Short
// bytes each; check refuses an entry with the message it returns ("" accepts).
func reqList(name string, f Family, maxItems int, doc string, check func(string) string, set func(r *browser.URLRequest, s []string)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeStrings, Max: maxV1Short, MaxItems: maxItems, Family: f, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error {
			list := v.([]string)
			for _, s := range list {
				if msg := check(s); msg != "" {
					return optErr(name, "%s", msg)
				}
			}
			set(st.r, list)
			return nil
		}}
}

// oneLine refuses text with line breaks or NULs.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "must be one line"
	}
	return ""
}

// colour refuses what is not a CSS colour.
func colour(s string) string {
	if s != "" && !cssColourRE.MatchString(s) {
		return "must be a CSS colour like #ff0000, red or rgb(255,0,0)"
	}
	return ""
}

// blockDocs says what each block_* option blocks.
var blockDocs = map[browser.ResourceType]string{
	browser.ResourceImages:    "Block image requests.",
	browser.ResourceFonts:     "Block font requests.",
	browser.ResourceMedias:    "Block audio and video requests.",
	browser.ResourceStyles:    "Block stylesheet requests.",
	browser.ResourceScripts:   "Block script requests.",
	browser.ResourceFrames:    "Block frames (the main document is never blocked).",
	browser.ResourceFetch:     "Block fetch() requests.",
	browser.ResourceXHR:       "Block XMLHttpRequests.",
	browser.ResourceSockets:   "Block websockets and event streams.",
	browser.ResourcePings:     "Block pings and CSP reports.",
	browser.ResourceManifests: "Block web app manifests.",
	browser.ResourceOther:     "Block other requests (prefetches, signed exchanges, …).",
}

// blockRows are the block_* options, one per browser.ResourceType.
func blockRows() []v1Option {
	rows := make([]v1Option, 0, len(browser.ResourceTypes))
	for _, t := range browser.ResourceTypes {
		rows = append(rows, reqBool("block_"+string(t), FamilyCleanup, blockDocs[t], func(r *browser.URLRequest, b bool) {
			if b && !slices.Contains(r.BlockResources, t) {
				r.BlockResources = append(r.BlockResources, t)
			}
		}))
	}
	return rows
}

// geo is the request's geolocation, made when first needed.
func geo(st *v1State) *browser.Geolocation {
	if st.r.Geolocation == nil {
		st.r.Geolocation = &browser.Geolocation{}
	}
	return st.r.Geolocation
}

// v1URLBoxRows are the Urlbox options browser.URLRequest honours, parsed
// after the core options and before the webhook and cache ones.
var v1URLBoxRows = slices.Concat(v1CaptureRows, v1CleanupRows, blockRows(), v1InteractRows, v1WaitRows, v1RequestRows, v1PDFRows)

var v1CaptureRows = []v1Option{
	reqBool("full_width", FamilyCapture, "With full_page, capture the page's whole width too.",
		func(r *browser.URLRequest, b bool) { r.FullWidth = b }),
	reqInt("max_height", FamilyCapture, 0, maxV1CaptureHeight, "Highest a full-page capture may be, in CSS px (0: only the 16384 px limit).",
		func(r *browser.URLRequest, n int) { r.MaxHeight = n }),
	reqInt("thumb_width", FamilyCapture, 0, maxV1Dimension, "Scale the capture down to this many px wide (the height follows unless thumb_height is given).",
		func(r *browser.URLRequest, n int) { r.ThumbWidth = n }),
	reqInt("thumb_height", FamilyCapture, 0, maxV1Dimension, "Scale the capture down to this many px high (with thumb_width: crop to it).",
		func(r *browser.URLRequest, n int) { r.ThumbHeight = n }),
	reqInt("scroll_increment", FamilyCapture, 0, maxV1CaptureHeight, "With full_page, scroll down this many px at a time before capturing, so content loaded on scroll is there (0: no scrolling).",
		func(r *browser.URLRequest, n int) { r.ScrollIncrement = n }),
	reqInt("scroll_delay", FamilyCapture, 0, int(maxV1ScrollDelay/time.Millisecond), "Wait this many ms after each scroll step.",
		func(r *browser.URLRequest, n int) { r.ScrollDelay = ms(n) }),
	reqBool("skip_scroll", FamilyCapture, "Do not scroll through the page before a full-page capture (overrides scroll_increment).",
		func(r *browser.URLRequest, b bool) {
			if b {
				r.ScrollIncrement = 0
			}
		}),
}

var v1CleanupRows = []v1Option{
	reqSelectors("hide_selector", FamilyCleanup, browser.MaxSelectors, "Hide (display: none) the elements matching these CSS selectors before capturing.",
		func(r *browser.URLRequest, s []string) { r.HideSelector = s }),
	reqSelectors("block_urls", FamilyCleanup, maxV1BlockURLs, "Never fetch URLs matching these patterns ('*' matches anything).",
		func(r *browser.URLRequest, s []string) { r.BlockURLs = s }),
	reqBool("disable_js", FamilyCleanup, "Turn the page's own scripts off (the js option still runs).",
		func(r *browser.URLRequest, b bool) { r.DisableJS = b }),
	reqBool("press_escape", FamilyCleanup, "Press Escape once the page has loaded, to close modals.",
		func(r *browser.URLRequest, b bool) { r.PressEscape = b }),
}

var v1InteractRows = []v1Option{
	reqSelectors("click", FamilyInteraction, browser.MaxSelectors, "Click the first element matching each selector, in order, before capturing.",
		func(r *browser.URLRequest, s []string) { r.Click = s }),
	reqSelectors("click_all", FamilyInteraction, browser.MaxSelectors, "Click every element matching each selector before capturing.",
		func(r *browser.URLRequest, s []string) { r.ClickAll = s }),
	reqString("hover", FamilyInteraction, maxV1Short, "Hover over the first element matching this selector before capturing.", nil,
		func(r *browser.URLRequest, s string) { r.Hover = s }),
	reqString("scroll_to", FamilyInteraction, maxV1Short, "Scroll down this many px, or to the element matching this selector, before capturing.", nil,
		func(r *browser.URLRequest, s string) { r.ScrollTo = s }),
	reqBool("disable_animations", FamilyInteraction, "Turn CSS animations and transitions off.",
		func(r *browser.URLRequest, b bool) { r.DisableAnimations = b }),
	reqBool("reduced_motion", FamilyInteraction, "Emulate prefers-reduced-motion: reduce.",
		func(r *browser.URLRequest, b bool) { r.ReducedMotion = b }),
	reqString("bg_color", FamilyInteraction, maxV1Colour, "A CSS colour painted behind the page.", colour,
		func(r *browser.URLRequest, s string) { r.BgColor = s }),
	reqString("highlight", FamilyInteraction, maxV1Short, "Highlight every occurrence of this text (case-insensitive).", nil,
		func(r *browser.URLRequest, s string) { r.Highlight = s }),
	reqString("highlightfg", FamilyInteraction, maxV1Colour, "Text colour of highlighted words (default white).", colour,
		func(r *browser.URLRequest, s string) { r.HighlightFg = s }),
	reqString("highlightbg", FamilyInteraction, maxV1Colour, "Background colour of highlighted words (default red).", colour,
		func(r *browser.URLRequest, s string) { r.HighlightBg = s }),
}

var v1WaitRows = []v1Option{
	reqString("wait_to_leave", FamilyWaits, maxV1Short, "After wait_for, wait until no element matches this selector (a spinner, an overlay).", nil,
		func(r *browser.URLRequest, s string) { r.WaitToLeave = s }),
	reqInt("wait_timeout", FamilyWaits, 0, int(MaxV1Timeout/time.Millisecond), "Bound in ms on each of the wait_for and wait_to_leave waits (0: only timeout bounds them).",
		func(r *browser.URLRequest, n int) { r.WaitTimeout = ms(n) }),
	reqBool("skip_wait_for_images", FamilyWaits, "Capture without waiting for images to load.",
		func(r *browser.URLRequest, b bool) { r.SkipWaitForImages = b }),
	reqString("fail_if_selector_missing", FamilyWaits, maxV1Short, "Fail the render when no element matches this selector once the page is ready.", nil,
		func(r *browser.URLRequest, s string) { r.FailIfSelectorMissing = s }),
	reqString("fail_if_selector_present", FamilyWaits, maxV1Short, "Fail the render when an element matches this selector once the page is ready.", nil,
		func(r *browser.URLRequest, s string) { r.FailIfSelectorPresent = s }),
}

var v1RequestRows = []v1Option{
	reqString("accept_lang", FamilyRequest, 200, "The Accept-Language header the page's requests send.", oneLine,
		func(r *browser.URLRequest, s string) { r.AcceptLanguage = s }),
	reqString("tz", FamilyRequest, 100, "The IANA time zone the page sees, like Europe/Paris.", oneLine,
		func(r *browser.URLRequest, s string) { r.Timezone = s }),
	reqString("referer", FamilyRequest, 4096, "The Referer header of the main page's request.", oneLine,
		func(r *browser.URLRequest, s string) { r.Referer = s }),
	reqString("authorization", FamilyRequest, 8192, "The Authorization header, sent to the url's origin only.", oneLine,
		func(r *browser.URLRequest, s string) { r.Authorization = s }),
	reqNumber("latitude", FamilyRequest, -90, 90, "Emulated geolocation latitude in degrees (with longitude).",
		func(st *v1State, f float64) { geo(st).Latitude, st.latGiven = f, true }),
	reqNumber("longitude", FamilyRequest, -180, 180, "Emulated geolocation longitude in degrees (with latitude).",
		func(st *v1State, f float64) { geo(st).Longitude, st.lonGiven = f, true }),
	reqNumber("accuracy", FamilyRequest, 0, 1e7, "Emulated geolocation accuracy in metres (with latitude and longitude).",
		func(st *v1State, f float64) { geo(st).Accuracy = f }),
}

var v1PDFRows = []v1Option{
	reqEnum("pdf_orientation", FamilyPDF, 16, []string{"portrait", "landscape"}, "portrait or landscape pages (Urlbox's name for pdf_landscape).",
		func(r *browser.URLRequest, s string) { r.PDF.Landscape = s == "landscape" }),
	reqNumber("pdf_page_width", FamilyPDF, 10, 5000, "Custom paper width in mm (with pdf_page_height; overrides pdf_page_size).",
		func(st *v1State, f float64) { st.r.PDF.PageWidth = f }),
	reqNumber("pdf_page_height", FamilyPDF, 10, 5000, "Custom paper height in mm (with pdf_page_width).",
		func(st *v1State, f float64) { st.r.PDF.PageHeight = f }),
	reqNumber("pdf_scale", FamilyPDF, 0.1, 2, "Scale of the page's rendering (default 1).",
		func(st *v1State, f float64) { st.r.PDF.Scale = f }),
	reqString("pdf_page_range", FamilyPDF, 200, "Print only these pages, like \"1-3, 5\" (default all).",
		func(s string) string {
			if s != "" && !pdfPageRangeRE.MatchString(s) {
				return "must be page numbers and ranges like \"1-3, 5\""
			}
			return ""
		},
		func(r *browser.URLRequest, s string) { r.PDF.PageRanges = s }),
	reqBool("pdf_show_header", FamilyPDF, "Print a header on every page: pdf_header, or the date and title.",
		func(r *browser.URLRequest, b bool) { r.PDF.ShowHeader = b }),
	reqString("pdf_header", FamilyPDF, maxV1Template, "The header's HTML; elements of class date, title, url, pageNumber and totalPages get those values.", nil,
		func(r *browser.URLRequest, s string) { r.PDF.HeaderTemplate = s }),
	reqBool("pdf_show_footer", FamilyPDF, "Print a footer on every page: pdf_footer, or the URL and page numbers.",
		func(r *browser.URLRequest, b bool) { r.PDF.ShowFooter = b }),
	reqString("pdf_footer", FamilyPDF, maxV1Template, "The footer's HTML, with the same classes as pdf_header.", nil,
		func(r *browser.URLRequest, s string) { r.PDF.FooterTemplate = s }),
	withThen(reqEnum("media", FamilyPDF, 16, []string{"print", "screen"}, "The CSS media type a PDF is printed with (default print).",
		func(r *browser.URLRequest, s string) { r.PDF.Media = s }), checkCombinations),
}

// withThen sets a row's then.
func withThen(o v1Option, then func(*v1State) error) v1Option {
	o.then = then
	return o
}

// checkURLBoxCombinations refuses Urlbox options given without the
// options they go with.
func checkURLBoxCombinations(st *v1State) error {
	p := st.r.PDF
	switch {
	case st.r.Geolocation != nil && !st.latGiven:
		return errorf("option \"latitude\" is required with option \"longitude\" or \"accuracy\"")
	case st.r.Geolocation != nil && !st.lonGiven:
		return errorf("option \"longitude\" is required with option \"latitude\" or \"accuracy\"")
	case (p.PageWidth == 0) != (p.PageHeight == 0):
		return errorf("option \"pdf_page_width\" and option \"pdf_page_height\" go together")
	}
	return nil
}
