package browser

import (
	"image"
	"time"
)

// This file is the contract between the v1 API (internal/render, internal/api)
// and the browser pool for renders of a client's URL or HTML. The types are
// agreed; RenderURL itself is in urlrender.go, its errors in errors.go.

// PageStatusError is returned (wrapping ErrPageStatus) when the main frame's
// HTTP status made a fail_on_4xx / fail_on_5xx render fail.
type PageStatusError struct{ Status int }

// Error returns ErrPageStatus's message; the status is in the field, and
// RenderURL's wrapping error names it too.
func (e *PageStatusError) Error() string { return ErrPageStatus.Error() }

// Unwrap makes errors.Is(err, ErrPageStatus) hold.
func (e *PageStatusError) Unwrap() error { return ErrPageStatus }

// WaitUntil is when navigation counts as done (Urlbox's wait_until).
type WaitUntil string

// WaitUntil values.
const (
	WaitDOMLoaded            WaitUntil = "domloaded"            // DOMContentLoaded
	WaitLoaded               WaitUntil = "loaded"               // load event (default)
	WaitRequestsFinished     WaitUntil = "requestsfinished"     // no request in flight for 500 ms
	WaitMostRequestsFinished WaitUntil = "mostrequestsfinished" // at most 2 in flight for 500 ms
)

// Clip is a rectangle of the page in CSS pixels.
type Clip struct{ X, Y, Width, Height int }

// Cookie is one cookie set for the URL before navigation.
type Cookie struct{ Name, Value string }

// Geolocation is an emulated position: latitude -90..90, longitude
// -180..180 (degrees), accuracy in metres (0 means 1).
type Geolocation struct{ Latitude, Longitude, Accuracy float64 }

// PDFOptions are the pdf_* options.
type PDFOptions struct {
	// PageSize is A0..A6, Letter, Legal, Tabloid, Ledger; "" means A4.
	PageSize string
	// Landscape turns the page.
	Landscape bool
	// Background prints background colours and images.
	Background bool
	// MarginTop..MarginLeft are in millimetres.
	MarginTop, MarginRight, MarginBottom, MarginLeft float64

	// PageWidth and PageHeight are a custom paper size in millimetres
	// (both or neither, each 10..5000); they override PageSize.
	PageWidth, PageHeight float64
	// Scale scales the page's rendering, 0.1..2; 0 means 1.
	Scale float64
	// PageRanges prints only these pages, like "1-3, 5" (1-based); ""
	// prints all. Pages beyond the document are ErrBadRequest.
	PageRanges string
	// ShowHeader and ShowFooter print a header / footer on every page:
	// HeaderTemplate / FooterTemplate, or Chromium's (date and title /
	// URL and page numbers) when empty. Templates are HTML whose elements
	// of class date, title, url, pageNumber and totalPages get those
	// values; leave room for them with the margins.
	ShowHeader, ShowFooter         bool
	HeaderTemplate, FooterTemplate string
	// Media is the CSS media type printed: "" or "print" (the default),
	// or "screen".
	Media string

	// Options of #16 (urlcapture.go's PDF part, urlpdffit.go).

	// FitToPage scales the page down (at most to 0.1) so the whole
	// document fits on one page of the paper size.
	FitToPage bool
	// AutoCrop prints one page exactly as big as the page's content (its
	// elements' extent from the top left), with no margins, so there is
	// no blank paper around it.
	AutoCrop bool
	// DPI is how many CSS pixels make an inch of paper, 48..960; 0 means
	// 96 (CSS's own). It multiplies Scale by 96/DPI.
	DPI float64
	// HeaderHeight and FooterHeight reserve this many millimetres (0..200)
	// at the top / bottom of every page for the header and footer: the
	// margin there is at least this.
	HeaderHeight, FooterHeight float64
	// ShowPageNumbers prints "page / pages" centred at the foot of every
	// page (after FooterTemplate when there is one).
	ShowPageNumbers bool
}

