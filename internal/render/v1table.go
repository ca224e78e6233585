package render

import (
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// OptionType is the type a v1 option takes in a JSON body. In a query
// (signed links) every value is text, parsed as the type says.
type OptionType string

// The v1 option types.
const (
	// TypeString is a string of at most Max bytes; with Enum, one of those.
	TypeString OptionType = "string"
	// TypeBoolean is true or false (in a query also "", "1", "0"; an
	// option given without a value is true).
	TypeBoolean OptionType = "boolean"
	// TypeInteger is a whole number from Min to Max (JSON number or its text).
	TypeInteger OptionType = "integer"
	// TypeNumber is a number from Min to Max (JSON number or its text).
	TypeNumber OptionType = "number"
	// TypeStrings is a string or an array of at most MaxItems strings of
	// at most Max bytes each; in a query the option may repeat.
	TypeStrings OptionType = "strings"
	// TypeRect is a rectangle in CSS px: "x,y,width,height" or an object
	// {x, y, width, height}.
	TypeRect OptionType = "rect"
	// TypeObject is a JSON object (in a query, its JSON text).
	TypeObject OptionType = "object"
)

// Family groups the v1 options by what they are about, as Urlbox's
// documentation does.
type Family string

// The v1 option families.
const (
	FamilySource      Family = "source"
	FamilyOutput      Family = "output"
	FamilyCapture     Family = "capture"
	FamilyWaits       Family = "waits"
	FamilyInteraction Family = "interaction"
	FamilyRequest     Family = "request"
	FamilyCleanup     Family = "cleanup"
	FamilyPDF         Family = "pdf"
	FamilyWebhooks    Family = "webhooks"
	FamilyCache       Family = "cache"
	FamilyExtraction  Family = "extraction"
	FamilyStorage     Family = "storage"
	FamilyVideo       Family = "video"
	FamilyEngine      Family = "engine"
)

// OptionSpec describes one v1 option: what the parser accepts, and what
// the README's option reference and the OpenAPI schema say. Type, Min,
// Max, MaxItems, Default and Enum are set for supported options only.
type OptionSpec struct {
	Name string
	Type OptionType
	// Min and Max bound a number or an integer, in the unit Doc names;
	// for strings, Max is the most bytes a string may have.
	Min, Max float64
	// MaxItems bounds the entries of a TypeStrings option.
	MaxItems int
	// Default is what an absent option is parsed as; nil when the option
	// is then simply unset (Doc says what that means).
	Default any
	// Enum lists the values a TypeString option may take.
	Enum   []string
	Family Family
	// Doc is one line on what the option does.
	Doc string
	// Supported is false for Urlbox options renderhook knows of but does
	// not implement: naming one is a 400 that says so.
	Supported bool
	// Refusal, on an unsupported option renderhook will not implement,
	// says why; the 400 and the README give it.
	Refusal string
}

// V1Options returns the v1 option table, in the order options are
// parsed (which decides which error a request with several gets). The
// slice is a copy: changing it changes nothing.
func V1Options() []OptionSpec {
	out := make([]OptionSpec, len(v1Table))
	for i, o := range v1Table {
		out[i] = o.OptionSpec
		out[i].Enum = append([]string(nil), o.Enum...)
	}
	return out
}

// v1Option is one row of the table: its spec and how a value is applied.
type v1Option struct {
	OptionSpec
	// enumErr is the message for a value outside Enum (after `option
	// "name"`); a %q in it gets the value. Empty: "must be a, b or c".
	enumErr string
	// norm, when set, is applied to the value and to each Enum entry
	// before they are compared (case-insensitive values).
	norm func(string) string
	// set applies a value read and checked as Type says: a string (one
	// of Enum, as given), bool, int, float64, []string, or the raw value
	// for TypeRect and TypeObject.
	set func(st *v1State, v any) error
	// then checks, once this option is read and nothing failed so far,
	// what involves the options read up to here.
	then func(st *v1State) error
}

// v1State is a parse in progress.
type v1State struct {
	o *URLOptions
	r *browser.URLRequest
	// pathFormat is the format segment of a signed link's path ("" for
	// POST bodies).
	pathFormat      string
	url, html       string
	hasURL, hasHTML bool
	// pdfOption is the first pdf family option given ("" for none).
	pdfOption string
	// videoOption is the first video option given ("" for none).
	videoOption string
	// latGiven, lonGiven: latitude, longitude was given.
	latGiven, lonGiven bool
	// legacyEcho: webhook_metadata was given as an object named metadata
	// (legacyEcho).
	legacyEcho bool
}

// Setters for options that only store their value.
func setString(f func(o *URLOptions, s string)) func(*v1State, any) error {
	return func(st *v1State, v any) error { f(st.o, v.(string)); return nil }
}

func setBool(f func(o *URLOptions, b bool)) func(*v1State, any) error {
	return func(st *v1State, v any) error { f(st.o, v.(bool)); return nil }
}

func setInt(f func(o *URLOptions, n int)) func(*v1State, any) error {
	return func(st *v1State, v any) error { f(st.o, v.(int)); return nil }
}

// setParsed stores what parse makes of the value, and returns its refusal.
func setParsed[T any](parse func(any) (T, error), f func(st *v1State, v T)) func(*v1State, any) error {
	return func(st *v1State, v any) error {
		p, err := parse(v)
		f(st, p)
		return err
	}
}

// ms is an integer option in milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// pdfPageSizes are the pdf_page_size values.
var pdfPageSizes = []string{"A0", "A1", "A2", "A3", "A4", "A5", "A6", "Letter", "Legal", "Tabloid", "Ledger"}

// PDF margins for pdf_margin's named values, in millimetres.
const (
	pdfMarginDefault = 10.0
	pdfMarginMinimum = 5.0
)

var formatErr = "%q is not one of png, jpeg, jpg, webp, avif, pdf, html, mhtml, md, mp4, webm"

// v1Table is every v1 option, supported and not, in parse order.
var v1Table = slices.Concat(v1CoreRows, v1URLBoxRows, v1ExtractRows, v1CleanupNavRows, v1CaptureFitRows, v1CaptureTuningRows, v1StorageRows, v1VideoRows, v1AroundRows, v1WireRows, v1NoUploadRows, v1EngineRows, v1MarkRows, v1XPathRows, v1SDKRefusedRows)

// v1CoreRows are the source, output, capture, wait, request and PDF
// options renderhook had before #16.
var v1CoreRows = []v1Option{
	// Source: exactly one of url and html.
	{OptionSpec: OptionSpec{Name: "url", Type: TypeString, Max: 8192, Family: FamilySource, Supported: true,
		Doc: "The page to render; without a scheme it gets https://. Exactly one of url and html."},
		set: func(st *v1State, v any) error { st.url, st.hasURL = v.(string), true; return nil }},
	{OptionSpec: OptionSpec{Name: "html", Type: TypeString, Max: 5 << 20, Family: FamilySource, Supported: true,
		Doc: "HTML to render instead of a url."},
		set:  func(st *v1State, v any) error { st.html, st.hasHTML = v.(string), true; return nil },
		then: checkSource},

	{OptionSpec: OptionSpec{Name: "format", Type: TypeString, Max: 16, Default: "png", Enum: []string{"png", "jpeg", "jpg", "webp", "avif", "pdf", "html", "mhtml", "md", "mp4", "webm"},
		Family: FamilyOutput, Supported: true, Doc: "The file's format; a signed link's path gives it, and the option must agree."},
		enumErr: formatErr, norm: func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }, set: setFormat},
	{OptionSpec: OptionSpec{Name: "width", Type: TypeInteger, Min: 1, Max: maxV1Dimension, Default: DefaultV1Width, Family: FamilyCapture,
		Supported: true, Doc: "Viewport width in CSS px."},
		set: setInt(func(o *URLOptions, n int) { o.Request.Width = n })},
	{OptionSpec: OptionSpec{Name: "height", Type: TypeInteger, Min: 1, Max: maxV1Dimension, Default: DefaultV1Height, Family: FamilyCapture,
		Supported: true, Doc: "Viewport height in CSS px."},
		set: setInt(func(o *URLOptions, n int) { o.Request.Height = n })},
	reqBool("full_page", FamilyCapture, "Capture the whole page (at most 16384 px high) at the viewport's width.",
		func(r *browser.URLRequest, b bool) { r.FullPage = b }),
	reqString("selector", FamilyCapture, maxV1Short, "Capture only the first element matching this CSS selector.", nil,
		func(r *browser.URLRequest, s string) { r.Selector = s }),
	{OptionSpec: OptionSpec{Name: "clip", Type: TypeRect, Family: FamilyCapture, Supported: true,
		Doc: "Capture this rectangle of the page, in whole CSS px; not with selector."},
		set: setParsed(parseClip, func(st *v1State, c *browser.Clip) { st.r.Clip = c })},
	reqBool("retina", FamilyCapture, "Render at device scale factor 2.",
		func(r *browser.URLRequest, b bool) { r.Retina = b }),
	{OptionSpec: OptionSpec{Name: "quality", Type: TypeInteger, Min: 1, Max: 100, Family: FamilyOutput, Supported: true,
		Doc: "Image quality of jpeg and webp (default 90) and avif (default 60)."},
		set: func(st *v1State, v any) error {
			if f := st.r.Format; f != browser.FormatJPEG && f != browser.FormatWebP && f != browser.FormatAVIF {
				return optErr("quality", "applies to jpeg, webp and avif only, not %s", st.r.Format)
			}
			st.r.Quality = v.(int)
			return nil
		}},
	{OptionSpec: OptionSpec{Name: "transparent", Type: TypeBoolean, Default: false, Family: FamilyOutput, Supported: true,
		Doc: "Make the default white background transparent (png and webp)."},
		set: func(st *v1State, v any) error {
			b := v.(bool)
			if b && st.r.Format != browser.FormatPNG && st.r.Format != browser.FormatWebP {
				return optErr("transparent", "applies to png and webp only, not %s", st.r.Format)
			}
			st.r.Transparent = b
			return nil
		}},
	reqInt("delay", FamilyWaits, 0, int(maxV1Delay/time.Millisecond), "Wait this many ms after the page has loaded before capturing.",
		func(r *browser.URLRequest, n int) { r.Delay = ms(n) }),
	reqString("wait_for", FamilyWaits, maxV1Short, "Wait until an element matches this CSS selector.", nil,
		func(r *browser.URLRequest, s string) { r.WaitFor = s }),
	{OptionSpec: OptionSpec{Name: "wait_until", Type: TypeString, Max: 32, Family: FamilyWaits, Supported: true,
		Enum: []string{string(browser.WaitDOMLoaded), string(browser.WaitLoaded), string(browser.WaitRequestsFinished), string(browser.WaitMostRequestsFinished)},
		Doc:  "When the page counts as loaded (default loaded): DOMContentLoaded, load, or no (at most 2) requests in flight for 500 ms."},
		set: setString(func(o *URLOptions, s string) { o.Request.WaitUntil = browser.WaitUntil(s) })},
	reqInt("timeout", FamilyWaits, int(minV1Timeout/time.Millisecond), int(MaxV1Timeout/time.Millisecond),
		"Bound on the whole render in ms (default --render-timeout; async renders are cut to their job's limit, 2 × --render-timeout).",
		func(r *browser.URLRequest, n int) { r.Timeout = ms(n) }),
	reqBool("dark_mode", FamilyInteraction, "Emulate prefers-color-scheme: dark.",
		func(r *browser.URLRequest, b bool) { r.DarkMode = b }),
	reqString("css", FamilyInteraction, maxV1Text, "CSS added to the page after it has loaded.", nil,
		func(r *browser.URLRequest, s string) { r.CSS = s }),
	reqString("js", FamilyInteraction, maxV1Text, "JavaScript run after load (and css), before wait_for; a returned promise is awaited, a throw fails the render.", nil,
		func(r *browser.URLRequest, s string) { r.JS = s }),
	{OptionSpec: OptionSpec{Name: "user_agent", Type: TypeString, Max: maxV1Short, Family: FamilyRequest, Supported: true,
		Doc: "The User-Agent the page's requests send (one line)."},
		set: func(st *v1State, v any) error {
			s := v.(string)
			if strings.ContainsAny(s, "\r\n") {
				return optErr("user_agent", "must be one line")
			}
			st.r.UserAgent = s
			return nil
		}},
	{OptionSpec: OptionSpec{Name: "header", Type: TypeStrings, Max: maxV1Short, MaxItems: maxV1ListItems, Family: FamilyRequest, Supported: true,
		Doc: "Request headers as \"Name: value\", sent with the page's requests (not Host, Cookie or hop-by-hop headers)."},
		set: setHeaders},
	{OptionSpec: OptionSpec{Name: "cookie", Type: TypeStrings, Max: maxV1Short, MaxItems: maxV1ListItems, Family: FamilyRequest, Supported: true,
		Doc: "Cookies as \"name=value\", set for the url's origin before navigating (url renders only)."},
		set: setCookies},
	reqBool("fail_on_4xx", FamilyWaits, "Fail the render when the page answers 4xx.",
		func(r *browser.URLRequest, b bool) { r.FailOn4xx = b }),
	reqBool("fail_on_5xx", FamilyWaits, "Fail the render when the page answers 5xx.",
		func(r *browser.URLRequest, b bool) { r.FailOn5xx = b }),
	reqBool("block_ads", FamilyCleanup, "Block requests to the bundled list of ad and tracker hosts.",
		func(r *browser.URLRequest, b bool) { r.BlockAds = b }),

	// PDF options: format pdf only.
	{OptionSpec: OptionSpec{Name: "pdf_page_size", Type: TypeString, Max: 16, Enum: pdfPageSizes, Family: FamilyPDF, Supported: true,
		Doc: "Paper size (default: the viewport's size)."},
		enumErr: "must be A0–A6, Letter, Legal, Tabloid or Ledger", norm: strings.ToLower,
		set: setString(func(o *URLOptions, s string) {
			for _, e := range pdfPageSizes {
				if strings.EqualFold(e, s) {
					o.Request.PDF.PageSize = e // as Chromium spells it
				}
			}
		})},
	reqBool("pdf_landscape", FamilyPDF, "Landscape pages.",
		func(r *browser.URLRequest, b bool) { r.PDF.Landscape = b }),
	{OptionSpec: OptionSpec{Name: "pdf_background", Type: TypeBoolean, Default: true, Family: FamilyPDF, Supported: true,
		Doc: "Print background colours and images."},
		set: setBool(func(o *URLOptions, b bool) { o.Request.PDF.Background = b })},
	{OptionSpec: OptionSpec{Name: "pdf_margin", Type: TypeString, Max: 16, Enum: []string{"none", "default", "minimum"}, Family: FamilyPDF,
		Supported: true, Doc: "All four margins: none (the default), default (10 mm) or minimum (5 mm); pdf_margin_* override single sides."},
		enumErr: "must be none, default or minimum (or use pdf_margin_top etc. in mm)",
		set: func(st *v1State, v any) error {
			mm := map[string]float64{"none": 0, "default": pdfMarginDefault, "minimum": pdfMarginMinimum}[v.(string)]
			p := &st.r.PDF
			p.MarginTop, p.MarginRight, p.MarginBottom, p.MarginLeft = mm, mm, mm, mm
			return nil
		}},
	{OptionSpec: OptionSpec{Name: "pdf_margin_unit", Type: TypeString, Max: 8, Enum: []string{"mm"}, Family: FamilyPDF, Supported: true,
		Doc: "The margins' unit: only mm."},
		enumErr: "must be mm (renderhook takes margins in millimetres only)",
		set:     func(*v1State, any) error { return nil }},
	reqNumber("pdf_margin_top", FamilyPDF, 0, 100, "Top margin in mm.",
		func(st *v1State, f float64) { st.r.PDF.MarginTop = f }),
	reqNumber("pdf_margin_right", FamilyPDF, 0, 100, "Right margin in mm.",
		func(st *v1State, f float64) { st.r.PDF.MarginRight = f }),
	reqNumber("pdf_margin_bottom", FamilyPDF, 0, 100, "Bottom margin in mm.",
		func(st *v1State, f float64) { st.r.PDF.MarginBottom = f }),
	reqNumber("pdf_margin_left", FamilyPDF, 0, 100, "Left margin in mm.",
		func(st *v1State, f float64) { st.r.PDF.MarginLeft = f }),
}

