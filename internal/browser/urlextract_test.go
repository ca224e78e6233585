package browser

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gen2brain/avif"
)

// extractPage has a heading, metadata, a part that is not main content,
// an image, and a paragraph its script adds after load.
const extractPage = `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>The Title</title>
<meta name="description" content="A page about things">
<meta name="author" content="Ada">
<meta property="og:title" content="OG Title">
<meta property="og:image" content="/og.png">
<meta property="og:url" content="javascript:alert(1)">
<meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="/canonical">
<link rel="icon" href="/fav.ico">
</head><body><nav>Menu Home About</nav><main><h1>Main Heading</h1><p>Some <b>bold</b> text.</p>
<img src="/dot.png" alt="dot"></main>
<script>const p = document.createElement("p"); p.id = "added"; p.textContent = "added by js"; document.querySelector("main").append(p);</script>
</body></html>`

func extractSite(t *testing.T) *site {
	dot := func(w http.ResponseWriter, _ *http.Request) {
		img := image.NewRGBA(image.Rect(0, 0, 2, 2))
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, img)
	}
	return newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/": htmlPage(extractPage), "/dot.png": dot})
}

// TestRenderURLTextFormats checks the html, mhtml and md formats by what a
// user opens: the DOM after scripts, an MHTML message with the page and
// its image, Markdown of the main content.
func TestRenderURLTextFormats(t *testing.T) {
	s := extractSite(t)
	p := localPool(t)
	render := func(t *testing.T, f Format) *URLResult {
		t.Helper()
		res := renderAs(t, p, URLRequest{URL: s.URL + "/", Format: f})
		if res.Extracted != nil {
			t.Fatalf("extracted %v, want nothing beside the %s file", res.Extracted, f)
		}
		return res
	}

	t.Run("html", func(t *testing.T) {
		got := string(render(t, FormatHTML).Data)
		if !strings.HasPrefix(got, "<!DOCTYPE html>") || !strings.Contains(got, `<p id="added">added by js</p>`) {
			t.Fatalf("html lacks the doctype or the element the script added:\n%s", got)
		}
	})
	t.Run("mhtml", func(t *testing.T) {
		msg, err := mail.ReadMessage(bytes.NewReader(render(t, FormatMHTML).Data))
		if err != nil {
			t.Fatal(err)
		}
		mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/related" {
			t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
		}
		r := multipart.NewReader(msg.Body, params["boundary"])
		types := map[string]bool{}
		var doc string
		for {
			part, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			ct := part.Header.Get("Content-Type")
			types[ct] = true
			body, _ := io.ReadAll(part)
			if ct == "text/html" {
				doc = string(body)
			}
		}
		// The document part is quoted-printable; its words survive.
		if !types["text/html"] || !types["image/png"] || !strings.Contains(doc, "Main Heading") {
			t.Fatalf("parts %v; document %q", types, doc)
		}
	})
	t.Run("md", func(t *testing.T) {
		got := string(render(t, FormatMarkdown).Data)
		for _, want := range []string{"# Main Heading", "Some **bold** text.", "added by js", "![dot](" + s.URL + "/dot.png)"} {
			if !strings.Contains(got, want) {
				t.Errorf("markdown lacks %q:\n%s", want, got)
			}
		}
		if strings.Contains(got, "Menu") {
			t.Errorf("markdown has the navigation, not only the main content:\n%s", got)
		}
	})
}

