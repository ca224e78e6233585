package browser

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
)

// maxTemplateLen bounds a PDF header or footer template.
const maxTemplateLen = 10000

// pageRangesRE is what PDFOptions.PageRanges accepts: "1", "1-3", "2-",
// comma-separated.
var pageRangesRE = regexp.MustCompile(`^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$`)

// emptyTemplate is a header or footer that prints nothing.
const emptyTemplate = `<span></span>`

// validate checks the PDF options of a URL render.
func (o PDFOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	inRange := func(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }
	switch {
	case (o.PageWidth == 0) != (o.PageHeight == 0):
		return bad("pdf page width and height go together")
	case o.PageWidth != 0 && (!inRange(o.PageWidth, 10, 5000) || !inRange(o.PageHeight, 10, 5000)):
		return bad("pdf page %vx%vmm: each side must be 10..5000", o.PageWidth, o.PageHeight)
	case o.Scale != 0 && !inRange(o.Scale, 0.1, 2):
		return bad("pdf scale %v is outside 0.1..2", o.Scale)
	case o.PageRanges != "" && (len(o.PageRanges) > 200 || !pageRangesRE.MatchString(o.PageRanges)):
		return bad("pdf page range %q is not like 1-3, 5", o.PageRanges)
	case len(o.HeaderTemplate) > maxTemplateLen || len(o.FooterTemplate) > maxTemplateLen:
		return bad("pdf header or footer is over %d characters", maxTemplateLen)
	case o.Media != "" && o.Media != "print" && o.Media != "screen":
		return bad("media %q is not print or screen", o.Media)
	}
	return o.validateLayout()
}

// printPDF prints with the pdf_* options.
func (r *urlRun) printPDF(ctx context.Context) ([]byte, error) {
	o := r.req.PDF
	if o.Media == "screen" {
		em := emulation.SetEmulatedMedia().WithMedia("screen").WithFeatures(r.req.mediaFeatures())
		if err := em.Do(ctx); err != nil {
			return nil, fmt.Errorf("emulate screen media: %w", err)
		}
	}
	size := pdfPaperSizes[strings.ToLower(cmp.Or(o.PageSize, "a4"))]
	if o.PageWidth != 0 {
		size = [2]float64{o.PageWidth / mmPerInch, o.PageHeight / mmPerInch}
	}
	p := page.PrintToPDF().
		WithLandscape(o.Landscape).
		WithPrintBackground(o.Background).
		WithPaperWidth(size[0]).WithPaperHeight(size[1]).
		WithMarginTop(o.MarginTop / mmPerInch).WithMarginRight(o.MarginRight / mmPerInch).
		WithMarginBottom(o.MarginBottom / mmPerInch).WithMarginLeft(o.MarginLeft / mmPerInch)
	if o.PageRanges != "" {
		p = p.WithPageRanges(strings.ReplaceAll(o.PageRanges, " ", ""))
	}
	p, err := r.layout(ctx, o.headerFooter(p), size)
	if err != nil {
		return nil, err
	}
	data, _, err := p.Do(ctx)
	if err != nil {
		if o.PageRanges != "" && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: pdf page range %q: %w", ErrBadRequest, o.PageRanges, err)
		}
		return nil, fmt.Errorf("print to pdf: %w", err)
	}
	return data, nil
}

// template is the header or footer template to print: t, Chromium's own
// when t is empty (""), or nothing when not shown.
func template(show bool, t string) string {
	if !show {
		return emptyTemplate
	}
	return t
}
