package render

// The 256-line parseV1 the option table replaced, kept to check that the
// table parser accepts, builds and refuses exactly as it did
// (TestV1TableMatchesLegacy, FuzzV1TableMatchesLegacy).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// legacyUnsupported are Urlbox options renderhook knows of but does not
// implement; naming them gets a clearer message than "unknown".
var legacyUnsupported = map[string]bool{
	"thumb_width": true, "thumb_height": true, "response_type": true, "download": true, "use_s3": true, "s3_path": true,
	"s3_bucket": true, "s3_endpoint": true, "s3_region": true, "cdn_host": true, "s3_storageclass": true, "proxy": true,
	"hide_cookie_banners": true, "click_accept": true, "hide_selector": true, "click": true, "click_all": true, "hover": true,
	"scroll_to": true, "bg_color": true, "disable_js": true, "allow_infinite": true, "max_height": true, "max_section_height": true,
	"scroll_increment": true, "scroll_delay": true, "gpu": true, "engine_version": true, "accept_lang": true, "authorization": true,
	"tz": true, "latitude": true, "longitude": true, "accuracy": true, "media": true, "img_fit": true, "img_position": true,
	"img_bg": true, "img_pad": true, "highlight": true, "highlightfg": true, "highlightbg": true, "unique": true, "readable": true,
	"block_urls": true, "block_images": true, "block_fonts": true, "block_medias": true, "block_styles": true, "block_scripts": true,
	"block_frames": true, "block_fetch": true, "block_xhr": true, "block_sockets": true, "hide_ads": true, "hide_chats": true,
	"skip_scroll": true, "save_html": true, "save_mhtml": true, "save_markdown": true, "save_metadata": true, "pdf_page_width": true,
	"pdf_page_height": true, "pdf_scale": true, "pdf_page_range": true, "pdf_show_header": true, "pdf_header": true,
	"pdf_show_footer": true, "pdf_footer": true, "pdf_fit_to_page": true, "pdf_auto_crop": true, "pdf_header_height": true,
	"pdf_footer_height": true, "pdf_show_page_numbers": true, "full_page_mode": true, "full_width": true, "detect_full_height": true,
	"fail_if_selector_missing": true, "fail_if_selector_present": true, "wait_to_leave": true, "wait_timeout": true,
	"platform": true, "video_codec": true, "video_scroll": true, "video_fps": true, "clip_rect": true, "omit_background": true,
}

// legacyPageSizes are the pdf_page_size values, keyed by their lower case.
var legacyPageSizes = map[string]string{
	"a0": "A0", "a1": "A1", "a2": "A2", "a3": "A3", "a4": "A4", "a5": "A5", "a6": "A6",
	"letter": "Letter", "legal": "Legal", "tabloid": "Tabloid", "ledger": "Ledger",
}

// legacyParseV1Body parses the JSON body of POST /v1/render/*. Values may be
// JSON-typed (true, 1280) or strings as in a query ("true", "1280").
func legacyParseV1Body(data []byte) (*URLOptions, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object of options: %s", ErrInvalidOptions, jsonErr(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON body", ErrInvalidOptions)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object of options", ErrInvalidOptions)
	}
	return legacyParseV1(m, "")
}

// legacyParseV1Query parses the query of a signed render link. format comes from
// the link's path; a format option in the query must agree with it.
// header and cookie may repeat; any other repeated option is an error.
func legacyParseV1Query(q url.Values, format string) (*URLOptions, error) {
	m := make(map[string]any, len(q))
	for k, vs := range q {
		switch {
		case len(vs) == 1:
			m[k] = vs[0]
		case k == "header" || k == "cookie":
			arr := make([]any, len(vs))
			for i, v := range vs {
				arr[i] = v
			}
			m[k] = arr
		default:
			return nil, fmt.Errorf("%w: option %q is given more than once", ErrInvalidOptions, truncate(k))
		}
	}
	return legacyParseV1(m, format)
}

// legacyParser reads typed values out of the option map, removing each one it
// reads, so what is left at the end is unknown.
type legacyParser struct {
	m map[string]any
}

func legacyOptErr(name, format string, args ...any) error {
	return fmt.Errorf("%w: option %q %s", ErrInvalidOptions, truncate(name), fmt.Sprintf(format, args...))
}