// TestRenderURLExtractArtifacts checks Extract beside a PNG: each artifact
// is there, and the metadata is the page's, bounded and with unsafe URLs
// dropped.
func TestRenderURLExtractArtifacts(t *testing.T) {
	s := extractSite(t)
	p := localPool(t)
	res, img := renderPNG(t, p, URLRequest{URL: s.URL + "/", Width: 400, Height: 300,
		Extract: Extract{HTML: true, MHTML: true, Markdown: true, Metadata: true}})
	wantSize(t, img, 400, 300)
	ex := res.Extracted
	if ex == nil || !bytes.Contains(ex.HTML, []byte(`id="added"`)) || !bytes.HasPrefix(ex.MHTML, []byte("From: <Saved by Blink>")) ||
		!bytes.Contains(ex.Markdown, []byte("# Main Heading")) {
		t.Fatalf("artifacts missing: %+v", ex)
	}
	m := ex.Metadata
	want := PageMetadata{URLRequested: s.URL + "/", URLResolved: s.URL + "/", Title: "The Title", Description: "A page about things",
		Author: "Ada", Image: s.URL + "/og.png", Lang: "fr", Charset: "UTF-8", Canonical: s.URL + "/canonical", Favicon: s.URL + "/fav.ico",
		OgTitle: "OG Title", OgImage: s.URL + "/og.png", TwitterCard: "summary_large_image"}
	if *m != want {
		t.Fatalf("metadata\n got %+v\nwant %+v", *m, want)
	}

	t.Run("nothing asked", func(t *testing.T) {
		res, _ := renderPNG(t, p, URLRequest{URL: s.URL + "/", Width: 400, Height: 300})
		if res.Extracted != nil {
			t.Fatalf("Extracted = %+v, want nil", res.Extracted)
		}
	})
}

// TestRenderURLArtifactTooLarge checks the cap: a page whose HTML is over
// MaxArtifactBytes fails the render rather than being stored.
func TestRenderURLArtifactTooLarge(t *testing.T) {
	p := localPool(t)
	js := `document.body.append(document.createComment("x".repeat(` + strconv.Itoa(MaxArtifactBytes+1) + `)))` // not laid out
	_, err := p.RenderURL(context.Background(), URLRequest{HTML: "<p>small</p>", JS: js, Format: FormatHTML})
	if !errors.Is(err, ErrArtifactTooLarge) {
		t.Fatalf("err = %v, want ErrArtifactTooLarge", err)
	}
}

// TestRenderURLAVIF checks the avif format by decoding it (with
// gen2brain/avif's decoder, not the encoder's tools): the right size, and
// the colours where the page has them.
func TestRenderURLAVIF(t *testing.T) {
	if !AVIFAvailable() {
		t.Skip("avifenc not installed (scripts/install-deps.sh)")
	}
	p := localPool(t)
	doc := `<body style="margin:0;background:rgb(255,0,0)"><div style="width:640px;height:512px;background:rgb(0,0,255)"></div>`
	res := renderAs(t, p, URLRequest{HTML: doc, Format: FormatAVIF, Width: 1280, Height: 1024})
	img, err := avif.Decode(bytes.NewReader(res.Data))
	if err != nil {
		t.Fatal(err)
	}
	wantSize(t, img, 1280, 1024)
	for _, c := range []struct {
		x, y int
		want [3]int
	}{{100, 100, [3]int{0, 0, 255}}, {1000, 100, [3]int{255, 0, 0}}, {300, 900, [3]int{255, 0, 0}}} {
		r, g, b, _ := img.At(c.x, c.y).RGBA()
		got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
		for i := range got {
			if d := got[i] - c.want[i]; d > 24 || d < -24 {
				t.Errorf("pixel (%d,%d) = %v, want about %v", c.x, c.y, got, c.want)
				break
			}
		}
	}
}

// FuzzPageMetadataBound checks that whatever a page's tags say, every
// metadata value comes out valid UTF-8, without control characters, within
// maxMetaValue bytes, and URL values absolute http(s) or empty.
func FuzzPageMetadataBound(f *testing.F) {
	f.Add("javascript:alert(1)", "<script>x</script>\u2028\x00")
	f.Add("https://example.com/a", strings.Repeat("é", 3000))
	f.Fuzz(func(t *testing.T, u, s string) {
		m := PageMetadata{Title: s, Description: s + s, Favicon: u, OgURL: u, Image: s, Canonical: u}
		m.bound()
		for _, v := range []string{m.Title, m.Description, m.Image} {
			if !utf8.ValidString(v) || len(v) > maxMetaValue || strings.ContainsAny(v, "\x00\n\r\u2028") {
				t.Fatalf("value %q is not bounded", v)
			}
		}
		for _, v := range []string{m.Favicon, m.OgURL, m.Canonical, m.Image} {
			if v != "" && !httpURL(v) {
				t.Fatalf("url %q is not http(s)", v)
			}
		}
	})
}
