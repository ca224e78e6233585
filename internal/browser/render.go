package browser

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// Page is one document to render.
type Page struct {
	// HTML is the complete document. It is loaded with no base URL, so
	// images and styles must be absolute or inline (data: URIs).
	HTML string
	// Width and Height are the page size in CSS pixels: the viewport and the
	// exact image size for screenshots, the paper size for PDFs.
	Width, Height int
}

// Request is one render.
type Request struct {
	// Pages holds exactly one page for png, jpeg and webp. A pdf may have
	// several; each becomes one PDF page of its own size.
	Pages []Page
	// Format is the output format.
	Format Format
	// Quality is 1..100 for jpeg and webp; 0 means 90. Ignored otherwise.
	Quality int
	// Build, when set, makes the pages once the render holds its slot (so
	// the work of making them waits its turn and counts against MaxTabs
	// and the queue like the capture does); they replace Pages, which then
	// only need their sizes for the checks before the queue. ctx carries
	// the render's deadline (RenderTimeout). A Build error is returned as is.
	Build func(ctx context.Context) ([]Page, error)
	// SpaceID is the tenant the render is for. Renders of different spaces
	// never share browser state (cookies, storage, HTTP cache): each runs
	// in a tab whose browser context serves that space alone. Renders of
	// one space may share it, as the renders of a browser profile would.
	SpaceID string
}

