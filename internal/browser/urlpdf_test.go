package browser

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// poppler runs one of poppler's tools on a PDF: tool [args] file -.
func poppler(t *testing.T, data []byte, tool string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed", tool)
	}
	f := t.TempDir() + "/out.pdf"
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, append(args, f, "-")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	return string(out)
}

// pdfText is the text of a PDF, by pdftotext.
func pdfText(t *testing.T, data []byte) string {
	t.Helper()
	return poppler(t, data, "pdftotext", "-layout")
}

// renderPDF is the PDF of url rendered by p with o.
func renderPDF(t *testing.T, p *Pool, url string, o PDFOptions) []byte {
	t.Helper()
	res, err := p.RenderURL(context.Background(), URLRequest{URL: url, Format: FormatPDF, PDF: o})
	if err != nil {
		t.Fatalf("RenderURL: %v", err)
	}
	return res.Data
}

// pdfPageSize is the first page's size in points, by pdfinfo.
func pdfPageSize(t *testing.T, data []byte) (w, h float64) {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo is not installed")
	}
	out := pdfinfo(t, data)
	m := regexp.MustCompile(`Page size:\s+([\d.]+) x ([\d.]+) pts`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo printed no page size:\n%s", out)
	}
	w, _ = strconv.ParseFloat(string(m[1]), 64)
	h, _ = strconv.ParseFloat(string(m[2]), 64)
	return w, h
}

func TestRenderURLPDFOptions(t *testing.T) {
	pages := strings.Repeat(`<div style="height:100vh;break-after:page">page</div>`, 5)
	s := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{
		"/doc": htmlPage(`<!doctype html><title>The Title</title><style>body{margin:0}
			@media print{.m::after{content:"PRINTMEDIA"}} @media screen{.m::after{content:"SCREENMEDIA"}}</style>
			<p class="m"></p>` + pages),
		"/long": htmlPage(`<!doctype html><body style="margin:0"><div style="height:6000px">long</div>`),
	})
	p := localPool(t)
	pdfOf := func(t *testing.T, path string, o PDFOptions) []byte {
		t.Helper()
		return renderPDF(t, p, s.URL+path, o)
	}
	pdf := func(t *testing.T, o PDFOptions) []byte { t.Helper(); return pdfOf(t, "/doc", o) }
	near := func(got, want float64) bool { return got > want-1.5 && got < want+1.5 }

	t.Run("landscape", func(t *testing.T) {
		w, h := pdfPageSize(t, pdf(t, PDFOptions{Landscape: true}))
		if !near(w, 841.9) || !near(h, 595.3) {
			t.Errorf("landscape A4 is %vx%v pts, want 842x595", w, h)
		}
	})
	t.Run("page size", func(t *testing.T) {
		w, h := pdfPageSize(t, pdf(t, PDFOptions{PageWidth: 100, PageHeight: 150}))
		if !near(w, 100/25.4*72) || !near(h, 150/25.4*72) {
			t.Errorf("100x150mm page is %vx%v pts, want 283x425", w, h)
		}
	})
	t.Run("page range", func(t *testing.T) {
		if n := pdfPageCount(t, pdf(t, PDFOptions{})); n < 5 {
			t.Fatalf("the document prints %d pages, want at least 5", n)
		}
		if n := pdfPageCount(t, pdf(t, PDFOptions{PageRanges: "1-2, 4"})); n != 3 {
			t.Errorf("range 1-2, 4 printed %d pages, want 3", n)
		}
		_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/doc", Format: FormatPDF, PDF: PDFOptions{PageRanges: "90-99"}})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("range past the end: err = %v, want ErrBadRequest", err)
		}
	})
	t.Run("scale", func(t *testing.T) {
		// Half the scale fits twice the content on a page.
		full, half := pdfPageCount(t, pdfOf(t, "/long", PDFOptions{})), pdfPageCount(t, pdfOf(t, "/long", PDFOptions{Scale: 0.5}))
		if half >= full {
			t.Errorf("scale 0.5 printed %d pages, scale 1 %d; want fewer", half, full)
		}
	})
	t.Run("header and footer", func(t *testing.T) {
		txt := pdfText(t, pdf(t, PDFOptions{ShowHeader: true, ShowFooter: true, MarginTop: 20, MarginBottom: 20,
			HeaderTemplate: `<div style="font-size:10px">HDR <span class="title"></span></div>`,
			FooterTemplate: `<div style="font-size:10px">Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>`}))
		for _, want := range []string{"HDR The Title", "Page 1 of ", "Page 2 of "} {
			if !strings.Contains(txt, want) {
				t.Errorf("PDF text lacks %q:\n%.600s", want, txt)
			}
		}
		txt = pdfText(t, pdf(t, PDFOptions{ShowFooter: true, MarginBottom: 20,
			FooterTemplate: `<div style="font-size:10px">FTR</div>`}))
		if !strings.Contains(txt, "FTR") || strings.Contains(txt, "The Title") {
			t.Errorf("footer only: text is\n%.600s", txt)
		}
	})
	t.Run("media", func(t *testing.T) {
		if txt := pdfText(t, pdf(t, PDFOptions{})); !strings.Contains(txt, "PRINTMEDIA") {
			t.Errorf("print media: text is\n%.300s", txt)
		}
		if txt := pdfText(t, pdf(t, PDFOptions{Media: "screen"})); !strings.Contains(txt, "SCREENMEDIA") {
			t.Errorf("screen media: text is\n%.300s", txt)
		}
	})
	t.Run("validate", func(t *testing.T) {
		for _, o := range []PDFOptions{{PageWidth: 100}, {PageWidth: 5, PageHeight: 5}, {Scale: 3},
			{PageRanges: "1-2; rm"}, {Media: "tv"}, {HeaderTemplate: strings.Repeat("x", maxTemplateLen+1)}} {
			_, err := p.RenderURL(context.Background(), URLRequest{URL: s.URL + "/doc", Format: FormatPDF, PDF: o})
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("%+v: err = %v, want ErrBadRequest", o, err)
			}
		}
	})
}