// URLRequest is one render of a client's URL or HTML (exactly one of them).
// Every such render runs in a fresh incognito browser context whose every
// request passes the egress guard.
type URLRequest struct {
	URL  string
	HTML string

	Format Format
	// Width and Height are the viewport in CSS pixels; 0 means 1280×1024.
	Width, Height int
	// FullPage captures the whole page height (at most 16384 CSS px) at
	// the viewport's width.
	FullPage bool
	// FullWidth, with FullPage, captures the page's whole width too
	// (at most the maximum dimension) rather than the viewport's.
	FullWidth bool
	// ScrollIncrement, with FullPage, scrolls the page down this many CSS
	// pixels at a time (waiting ScrollDelay, 0..maxScrollDelay, after each
	// step) to the bottom and back before capture, so content loaded on
	// scroll is there; 0 (the default, Urlbox's skip_scroll) does not
	// scroll. At most maxScrollSteps steps.
	ScrollIncrement int
	ScrollDelay     time.Duration
	// MaxHeight caps a FullPage capture's height in CSS pixels; 0 means
	// the 16384 px limit only.
	MaxHeight int
	// ThumbWidth and ThumbHeight scale the capture down (never up) to a
	// thumbnail of this many output pixels; Chromium draws it at that
	// scale, so it is sharp and any format works. With one of them the
	// other follows the aspect ratio; with both the width sets the scale
	// and the height crops (from the top). 0 means no thumbnail.
	ThumbWidth, ThumbHeight int
	// Selector crops the capture to the first matching element.
	Selector string
	// Clip captures this rectangle of the page; not with Selector.
	Clip *Clip
	// Retina renders at device scale factor 2.
	Retina bool
	// Quality is 1..100 for jpeg/webp; 0 means 90.
	Quality int
	// Transparent makes the default white background transparent (png and
	// webp; jpeg has no alpha).
	Transparent bool

	// Delay waits this long after navigation before capturing.
	Delay time.Duration
	// WaitFor waits for a selector to be present before capturing.
	WaitFor string
	// WaitToLeave waits, after WaitFor, until no element matches this
	// selector (a spinner, a loading overlay).
	WaitToLeave string
	// WaitTimeout bounds each of the WaitFor and WaitToLeave waits, which
	// fail with ErrSelectorNotFound when it runs out; 0 means only the
	// render's timeout bounds them.
	WaitTimeout time.Duration
	// SkipWaitForImages captures without waiting for images to load and
	// decode (web fonts still get a moment).
	SkipWaitForImages bool
	// FailIfSelectorMissing fails the render with ErrSelectorMissing when
	// no element matches it once the page is ready.
	FailIfSelectorMissing string
	// FailIfSelectorPresent fails the render with ErrSelectorPresent when
	// an element matches it once the page is ready.
	FailIfSelectorPresent string
	// FailIfCaptcha fails the render with ErrCaptcha when the ready page
	// shows a reCAPTCHA, hCaptcha or Cloudflare Turnstile widget (or
	// challenge) (urlcaptcha.go).
	FailIfCaptcha bool
	// WaitUntil is when the page counts as loaded; "" means WaitLoaded.
	WaitUntil WaitUntil
	// Timeout bounds the whole render (navigation to bytes); 0 means the
	// pool's render timeout.
	Timeout time.Duration

	// DarkMode emulates prefers-color-scheme: dark.
	DarkMode bool
	// CSS is added as a style element after load.
	CSS string
	// JS runs after load (and CSS), before wait_for and capture; a returned
	// promise is awaited, and a throw fails the render with ErrPageScript.
	JS        string
	UserAgent string
	// Headers are extra request headers for the main frame and subresources.
	Headers map[string]string
	// Cookies are set for URL's origin before navigating; HTML renders
	// have no origin and ignore them.
	Cookies []Cookie

	FailOn4xx, FailOn5xx bool
	// BlockAds blocks requests matching the bundled ad/tracker blocklist.
	BlockAds bool

	// Cleanup and request options (urlextra.go).

	// HideSelector lists CSS selectors whose elements are hidden
	// (display: none) before capture; at most MaxSelectors.
	HideSelector []string
	// BlockURLs lists URL patterns ('*' matches anything) never fetched,
	// like BlockAds; at most MaxBlockURLs. Blocked requests are in
	// URLResult.Blocked.
	BlockURLs []string
	// BlockResources lists resource types never fetched (see
	// ResourceTypes); the main document cannot be blocked.
	BlockResources []ResourceType
	// DisableJS turns the page's own scripts off (the request's JS and
	// the renderer's own probes still run).
	DisableJS bool
	// PressEscape presses the Escape key once the page has loaded (after
	// JS), to close modals.
	PressEscape bool
	// AcceptLanguage is sent as the Accept-Language header; "" leaves
	// Chromium's.
	AcceptLanguage string
	// Timezone is an IANA zone ("Europe/Paris") the page sees; "" leaves
	// the host's. An unknown zone is ErrBadRequest.
	Timezone string
	// Referer is sent as the main frame's Referer header; "" sends none.
	Referer string
	// Authorization is sent as the Authorization header with requests to
	// URL's origin (scheme, host and port) only, never to other hosts;
	// HTML renders have no origin and ignore it.
	Authorization string
	// Geolocation is the position the page's navigator.geolocation
	// reports, with the permission granted; nil leaves it unavailable.
	Geolocation *Geolocation

	// Interaction options (urlinteract.go), applied after JS, in this
	// order.

	// Click clicks the first element matching each selector, in order;
	// at most MaxSelectors.
	Click []string
	// ClickAll clicks every element (at most maxClickAll) matching each
	// selector; at most MaxSelectors.
	ClickAll []string
	// Highlight marks every occurrence of these words (case-insensitive)
	// in the page's text, in HighlightFg on HighlightBg (any CSS colour;
	// "" means white on red).
	Highlight                string
	HighlightFg, HighlightBg string
	// BgColor is a CSS colour painted behind the page (html and body).
	BgColor string
	// DisableAnimations turns CSS animations and transitions off.
	DisableAnimations bool
	// ReducedMotion emulates prefers-reduced-motion: reduce.
	ReducedMotion bool
	// ScrollTo scrolls the window before capture: a number of CSS pixels
	// down, or a selector to scroll into view.
	ScrollTo string
	// Hover moves the mouse over the centre of the first element matching
	// this selector, last, so :hover styles show in the capture.
	Hover string

	// Capture options of #16 (urlcapture.go): fitting, padding, cropping,
	// stitching, lazy content and the watermark.

	// ImgFit, with both ThumbWidth and ThumbHeight, is how the capture
	// fits that box (see ImgFit); "" keeps the thumbnail's own rule.
	ImgFit ImgFit
	// ImgPosition is where cover crops from and contain places the
	// capture (see ImgPositions); "" means the centre.
	ImgPosition string
	// ImgBg is the colour of contain's and ImgPad's padding (see
	// ParseColour); "" means white.
	ImgBg string
	// ImgPad adds this many output pixels around the image: top, right,
	// bottom, left, each 0..MaxImgPad.
	ImgPad [4]int
	// MaxWidth caps a FullWidth capture's width in CSS pixels; 0 means
	// the maximum dimension only.
	MaxWidth int
	// CropWidth crops the capture to at most this many CSS pixels wide,
	// from its left, before any thumbnail; 0 does not crop.
	CropWidth int
	// FullPageMode is how a FullPage capture is taken: "" or
	// FullPageNative in one shot, FullPageStitch in sections of
	// MaxSectionHeight CSS pixels (0: the viewport's height), each
	// scrolled into view, joined into one image.
	FullPageMode     FullPageMode
	MaxSectionHeight int
	// DetectFullHeight, with FullPage, unrolls the page's largest
	// scrolling element (an app shell of 100vh with its own scrollbar) so
	// its whole content is captured.
	DetectFullHeight bool
	// AllowInfinite lets the scroll through the page (ScrollIncrement or
	// LazyLoad) go on while the page keeps growing, up to MaxHeight (or
	// the 16384 px limit), maxScrollSteps and the render's deadline;
	// without it the scroll stops at the height the page had before it.
	AllowInfinite bool
	// LazyLoad makes lazy images and frames eager and scrolls through the
	// page a viewport (or ScrollIncrement) at a time before capture, so
	// content loaded when it comes into view is there.
	LazyLoad bool
	// Watermark, when its Text or ImageURL is set, is drawn on the
	// captured image (not on PDFs).
	Watermark Watermark
	// mark is Watermark.ImageURL's image, fetched by RenderURL.
	mark image.Image

	// Full-page, wait and engine options of #16, part 3 (urlcapture3.go).

	// FreezeFixed, with FullPage, turns fixed elements into absolute ones
	// where they are at the top, and sticky ones into static, so they
	// are drawn once and not again in every section scrolled to.
	FreezeFixed bool
	// SharpStitch, for a stitched capture at a scale (a thumbnail),
	// captures and joins the sections at full resolution and scales the
	// joined image in Go, so the seams are resampled like the rest rather
	// than each section drawn at its own fractional offset.
	SharpStitch bool
	// ShowSections outlines each section of a stitched capture in
	// magenta; ShowSeams draws a red line where two sections meet.
	ShowSections, ShowSeams bool
	// WidthFrom and HeightFrom set the viewport's width / height to the
	// first matching element's, once the page has loaded (each at most
	// the maximum dimension).
	WidthFrom, HeightFrom string
	// MaxSectionWidth, with FullWidth and FullPageStitch, cuts the
	// sections this many CSS px wide (0: the viewport's width); without
	// it a section is the capture's whole width.
	MaxSectionWidth int
	// MaxSections and MaxXSections cap a stitched capture's rows and
	// columns of sections (0: as many as the page needs, at most
	// maxStitchSections in all); the capture ends at the last one.
	MaxSections, MaxXSections int
	// MaxScrollTime bounds the scroll through the page (ScrollIncrement,
	// LazyLoad); when it runs out the scroll stops and the capture goes
	// on. 0 means the render's timeout only.
	MaxScrollTime time.Duration
	// ScrollHeight stops the scroll through the page this many CSS px
	// down (0: the page's bottom, or MaxHeight).
	ScrollHeight int
	// Optimise re-encodes a png losslessly as small as it goes: a
	// palette when the image has at most 256 colours, the best deflate.
	Optimise bool
	// SkipFinalDelay skips the ScrollDelay after the scroll's last step
	// (not AllowInfinite's wait for the page to grow).
	SkipFinalDelay bool
	// SkipWait captures as soon as navigation has reached WaitUntil,
	// without waiting for the page to settle (images decoded, fonts,
	// frames).
	SkipWait bool
	// Turbo captures at DOMContentLoaded and does not wait for images
	// (WaitUntil WaitDOMLoaded and SkipWaitForImages).
	Turbo bool
	// Lightweight blocks the heavy resources that seldom change a
	// capture: media (audio, video) and web fonts.
	Lightweight bool

	PDF PDFOptions

	// Extract asks for the page's HTML, MHTML, Markdown or metadata besides
	// the file (urlextract.go); they come back in Result.Extracted.
	Extract Extract
	// Video is the mp4 and webm formats' scroll and encoding (urlvideo.go).
	Video VideoOptions
	// Page cleanup, navigation and proxy options (#16: urlcleanup.go,
	// urlnav.go). Kept in one block.

	// HideCookieBanners hides consent banners: the elements the bundled
	// autoconsent rules know for the page's consent platform, from the
	// document's start, without answering them.
	HideCookieBanners bool
	// ClickAccept accepts the page's consent banner (the autoconsent
	// rules' opt-in steps), waiting for it once the page has loaded.
	ClickAccept bool
	// KillPopups removes modal overlays: dialogs marked modal, and fixed
	// elements stacked above the page that cover much of the viewport;
	// the page may scroll again.
	KillPopups bool
	// HideAds hides ad slots (ad-network containers and frames; see
	// adSelectors).
	HideAds bool
	// HideChats hides chat widgets (see chatSelectors).
	HideChats bool
	// Readable replaces the page by its article, as Firefox's reader
	// view (Mozilla Readability) extracts it, before css and js apply.
	// A page without an article is left as it is.
	Readable bool
	// RetryOnNavError retries the navigation, up to navRetries times,
	// when it fails with a network error (not a refusal).
	RetryOnNavError bool
	// ContinueOnNavError captures what the tab shows (the browser's error
	// page) when the navigation fails with a network error, instead of
	// failing with ErrNavigation.
	ContinueOnNavError bool
	// Proxy is an upstream HTTP proxy, "http://[user:pass@]host:port",
	// that the render's connections go through after the egress proxy;
	// its address passes the egress guard.
	Proxy string
	// Platform is what navigator.platform reports ("" leaves Chromium's).
	Platform string

	// Page-behaviour options of #16 (urlpage.go). The *X fields are the
	// XPath variants of the selector options above, with their bounds;
	// each applies right after its CSS counterpart.

	HideSelectorX []string
	WaitForX      string
	WaitToLeaveX  string
	ClickX        []string
	ClickAllX     []string
	HoverX        string
	ScrollToX     string
	// AcceptDialogs accepts alert, confirm and prompt dialogs (a prompt
	// gets its default text); without it they are dismissed (confirm
	// returns false, prompt null) so they never stall the render.
	AcceptDialogs bool
	// DisableEvents are DOM event types the page's listeners never see
	// (at most MaxDisableEvents).
	DisableEvents []string
	// DisableLigatures turns font ligatures off (ffi stays three letters).
	DisableLigatures bool
	// DisableMQL makes matchMedia's change listeners never fire.
	DisableMQL bool
	// BaseURL, for an HTML render, is where the HTML's relative URLs
	// resolve (a base element put first); an absolute http(s) URL that
	// passes the egress guard, like every fetch (urlhtml.go).
	BaseURL string
	// UseTailwind runs Tailwind CSS's browser build (embedded, never
	// fetched) in an HTML render once it has loaded, before CSS and JS.
	UseTailwind bool
	// (Urlbox's disable_resize needs no field: a FullPage capture never
	// resizes the viewport, see TestRenderURLPageBehaviour.)

	// SpaceID is the tenant the render is for; it decides only whose turn
	// it is when renders wait for a slot (see Config.SpaceMaxConcurrent).
	// It is no render option, so it is not serialised with them.
	SpaceID string `json:"-"`
}

// viewport is the page size and scale req renders at (after withDefaults).
func (r URLRequest) viewport() viewport {
	scale := 1.0
	if r.Retina {
		scale = retinaScale
	}
	return viewport{r.Width, r.Height, scale}
}

// URLResult is a finished URL render.
type URLResult struct {
	Result
	// Status is the main frame's HTTP status (0 for HTML renders).
	Status int
	// FinalURL is the main frame's URL after redirects.
	FinalURL string
	// Blocked lists subresource URLs the egress guard or the ad blocklist
	// refused; the render went on without them.
	Blocked []string
}