// v1AroundRows are the webhook and cache options, and the Urlbox options
// renderhook refuses.
var v1AroundRows = []v1Option{

	// What happens around the render; none of these changes the file, so
	// the cache key leaves them out.
	{OptionSpec: OptionSpec{Name: "webhook_url", Type: TypeString, Max: 2048, Family: FamilyWebhooks, Supported: true,
		Doc: "Where to POST render.succeeded or render.failed, signed like every webhook."},
		set: setString(func(o *URLOptions, s string) { o.WebhookURL = s })},
	{OptionSpec: OptionSpec{Name: "ttl", Type: TypeInteger, Min: 0, Max: float64(MaxV1TTL / time.Second), Family: FamilyCache, Supported: true,
		Doc: "Seconds an identical earlier render may answer this request from the cache (default: none for POST, 30 days for signed links)."},
		set: setInt(func(o *URLOptions, n int) { o.TTL, o.TTLSet = time.Duration(n)*time.Second, true })},
	{OptionSpec: OptionSpec{Name: "force", Type: TypeBoolean, Default: false, Family: FamilyCache, Supported: true,
		Doc: "Render afresh even when the cache could answer."},
		set: setBool(func(o *URLOptions, b bool) { o.Force = b })},

	// Urlbox options renderhook does not support (yet): a clear 400.
	unsupported("clip_rect", FamilyCapture, "Urlbox's older name for a clip rectangle."),
}

