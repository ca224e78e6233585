package browser

import (
	"cmp"
	"context"
	"fmt"
	"math"

	"github.com/chromedp/cdproto/page"
)

// The PDF options of #16: fit to page, auto crop, dpi, header and footer
// heights, page numbers.

const (
	mmPerInch = 25.4
	// cssPerInch is how many CSS pixels make an inch of paper.
	cssPerInch = 96.0
	// pageNumberMargin is the bottom margin, in mm, page numbers need.
	pageNumberMargin = 10.0
	// maxPaperInches bounds an auto-cropped page's side (5000 mm, as
	// pdf_page_width does).
	maxPaperInches = 5000 / mmPerInch
)

// pageNumbers is the footer ShowPageNumbers prints.
const pageNumbers = `<div style="width:100%;text-align:center;font-size:10px;font-family:sans-serif">` +
	`<span class="pageNumber"></span> / <span class="totalPages"></span></div>`

// validateLayout checks the options of this file.
func (o PDFOptions) validateLayout() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	switch {
	case o.DPI != 0 && !(o.DPI >= 48 && o.DPI <= 960):
		return bad("pdf dpi %v is outside 48..960", o.DPI)
	case !(o.HeaderHeight >= 0 && o.HeaderHeight <= 200) || !(o.FooterHeight >= 0 && o.FooterHeight <= 200):
		return bad("pdf header or footer height %v/%vmm is outside 0..200", o.HeaderHeight, o.FooterHeight)
	case o.FitToPage && o.AutoCrop:
		return bad("pdf fit to page and auto crop cannot both be given")
	}
	if s := o.scale(); !(s >= 0.1 && s <= 2) {
		return bad("pdf scale %v at %v dpi prints at %.2f, outside 0.1..2", cmp.Or(o.Scale, 1), o.DPI, s)
	}
	return nil
}

// scale is the print scale: Scale at DPI.
func (o PDFOptions) scale() float64 {
	s := cmp.Or(o.Scale, 1)
	if o.DPI != 0 {
		s *= cssPerInch / o.DPI
	}
	return s
}

// headerFooter sets the header and footer of p.
func (o PDFOptions) headerFooter(p *page.PrintToPDFParams) *page.PrintToPDFParams {
	if !o.ShowHeader && !o.ShowFooter && !o.ShowPageNumbers {
		return p
	}
	footer := template(o.ShowFooter, o.FooterTemplate)
	switch {
	case o.ShowPageNumbers && !o.ShowFooter:
		footer = pageNumbers
	case o.ShowPageNumbers && o.FooterTemplate != "":
		footer = `<div style="width:100%">` + o.FooterTemplate + pageNumbers + `</div>`
	}
	// (With ShowFooter and no template, Chromium's own footer already
	// has the page numbers.)
	return p.WithDisplayHeaderFooter(true).
		WithHeaderTemplate(template(o.ShowHeader, o.HeaderTemplate)).
		WithFooterTemplate(footer)
}

// layout sets p's scale and margins, and the paper for AutoCrop; size is
// the paper in inches, before Landscape.
func (r *urlRun) layout(ctx context.Context, p *page.PrintToPDFParams, size [2]float64) (*page.PrintToPDFParams, error) {
	o := r.req.PDF
	top, bottom := max(o.MarginTop, o.HeaderHeight), max(o.MarginBottom, o.FooterHeight)
	if o.ShowPageNumbers {
		bottom = max(bottom, pageNumberMargin)
	}
	p = p.WithMarginTop(top / mmPerInch).WithMarginBottom(bottom / mmPerInch)
	scale := o.scale()
	switch {
	case o.AutoCrop:
		var ext struct{ W, H float64 }
		if err := evaluate(ctx, extentScript, &ext); err != nil {
			return nil, fmt.Errorf("pdf auto crop: measure page: %w", err)
		}
		w := min(max(ext.W, 1)*scale/cssPerInch, maxPaperInches)
		h := min(max(ext.H, 1)*scale/cssPerInch, maxPaperInches)
		p = p.WithPaperWidth(w).WithPaperHeight(h).WithLandscape(false).
			WithMarginTop(0).WithMarginRight(0).WithMarginBottom(0).WithMarginLeft(0)
	case o.FitToPage:
		var doc struct{ W, H float64 }
		js := `({W: document.documentElement.scrollWidth, H: document.documentElement.scrollHeight})`
		if err := evaluate(ctx, js, &doc); err != nil {
			return nil, fmt.Errorf("pdf fit to page: measure page: %w", err)
		}
		if o.Landscape {
			size[0], size[1] = size[1], size[0]
		}
		w := size[0] - (o.MarginLeft+o.MarginRight)/mmPerInch
		h := size[1] - (top+bottom)/mmPerInch
		// A little under the exact fit, so rounding never spills a line
		// onto a second page.
		fit := 0.98 * min(w*cssPerInch/max(doc.W, 1), h*cssPerInch/max(doc.H, 1))
		scale = math.Max(0.1, min(scale, fit))
	}
	return p.WithScale(scale), nil
}

// extentScript measures how far right and down the page's content
// reaches, in CSS pixels of the document.
const extentScript = `(() => {
  let w = 0, h = 0;
  const add = (q) => { if (q.width > 0 && q.height > 0) { w = Math.max(w, q.right + scrollX); h = Math.max(h, q.bottom + scrollY); } };
  if (document.body) {
    const rg = document.createRange(); rg.selectNodeContents(document.body); add(rg.getBoundingClientRect());
    for (const e of document.body.querySelectorAll('*')) add(e.getBoundingClientRect());
  }
  return {W: Math.ceil(w), H: Math.ceil(h)};
})()`