func (p *legacyParser) take(name string) (any, bool) {
	v, ok := p.m[name]
	delete(p.m, name)
	return v, ok
}

func (p *legacyParser) str(name string, max int) (string, bool, error) {
	v, ok := p.take(name)
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, legacyOptErr(name, "must be a string")
	}
	if len(s) > max {
		return "", false, legacyOptErr(name, "must be at most %d bytes", max)
	}
	return s, true, nil
}

func (p *legacyParser) boolean(name string) (bool, bool, error) {
	v, ok := p.take(name)
	if !ok {
		return false, false, nil
	}
	switch b := v.(type) {
	case bool:
		return b, true, nil
	case string:
		switch strings.ToLower(b) {
		case "", "true", "1":
			return true, true, nil
		case "false", "0":
			return false, true, nil
		}
	}
	return false, false, legacyOptErr(name, "must be true or false")
}

func (p *legacyParser) number(name string, lo, hi float64) (float64, bool, error) {
	v, ok := p.take(name)
	if !ok {
		return 0, false, nil
	}
	var f float64
	var err error
	switch n := v.(type) {
	case json.Number:
		f, err = n.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(n), 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, legacyOptErr(name, "must be a number")
	}
	if f < lo || f > hi {
		return 0, false, legacyOptErr(name, "must be from %g to %g", lo, hi)
	}
	return f, true, nil
}

func (p *legacyParser) integer(name string, lo, hi int) (int, bool, error) {
	f, ok, err := p.number(name, float64(lo), float64(hi))
	if err != nil || !ok {
		return 0, ok, err
	}
	if f != math.Trunc(f) {
		return 0, false, legacyOptErr(name, "must be an integer")
	}
	return int(f), true, nil
}

// list reads an option given as one string or an array of strings.
func (p *legacyParser) list(name string) ([]string, error) {
	v, ok := p.take(name)
	if !ok {
		return nil, nil
	}
	var out []string
	switch x := v.(type) {
	case string:
		out = []string{x}
	case []any:
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				return nil, legacyOptErr(name, "must be a string or an array of strings")
			}
			out = append(out, s)
		}
	default:
		return nil, legacyOptErr(name, "must be a string or an array of strings")
	}
	if len(out) > maxV1ListItems {
		return nil, legacyOptErr(name, "has more than %d entries", maxV1ListItems)
	}
	for _, s := range out {
		if len(s) > maxV1Short {
			return nil, legacyOptErr(name, "entries must be at most %d bytes", maxV1Short)
		}
	}
	return out, nil
}