// unsupported is a Urlbox option renderhook does not implement.
func unsupported(name string, f Family, doc string) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Family: f, Doc: doc}}
}

// v1Index finds a table row by name.
var v1Index = func() map[string]*v1Option {
	m := make(map[string]*v1Option, len(v1Table))
	for i := range v1Table {
		m[v1Table[i].Name] = &v1Table[i]
	}
	return m
}()

// checkSource: exactly one of url and html, not empty. Then the format
// is the link's path's, when it has one.
func checkSource(st *v1State) error {
	r := st.r
	switch {
	case st.hasURL && st.hasHTML:
		return errorf("give option \"url\" or option \"html\", not both")
	case st.hasURL:
		u := strings.TrimSpace(st.url)
		if u == "" {
			return optErr("url", "must not be empty")
		}
		if !strings.Contains(u, "://") {
			u = "https://" + u // Urlbox accepts "example.com"
		}
		r.URL = u
	case st.hasHTML:
		if strings.TrimSpace(st.html) == "" {
			return optErr("html", "must not be empty")
		}
		r.HTML = st.html
	default:
		return errorf("option \"url\" or option \"html\" is required")
	}
	if st.pathFormat != "" {
		f, err := browser.ParseURLFormat(st.pathFormat)
		if err != nil {
			return optErr("format", formatErr, truncate(st.pathFormat))
		}
		r.Format = f
	}
	return nil
}

