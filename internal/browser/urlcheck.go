package browser

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Limits and defaults of URL renders.
const (
	// defaultURLWidth and defaultURLHeight are the viewport when a URL
	// request gives none (Urlbox's defaults).
	defaultURLWidth, defaultURLHeight = 1280, 1024
	// maxCaptureHeight caps a full_page, selector or clip capture, in CSS
	// pixels. An endless page (infinite scroll, a huge table) would otherwise
	// ask Chromium for a bitmap of any size: 16384 px at 1280 wide is 80 MB
	// of RGBA, twice that at retina scale. Taller pages are cut off.
	maxCaptureHeight = 16384
	// maxRenderBytes caps what one URL render may download, all requests
	// together (counted at the egress proxy). Past it the page's
	// connections are cut and further requests refused (and listed in
	// Blocked); it bounds how much a page can pull into Chromium's memory.
	maxRenderBytes = 256 << 20
	// retinaScale is the device scale factor of retina renders.
	retinaScale = 2
)

// blockedSchemePatterns are Network.setBlockedURLs patterns for schemes a
// client's page must never load from, whatever Chromium's own rules say
// today: local files, browser internals, extensions. (The main frame is
// checked before navigation; these cover what the page itself asks for.)
var blockedSchemePatterns = []string{
	"file:*", "chrome:*", "chrome-extension:*", "chrome-untrusted:*", "devtools:*",
	"view-source:*", "filesystem:*", "ftp:*",
}

// pdfPaperSizes are the pdf_page_size names, width × height in inches
// (portrait).
var pdfPaperSizes = map[string][2]float64{
	"a0": {33.11, 46.81}, "a1": {23.39, 33.11}, "a2": {16.54, 23.39}, "a3": {11.69, 16.54},
	"a4": {8.27, 11.69}, "a5": {5.83, 8.27}, "a6": {4.13, 5.83},
	"letter": {8.5, 11}, "legal": {8.5, 14}, "tabloid": {11, 17}, "ledger": {17, 11},
}

// withDefaults fills in the documented defaults of a URL request.
func (r URLRequest) withDefaults() URLRequest {
	if r.Width == 0 {
		r.Width = defaultURLWidth
	}
	if r.Height == 0 {
		r.Height = defaultURLHeight
	}
	r = r.engineDefaults()
	if r.WaitUntil == "" {
		r.WaitUntil = WaitLoaded
	}
	return r
}

// validate checks a URL request (after withDefaults) before it takes a
// place in the queue. It does not judge where the URL points: see
// checkMainURL.
func (r URLRequest) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	switch {
	case (r.URL == "") == (r.HTML == ""):
		return bad("give exactly one of url and html")
	case r.Format.ContentType() == "":
		return fmt.Errorf("%w: format %q: %w", ErrBadRequest, r.Format, ErrUnknownFormat)
	case r.Width < 1 || r.Width > maxDimension || r.Height < 1 || r.Height > maxDimension:
		return bad("viewport %dx%d: each side must be 1..%d", r.Width, r.Height, maxDimension)
	case r.Quality < 0 || r.Quality > 100:
		return bad("quality %d is outside 1..100", r.Quality)
	case r.Delay < 0:
		return bad("delay %s is negative", r.Delay)
	case r.Timeout < 0:
		return bad("timeout %s is negative", r.Timeout)
	case r.Selector != "" && r.Clip != nil:
		return bad("selector and clip cannot both be given")
	case r.Format == FormatAVIF && !AVIFAvailable():
		return fmt.Errorf("%w: %w", ErrBadRequest, ErrNoAVIFEncoder)
	}
	if err := r.validateExtra(); err != nil {
		return err
	}
	switch r.WaitUntil {
	case WaitDOMLoaded, WaitLoaded, WaitRequestsFinished, WaitMostRequestsFinished:
	default:
		return bad("wait_until %q is not domloaded, loaded, requestsfinished or mostrequestsfinished", r.WaitUntil)
	}
	if c := r.Clip; c != nil {
		if c.X < 0 || c.Y < 0 || c.Width < 1 || c.Height < 1 || c.Width > maxDimension || c.Height > maxCaptureHeight {
			return bad("clip %+v: needs x, y >= 0, width 1..%d, height 1..%d", *c, maxDimension, maxCaptureHeight)
		}
	}
	if r.Format == FormatPDF {
		if _, ok := pdfPaperSizes[strings.ToLower(r.PDF.PageSize)]; !ok && r.PDF.PageSize != "" {
			return bad("pdf page size %q is not A0..A6, Letter, Legal, Tabloid or Ledger", r.PDF.PageSize)
		}
		if err := r.PDF.validate(); err != nil {
			return err
		}
		for _, m := range []float64{r.PDF.MarginTop, r.PDF.MarginRight, r.PDF.MarginBottom, r.PDF.MarginLeft} {
			if m < 0 || m > 100 || math.IsNaN(m) {
				return bad("pdf margin %vmm is outside 0..100", m)
			}
		}
	}
	for name := range r.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			return bad("header name %q is not valid", name)
		}
	}
	for _, c := range r.Cookies {
		if c.Name == "" || strings.ContainsAny(c.Name, "=; \t\r\n") || strings.ContainsAny(c.Value, ";\r\n") {
			return bad("cookie %q is not valid", c.Name)
		}
	}
	return nil
}

// checkMainURL refuses a main-frame URL before any browser work: no guard, a
// scheme other than http(s) (file:, chrome:, data:, javascript:, …), or a
// destination the guard refuses by its spelling (a literal private IP,
// localhost). Names that resolve somewhere forbidden are caught later, by the
// proxy, at connect time.
func (u *URLRenderer) checkMainURL(raw string) error {
	if u.cfg.Egress == nil {
		return fmt.Errorf("%w: no egress guard is configured for URL renders", ErrBlockedURL)
	}
	if err := u.cfg.Egress.CheckURL(raw); err != nil {
		return fmt.Errorf("%w: %w", ErrBlockedURL, err)
	}
	return nil
}

// hostPortOf returns the "host:port" a browser connects to for rawURL (the
// form the proxy sees), or "" for URLs that make no network connection.
func hostPortOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		default:
			return ""
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// renderTimeout is the wall-clock bound of one URL render.
func (u *URLRenderer) renderTimeout(r URLRequest) time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return u.cfg.RenderTimeout
}