// build runs req.Build, if any, within timeout and checks the pages it made.
func (r Request) build(ctx context.Context, timeout time.Duration) (Request, error) {
	if r.Build == nil {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pages, err := r.Build(ctx)
	if err != nil {
		return r, err
	}
	r.Pages, r.Build = pages, nil
	return r, r.validate()
}

// Result is a finished render.
type Result struct {
	// Data is the encoded image or PDF.
	Data []byte
	// ContentType is the MIME type of Data.
	ContentType string
	// QueueWait is how long the render waited for a tab.
	QueueWait time.Duration
	// RenderTime is how long the render spent in the tab.
	RenderTime time.Duration
	// Extracted holds what a URL render's Extract asked for besides Data;
	// nil when it asked for nothing (and for template renders).
	Extracted *Extracted
}

// defaultQuality is the JPEG/WebP quality used when a request gives none.
const defaultQuality = 90

// validate checks a request before it takes a place in the queue.
func (r Request) validate() error {
	if !r.Format.isImage() && r.Format != FormatPDF { // avif, html, mhtml, md: URL renders only
		return fmt.Errorf("%w: format %q: %w", ErrBadRequest, r.Format, ErrUnknownFormat)
	}
	if r.Format.ContentType() == "" {
		return fmt.Errorf("%w: format %q: %w", ErrBadRequest, r.Format, ErrUnknownFormat)
	}
	switch {
	case len(r.Pages) == 0:
		return fmt.Errorf("%w: no pages", ErrBadRequest)
	case len(r.Pages) > 1 && r.Format.isImage():
		return fmt.Errorf("%w: %d pages given, %s takes exactly one", ErrBadRequest, len(r.Pages), r.Format)
	case r.Quality < 0 || r.Quality > 100:
		return fmt.Errorf("%w: quality %d is outside 1..100", ErrBadRequest, r.Quality)
	}
	for i, pg := range r.Pages {
		if pg.Width <= 0 || pg.Width > maxDimension || pg.Height <= 0 || pg.Height > maxDimension {
			return fmt.Errorf("%w: page %d is %dx%d, each side must be 1..%d", ErrBadRequest, i+1, pg.Width, pg.Height, maxDimension)
		}
	}
	return nil
}

// readyScript resolves once the document is ready to paint: every image is
// loaded and decoded (or failed), same-origin iframes are ready in the same
// sense, the document has finished loading (stylesheets included) and web
// fonts are in. Lazy images are switched to eager, since nothing scrolls them
// into view. Cross-origin iframes cannot be inspected and are not waited for.
//
// It must work with the page's JavaScript disabled, where event listeners and
// timers never fire. So it waits only on promises the browser resolves itself
// (img.decode, fonts.ready, scheduler.yield, Animation.finished) and polls
// the rest: first by yielding to other tasks, which is cheap for the usual
// short wait, then once per frame.
const readyScript = `(async () => {
  const settle = (p) => Promise.resolve(p).then(() => {}, () => {});
  const frame = () => document.documentElement.animate(null, 16).finished;
  const pause = (i) => settle(i < 200 && window.scheduler && scheduler.yield ? scheduler.yield() : frame());
  const contentOf = (f) => { try { return f.contentDocument; } catch (e) { return null; } };
  const iframe = async (f) => {
    for (let i = 0; ; i++) {
      const doc = contentOf(f);
      if (!doc) return;
      // Until a srcdoc commits, the frame shows its initial about:blank.
      const committed = !f.hasAttribute('srcdoc') || doc.URL === 'about:srcdoc';
      if (committed && doc.readyState !== 'loading') return ready(doc);
      await pause(i);
    }
  };
  const ready = async (doc) => {
    for (const img of doc.images) if (img.loading === 'lazy') img.loading = 'eager';
    void (doc.documentElement && doc.documentElement.offsetHeight); // lay out, so used fonts start loading
    await Promise.all([
      settle(doc.fonts && doc.fonts.ready),
      ...Array.from(doc.images, (img) => settle(img.decode())),
      ...Array.from(doc.querySelectorAll('iframe'), iframe),
    ]);
    for (let i = 0; doc.readyState !== 'complete'; i++) await pause(i);
    void (doc.documentElement && doc.documentElement.offsetHeight);
    await settle(doc.fonts && doc.fonts.ready);
  };
  await ready(document);
  return true;
})()`

// scriptTags are elements that run script or host a nested page.
var scriptTags = []string{"script", "noscript", "iframe", "frame", "object", "embed", "portal", "fencedframe"}

// mayRunScript reports whether html contains anything that could run script
// or navigate the page: a scriptTags element, a javascript: URL, a meta
// refresh (http-equiv), or an event handler attribute (an "on..." name after
// whitespace, a slash or a quote, as the HTML tokenizer allows). It errs
// towards yes; a false yes only costs a tab reset. It is a byte scan rather
// than a regexp because pages can be megabytes of inline data.
func mayRunScript(html string) bool {
	for i := 0; i < len(html); i++ {
		switch html[i] {
		case '<':
			rest := html[i+1:]
			if len(rest) == 0 || !strings.ContainsRune("snifoep", rune(rest[0]|0x20)) {
				continue // no scriptTags name starts with this letter
			}
			for _, tag := range scriptTags {
				if len(rest) >= len(tag) && strings.EqualFold(rest[:len(tag)], tag) {
					return true
				}
			}
		case ':':
			if i >= 10 && strings.EqualFold(html[i-10:i], "javascript") {
				return true
			}
		case '-':
			if i >= 4 && i+6 <= len(html) && strings.EqualFold(html[i-4:i], "http") && strings.EqualFold(html[i+1:i+6], "equiv") {
				return true
			}
		case ' ', '\t', '\n', '\r', '\f', '/', '"', '\'', '`':
			if isEventHandlerAttr(html[i+1:]) {
				return true
			}
		}
	}
	return false
}

// isEventHandlerAttr reports whether s starts with on<letters>, optional
// whitespace and "=".
func isEventHandlerAttr(s string) bool {
	if len(s) < 4 || (s[0]|0x20) != 'o' || (s[1]|0x20) != 'n' {
		return false
	}
	j := 2
	for j < len(s) && (s[j]|0x20) >= 'a' && (s[j]|0x20) <= 'z' {
		j++
	}
	if j == 2 {
		return false
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f') {
		j++
	}
	return j < len(s) && s[j] == '='
}

// resourceMarkers are what can make a script-free document load something
// after it is parsed: images, stylesheets, fonts, frames, media, objects.
var resourceMarkers = []string{"<img", "<link", "<iframe", "<frame", "<object", "<embed", "<video", "<audio",
	"<picture", "<source", "<image", "<use", "<input", "srcset", "url(", "@import", "@font-face", "background="}

// mayLoadResources reports whether html may reference a resource the
// ready check must wait for. Like mayRunScript it errs towards yes.
func mayLoadResources(html string) bool {
	lower := strings.ToLower(html)
	for _, m := range resourceMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}

// scripted reports whether any page of r may run script. Pages that may not
// are rendered with JavaScript off, so if mayRunScript ever misses a way to
// run script, that script does not run rather than outliving the render.
func (r Request) scripted() bool {
	for _, pg := range r.Pages {
		if mayRunScript(pg.HTML) {
			return true
		}
	}
	return false
}

// errRenderDeadline is the cause attached to a render's own deadline, to tell
// it apart from the caller's.
var errRenderDeadline = errors.New("render deadline")

// render runs one request in the tab. Errors are classified: ErrRenderTimeout,
// ErrBrowserCrashed, the caller's context error, or a CDP error. (A browser
// is only closed under a render by Stop, which Pool.Render reports itself.)
func (t *tab) render(ctx context.Context, req Request, scripted bool, timeout time.Duration) ([]byte, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, timeout, errRenderDeadline)
	defer cancel()
	// A dead browser never answers; stop waiting as soon as it is gone.
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()

	data, err := t.run(cdp.WithExecutor(rctx, t.target), req, scripted)
	if err == nil {
		return data, nil
	}
	switch {
	case !t.inst.alive():
		return nil, fmt.Errorf("render in chromium pid %d: %w", t.inst.pid, ErrBrowserCrashed)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("render: %w", ctx.Err())
	case errors.Is(context.Cause(rctx), errRenderDeadline):
		return nil, fmt.Errorf("render: %w after %s (in %v)", ErrRenderTimeout, timeout, err)
	}
	return nil, fmt.Errorf("render: %w", err)
}