// setFormat applies the format option, which must agree with the link's
// path when it has a format.
func setFormat(st *v1State, v any) error {
	f, _ := browser.ParseURLFormat(v.(string)) // one of Enum
	if st.pathFormat != "" && f != st.r.Format {
		return optErr("format", "%q contradicts the format in the link's path", truncate(v.(string)))
	}
	st.r.Format = f
	return nil
}

// checkCombinations refuses options that exclude each other.
func checkCombinations(st *v1State) error {
	r := st.r
	switch {
	case r.Clip != nil && r.Selector != "":
		return errorf("option \"clip\" cannot be combined with option \"selector\"")
	case len(r.Cookies) > 0 && r.HTML != "":
		return errorf("option \"cookie\" needs a url: an html render has no origin to set cookies for")
	case st.pdfOption != "" && r.Format != browser.FormatPDF:
		return optErr(st.pdfOption, "applies to format pdf only, not %s", r.Format)
	}
	return checkURLBoxCombinations(st)
}

// forbiddenHeaders are request headers a client may not set: the browser
// owns them, and cookies go through the cookie option.
var forbiddenHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Connection": true, "Transfer-Encoding": true, "Upgrade": true,
	"Keep-Alive": true, "Te": true, "Trailer": true, "Proxy-Authorization": true, "Cookie": true,
}

func setHeaders(st *v1State, v any) error {
	for _, line := range v.([]string) {
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !ok || !validHeaderName(name):
			return optErr("header", "entries must look like \"Name: value\"")
		case strings.ContainsAny(value, "\r\n\x00"):
			return optErr("header", "values must be one line")
		case forbiddenHeaders[key]:
			return optErr("header", "may not set %s (use the cookie option for cookies)", key)
		}
		if st.r.Headers == nil {
			st.r.Headers = map[string]string{}
		}
		st.r.Headers[key] = value
	}
	return nil
}

func setCookies(st *v1State, v any) error {
	for _, c := range v.([]string) {
		name, value, ok := strings.Cut(c, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, "; \t\r\n\x00") || strings.ContainsAny(value, ";\r\n\x00") {
			return optErr("cookie", "entries must look like \"name=value\"")
		}
		st.r.Cookies = append(st.r.Cookies, browser.Cookie{Name: name, Value: value})
	}
	return nil
}