func legacyParseV1(m map[string]any, pathFormat string) (*URLOptions, error) {
	p := &legacyParser{m: m}
	o := &URLOptions{}
	r := &o.Request
	var err error
	fail := func(e error) bool {
		if e != nil && err == nil {
			err = e
		}
		return err != nil
	}

	// Source: exactly one of url and html.
	u, hasURL, e := p.str("url", 8192)
	fail(e)
	h, hasHTML, e := p.str("html", 5<<20)
	fail(e)
	if err == nil {
		switch {
		case hasURL && hasHTML:
			return nil, fmt.Errorf("%w: give option \"url\" or option \"html\", not both", ErrInvalidOptions)
		case hasURL:
			u = strings.TrimSpace(u)
			if u == "" {
				return nil, legacyOptErr("url", "must not be empty")
			}
			if !strings.Contains(u, "://") {
				u = "https://" + u // Urlbox accepts "example.com"
			}
			r.URL = u
		case hasHTML:
			if strings.TrimSpace(h) == "" {
				return nil, legacyOptErr("html", "must not be empty")
			}
			r.HTML = h
		default:
			return nil, fmt.Errorf("%w: option \"url\" or option \"html\" is required", ErrInvalidOptions)
		}
	}

	// Format: the link's path, the body, or png.
	r.Format = browser.FormatPNG
	if pathFormat != "" {
		f, ferr := browser.ParseFormat(pathFormat)
		if ferr != nil {
			fail(legacyOptErr("format", "%q is not one of png, jpeg, jpg, webp, pdf", truncate(pathFormat)))
		}
		r.Format = f
	}
	if fs, ok, e := p.str("format", 16); !fail(e) && ok {
		f, ferr := browser.ParseFormat(fs)
		switch {
		case ferr != nil:
			fail(legacyOptErr("format", "%q is not one of png, jpeg, jpg, webp, pdf", truncate(fs)))
		case pathFormat != "" && f != r.Format:
			fail(legacyOptErr("format", "%q contradicts the format in the link's path", truncate(fs)))
		default:
			r.Format = f
		}
	}
	isPDF := r.Format == browser.FormatPDF

	r.Width, r.Height = DefaultV1Width, DefaultV1Height
	if n, ok, e := p.integer("width", 1, maxV1Dimension); !fail(e) && ok {
		r.Width = n
	}
	if n, ok, e := p.integer("height", 1, maxV1Dimension); !fail(e) && ok {
		r.Height = n
	}
	if b, _, e := p.boolean("full_page"); !fail(e) {
		r.FullPage = b
	}
	if s, _, e := p.str("selector", maxV1Short); !fail(e) {
		r.Selector = s
	}
	if v, ok := p.take("clip"); ok {
		c, e := parseClip(v)
		if !fail(e) {
			r.Clip = c
		}
	}
	if b, _, e := p.boolean("retina"); !fail(e) {
		r.Retina = b
	}
	if n, ok, e := p.integer("quality", 1, 100); !fail(e) && ok {
		if r.Format != browser.FormatJPEG && r.Format != browser.FormatWebP {
			fail(legacyOptErr("quality", "applies to jpeg and webp only, not %s", r.Format))
		}
		r.Quality = n
	}
	if b, _, e := p.boolean("transparent"); !fail(e) {
		if b && r.Format != browser.FormatPNG && r.Format != browser.FormatWebP {
			fail(legacyOptErr("transparent", "applies to png and webp only, not %s", r.Format))
		}
		r.Transparent = b
	}
	if n, ok, e := p.integer("delay", 0, int(maxV1Delay/time.Millisecond)); !fail(e) && ok {
		r.Delay = time.Duration(n) * time.Millisecond
	}
	if s, _, e := p.str("wait_for", maxV1Short); !fail(e) {
		r.WaitFor = s
	}
	if s, ok, e := p.str("wait_until", 32); !fail(e) && ok {
		switch w := browser.WaitUntil(s); w {
		case browser.WaitDOMLoaded, browser.WaitLoaded, browser.WaitRequestsFinished, browser.WaitMostRequestsFinished:
			r.WaitUntil = w
		default:
			fail(legacyOptErr("wait_until", "must be domloaded, loaded, requestsfinished or mostrequestsfinished"))
		}
	}
	if n, ok, e := p.integer("timeout", int(minV1Timeout/time.Millisecond), int(MaxV1Timeout/time.Millisecond)); !fail(e) && ok {
		r.Timeout = time.Duration(n) * time.Millisecond
	}
	if b, _, e := p.boolean("dark_mode"); !fail(e) {
		r.DarkMode = b
	}
	if s, _, e := p.str("css", maxV1Text); !fail(e) {
		r.CSS = s
	}
	if s, _, e := p.str("js", maxV1Text); !fail(e) {
		r.JS = s
	}
	if s, _, e := p.str("user_agent", maxV1Short); !fail(e) {
		if strings.ContainsAny(s, "\r\n") {
			fail(legacyOptErr("user_agent", "must be one line"))
		}
		r.UserAgent = s
	}
	if hs, e := p.list("header"); !fail(e) {
		for _, line := range hs {
			name, value, ok := strings.Cut(line, ":")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			switch {
			case !ok || !validHeaderName(name):
				fail(legacyOptErr("header", "entries must look like \"Name: value\""))
			case strings.ContainsAny(value, "\r\n\x00"):
				fail(legacyOptErr("header", "values must be one line"))
			case forbiddenHeaders[textproto.CanonicalMIMEHeaderKey(name)]:
				fail(legacyOptErr("header", "may not set %s (use the cookie option for cookies)", textproto.CanonicalMIMEHeaderKey(name)))
			default:
				if r.Headers == nil {
					r.Headers = map[string]string{}
				}
				r.Headers[textproto.CanonicalMIMEHeaderKey(name)] = value
			}
		}
	}
	if cs, e := p.list("cookie"); !fail(e) {
		for _, c := range cs {
			name, value, ok := strings.Cut(c, "=")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, "; \t\r\n\x00") || strings.ContainsAny(value, ";\r\n\x00") {
				fail(legacyOptErr("cookie", "entries must look like \"name=value\""))
				continue
			}
			r.Cookies = append(r.Cookies, browser.Cookie{Name: name, Value: value})
		}
	}
	if b, _, e := p.boolean("fail_on_4xx"); !fail(e) {
		r.FailOn4xx = b
	}
	if b, _, e := p.boolean("fail_on_5xx"); !fail(e) {
		r.FailOn5xx = b
	}
	if b, _, e := p.boolean("block_ads"); !fail(e) {
		r.BlockAds = b
	}

	// PDF options: only with format pdf.
	pdfSet := false
	r.PDF.Background = isPDF // Urlbox prints backgrounds unless told not to
	if s, ok, e := p.str("pdf_page_size", 16); !fail(e) && ok {
		pdfSet = true
		v, known := legacyPageSizes[strings.ToLower(s)]
		if !known {
			fail(legacyOptErr("pdf_page_size", "must be A0–A6, Letter, Legal, Tabloid or Ledger"))
		}
		r.PDF.PageSize = v
	}
	if b, ok, e := p.boolean("pdf_landscape"); !fail(e) && ok {
		pdfSet, r.PDF.Landscape = true, b
	}
	if b, ok, e := p.boolean("pdf_background"); !fail(e) && ok {
		pdfSet, r.PDF.Background = true, b
	}
	if s, ok, e := p.str("pdf_margin", 16); !fail(e) && ok {
		pdfSet = true
		var mm float64
		switch s {
		case "none":
		case "default":
			mm = pdfMarginDefault
		case "minimum":
			mm = pdfMarginMinimum
		default:
			fail(legacyOptErr("pdf_margin", "must be none, default or minimum (or use pdf_margin_top etc. in mm)"))
		}
		r.PDF.MarginTop, r.PDF.MarginRight, r.PDF.MarginBottom, r.PDF.MarginLeft = mm, mm, mm, mm
	}
	if s, ok, e := p.str("pdf_margin_unit", 8); !fail(e) && ok {
		pdfSet = true
		if s != "mm" {
			fail(legacyOptErr("pdf_margin_unit", "must be mm (renderhook takes margins in millimetres only)"))
		}
	}
	for _, side := range []struct {
		name string
		dst  *float64
	}{{"pdf_margin_top", &r.PDF.MarginTop}, {"pdf_margin_right", &r.PDF.MarginRight},
		{"pdf_margin_bottom", &r.PDF.MarginBottom}, {"pdf_margin_left", &r.PDF.MarginLeft}} {
		if f, ok, e := p.number(side.name, 0, 100); !fail(e) && ok {
			pdfSet, *side.dst = true, f
		}
	}
	if err == nil && r.Clip != nil && r.Selector != "" {
		return nil, fmt.Errorf("%w: option \"clip\" cannot be combined with option \"selector\"", ErrInvalidOptions)
	}
	if err == nil && len(r.Cookies) > 0 && r.HTML != "" {
		return nil, fmt.Errorf("%w: option \"cookie\" needs a url: an html render has no origin to set cookies for", ErrInvalidOptions)
	}
	if pdfSet && !isPDF && err == nil {
		return nil, fmt.Errorf("%w: the pdf_* options apply to format pdf only, not %s", ErrInvalidOptions, r.Format)
	}

	if s, _, e := p.str("webhook_url", 2048); !fail(e) {
		o.WebhookURL = s
	}
	if v, ok := p.take("metadata"); ok {
		md, e := parseMetadata(v)
		if !fail(e) {
			o.Metadata = md
		}
	}
	if n, ok, e := p.integer("ttl", 0, int(MaxV1TTL/time.Second)); !fail(e) && ok {
		o.TTL, o.TTLSet = time.Duration(n)*time.Second, true
	}
	if b, _, e := p.boolean("force"); !fail(e) {
		o.Force = b
	}
	if err != nil {
		return nil, err
	}
	if len(p.m) > 0 {
		left := make([]string, 0, len(p.m))
		for k := range p.m {
			left = append(left, k)
		}
		sort.Strings(left)
		k := left[0]
		if legacyUnsupported[k] {
			return nil, fmt.Errorf("%w: option %q is a Urlbox option renderhook does not support", ErrInvalidOptions, k)
		}
		return nil, fmt.Errorf("%w: option %q is not a known option", ErrInvalidOptions, truncate(k))
	}
	return o, nil
}