// run does the CDP calls of one render: switch JavaScript and resize if
// needed, load, wait, capture.
func (t *tab) run(ctx context.Context, req Request, scripted bool) ([]byte, error) {
	if t.scriptsOff == scripted {
		if err := emulation.SetScriptExecutionDisabled(!scripted).Do(ctx); err != nil {
			return nil, fmt.Errorf("switch javascript: %w", err)
		}
		t.scriptsOff = !scripted
	}
	first := req.Pages[0]
	// The viewport is also set for PDFs, so scripts that measure the window
	// see the page size rather than whatever the previous render left.
	if t.width != first.Width || t.height != first.Height {
		err := emulation.SetDeviceMetricsOverride(int64(first.Width), int64(first.Height), 1, false).Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("set viewport: %w", err)
		}
		t.width, t.height = first.Width, first.Height
	}

	doc := first.HTML
	if req.Format == FormatPDF && len(req.Pages) > 1 {
		doc = pdfBook(req.Pages)
	}
	if err := page.SetDocumentContent(t.frameID, doc).Do(ctx); err != nil {
		return nil, fmt.Errorf("set document content: %w", err)
	}
	// Runtime.evaluate works with the page's scripts disabled. An exception
	// means the page broke something the script relies on (say, it replaced
	// Promise); capture what there is rather than fail. A script-free page
	// that references nothing to load has nothing to wait for, and skips
	// the round trip.
	if scripted || req.Format == FormatPDF && len(req.Pages) > 1 || mayLoadResources(doc) {
		_, _, err := runtime.Evaluate(readyScript).WithAwaitPromise(true).WithReturnByValue(true).WithSilent(true).Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("wait for page to load: %w", err)
		}
	}

	if req.Format == FormatPDF {
		data, _, err := page.PrintToPDF().
			WithPrintBackground(true).
			WithPreferCSSPageSize(true).
			WithPaperWidth(float64(first.Width) / 96).
			WithPaperHeight(float64(first.Height) / 96).
			WithMarginTop(0).WithMarginBottom(0).WithMarginLeft(0).WithMarginRight(0).
			Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("print to pdf: %w", err)
		}
		return data, nil
	}

	// The viewport is exactly the page's size (set above), so the capture
	// needs no clip: a clip sends Chromium down a slower capture path
	// (measured: PNG p50 65 ms with it against 50 ms for the raw floor).
	data, err := screenshot(req.Format, req.Quality).Do(ctx)
	if err != nil {
		return nil, fmt.Errorf("capture screenshot: %w", err)
	}
	return data, nil
}

// screenshot is the capture command for an image format; quality 0 means
// defaultQuality (ignored for PNG).
func screenshot(f Format, quality int) *page.CaptureScreenshotParams {
	shot := page.CaptureScreenshot()
	q := int64(cmp.Or(quality, defaultQuality))
	switch f {
	case FormatPNG:
		shot = shot.WithFormat(page.CaptureScreenshotFormatPng)
	case FormatJPEG:
		shot = shot.WithFormat(page.CaptureScreenshotFormatJpeg).WithQuality(q)
	case FormatWebP:
		shot = shot.WithFormat(page.CaptureScreenshotFormatWebp).WithQuality(q)
	}
	return shot
}

// pdfBook wraps several pages into one printable document. Each page lives in
// its own srcdoc iframe, so its styles and scripts stay isolated, inside a
// block that sits on a named @page of the page's size and breaks after it.
func pdfBook(pages []Page) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><style>` +
		`@page{margin:0}html,body{margin:0;padding:0}` +
		`.rh-page{overflow:hidden;break-after:page}.rh-page:last-child{break-after:auto}` +
		`.rh-page>iframe{display:block;border:0;margin:0;padding:0}`)
	for i, pg := range pages {
		w, h := strconv.Itoa(pg.Width), strconv.Itoa(pg.Height)
		fmt.Fprintf(&b, "@page p%d{size:%spx %spx;margin:0}", i, w, h)
	}
	b.WriteString(`</style></head><body>`)
	for i, pg := range pages {
		w, h := strconv.Itoa(pg.Width), strconv.Itoa(pg.Height)
		fmt.Fprintf(&b, `<div class="rh-page" style="page:p%d;width:%spx;height:%spx">`, i, w, h)
		fmt.Fprintf(&b, `<iframe style="width:%spx;height:%spx" srcdoc="%s"></iframe></div>`, w, h, html.EscapeString(pg.HTML))
	}
	b.WriteString(`</body></html>`)
	return b.String()
}
