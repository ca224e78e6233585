package browser

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wordTop is where a word's first occurrence starts on its page, in
// points from the top, and that page's number (1-based), by pdftotext
// -bbox.
func wordTop(t *testing.T, data []byte, word string) (page int, top, left float64) {
	t.Helper()
	out := poppler(t, data, "pdftotext", "-bbox")
	re := regexp.MustCompile(`<word xMin="([-\d.]+)" yMin="([-\d.]+)"[^>]*>` + regexp.QuoteMeta(word) + `</word>`)
	for i, pg := range strings.Split(out, "<page ")[1:] {
		if m := re.FindStringSubmatch(pg); m != nil {
			left, _ = strconv.ParseFloat(m[1], 64)
			top, _ = strconv.ParseFloat(m[2], 64)
			return i + 1, top, left
		}
	}
	t.Fatalf("no word %q in the PDF:\n%.1500s", word, out)
	return 0, 0, 0
}

// pageNumberRE matches "n / m" as pdftotext may space it.
func pageNumberRE(s string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(s), " ", `\s*`))
}

// TestRenderURLPDFLayout checks pdf_fit_to_page, pdf_auto_crop, pdf_dpi,
// pdf_header_height, pdf_footer_height and pdf_show_page_numbers with
// poppler's pdfinfo and pdftotext.
func TestRenderURLPDFLayout(t *testing.T) {
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/long": htmlPage(`<!doctype html><body style="margin:0"><p style="margin:0">FIRSTWORD</p>` +
			`<div style="height:6000px"></div><p>THEEND</p>`),
		"/box": htmlPage(`<!doctype html><body style="margin:0"><div style="width:400px;height:300px;background:#c00">` +
			`<span style="position:relative;left:200px">MIDDLE</span></div>`),
		"/pages": htmlPage(`<!doctype html><body style="margin:0">` +
			strings.Repeat(`<div style="height:100px;break-after:page">page</div>`, 3)),
	})
	p := localPool(t)
	pdf := func(t *testing.T, path string, o PDFOptions) []byte {
		t.Helper()
		return renderPDF(t, p, s.URL+path, o)
	}
	near := func(got, want float64) bool { return got > want-1.5 && got < want+1.5 }

	t.Run("fit to page", func(t *testing.T) {
		if n := pdfPageCount(t, pdf(t, "/long", PDFOptions{})); n < 5 {
			t.Fatalf("the long page prints %d pages, want at least 5", n)
		}
		data := pdf(t, "/long", PDFOptions{FitToPage: true})
		if n := pdfPageCount(t, data); n != 1 {
			t.Errorf("fitted to the page it prints %d pages, want 1", n)
		}
		if pg, _, _ := wordTop(t, data, "THEEND"); pg != 1 {
			t.Errorf("the last word is on page %d", pg)
		}
	})
	t.Run("auto crop", func(t *testing.T) {
		data := pdf(t, "/box", PDFOptions{AutoCrop: true, MarginTop: 20})
		if w, h := pdfPageSize(t, data); !near(w, 300) || !near(h, 225) {
			t.Errorf("the 400x300 px box is on a %vx%v pt page, want 300x225", w, h)
		}
		if n := pdfPageCount(t, data); n != 1 {
			t.Errorf("auto crop printed %d pages, want 1", n)
		}
	})
	t.Run("dpi", func(t *testing.T) {
		// At 192 dpi 192 CSS px make an inch (72 pt): 400 px are 150 pt.
		if w, h := pdfPageSize(t, pdf(t, "/box", PDFOptions{AutoCrop: true, DPI: 192})); !near(w, 150) || !near(h, 112.5) {
			t.Errorf("at 192 dpi the box is on a %vx%v pt page, want 150x112.5", w, h)
		}
		_, _, at96 := wordTop(t, pdf(t, "/box", PDFOptions{}), "MIDDLE")
		_, _, at192 := wordTop(t, pdf(t, "/box", PDFOptions{DPI: 192}), "MIDDLE")
		if !near(at96, 150) || !near(at192, 75) {
			t.Errorf("a word 200 px in starts at %v pt (96 dpi) and %v pt (192 dpi), want 150 and 75", at96, at192)
		}
	})
	t.Run("header height", func(t *testing.T) {
		data := pdf(t, "/long", PDFOptions{ShowHeader: true, HeaderHeight: 40,
			HeaderTemplate: `<div style="font-size:10px">HEADERTEXT</div>`})
		if _, top, _ := wordTop(t, data, "FIRSTWORD"); top < 40/25.4*72-3 {
			t.Errorf("the body starts %v pt down, inside the 40 mm (113 pt) header", top)
		}
		if _, top, _ := wordTop(t, data, "HEADERTEXT"); top > 40/25.4*72 {
			t.Errorf("the header is %v pt down, below its 40 mm", top)
		}
	})
	t.Run("footer height", func(t *testing.T) {
		plain := pdfPageCount(t, pdf(t, "/long", PDFOptions{}))
		tall := pdfPageCount(t, pdf(t, "/long", PDFOptions{ShowFooter: true, FooterHeight: 150,
			FooterTemplate: `<div style="font-size:10px">FOOTERTEXT</div>`}))
		if tall <= plain {
			t.Errorf("a 150 mm footer leaves %d pages, as many as without (%d)", tall, plain)
		}
	})
	t.Run("page numbers", func(t *testing.T) {
		txt := pdfText(t, pdf(t, "/pages", PDFOptions{ShowPageNumbers: true}))
		for _, want := range []string{"1 / 3", "2 / 3", "3 / 3"} {
			if !pageNumberRE(want).MatchString(txt) {
				t.Errorf("the PDF's text lacks %q:\n%.500s", want, txt)
			}
		}
		txt = pdfText(t, pdf(t, "/pages", PDFOptions{ShowPageNumbers: true, ShowFooter: true, MarginBottom: 20,
			FooterTemplate: `<div style="font-size:10px">MYFOOTER</div>`}))
		if !strings.Contains(txt, "MYFOOTER") || !pageNumberRE("2 / 3").MatchString(txt) {
			t.Errorf("footer and page numbers: text is\n%.500s", txt)
		}
	})
}
