package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	htmltomarkdown "github.com/JohannesKaufmann/html-to-markdown/v2"
	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/chromedp/cdproto/page"
)

// This file makes what a URL render takes from the page's DOM rather than
// its pixels: the formats html, mhtml and md, and the artifacts of Extract
// (Urlbox's save_html, save_mhtml, save_markdown, save_metadata and
// metadata). Everything is taken once the page is ready for capture (after
// css, js, waits and interactions), on the render's context, so its
// deadline bounds it. (The avif format is encoded in urlavif.go.)

// MaxArtifactBytes caps each text a URL render takes from the page (its
// HTML, MHTML or Markdown, as a format or an artifact): a page past it
// fails with ErrArtifactTooLarge rather than filling the bucket.
const MaxArtifactBytes = 32 << 20

// Bounds of the page metadata: every value is the page's own text, so
// hostile.
const (
	maxMetaValue = 2048     // bytes of one value, cut at a rune boundary
	maxMetaJSON  = 64 << 10 // bytes of what the page's script may answer
)

// ErrArtifactTooLarge: the page's HTML, MHTML or Markdown is over
// MaxArtifactBytes.
var ErrArtifactTooLarge = errors.New("page content is too large")

// Extract asks a URL render for more than its file. Each is taken from the
// page as it is when captured.
type Extract struct {
	// HTML is the DOM serialised after the page's scripts ran.
	HTML bool
	// MHTML is Chromium's snapshot (Page.captureSnapshot).
	MHTML bool
	// Markdown is Markdown of the page's main content.
	Markdown bool
	// Metadata is the page's metadata (PageMetadata).
	Metadata bool
	// CustomData names a page variable (a property path from window, like
	// "app.state", see ValidCustomDataPath) whose value is returned as
	// JSON (urlpage.go).
	CustomData string
}

func (e Extract) any() bool {
	return e.HTML || e.MHTML || e.Markdown || e.Metadata || e.CustomData != ""
}

// Extracted is what Extract asked for; a field is nil (or empty) when it
// was not asked for.
type Extracted struct {
	HTML, MHTML, Markdown []byte
	Metadata              *PageMetadata
	// CustomData is the JSON of Extract.CustomData's value (null when the
	// page has no such variable), at most MaxCustomData bytes.
	CustomData json.RawMessage
}

// PageMetadata is what a page says about itself, in the names of Urlbox's
// metadata object: its <title> and <meta> tags (description, author,
// Open Graph og:*, Twitter twitter:*), its canonical link, favicon and
// language. Every value is the page's own text, cut to maxMetaValue bytes
// of valid UTF-8; URL values are absolute http(s) URLs or left out.
type PageMetadata struct {
	URLRequested string `json:"urlRequested,omitempty"`
	URLResolved  string `json:"urlResolved,omitempty"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	Author       string `json:"author,omitempty"`
	Publisher    string `json:"publisher,omitempty"`
	Date         string `json:"date,omitempty"`
	Image        string `json:"image,omitempty"`
	Lang         string `json:"lang,omitempty"`
	Charset      string `json:"charset,omitempty"`
	Canonical    string `json:"canonical,omitempty"`
	Favicon      string `json:"favicon,omitempty"`
	Keywords     string `json:"keywords,omitempty"`

	OgTitle       string `json:"ogTitle,omitempty"`
	OgDescription string `json:"ogDescription,omitempty"`
	OgImage       string `json:"ogImage,omitempty"`
	OgURL         string `json:"ogUrl,omitempty"`
	OgType        string `json:"ogType,omitempty"`
	OgSiteName    string `json:"ogSiteName,omitempty"`
	OgLocale      string `json:"ogLocale,omitempty"`

	TwitterCard        string `json:"twitterCard,omitempty"`
	TwitterSite        string `json:"twitterSite,omitempty"`
	TwitterCreator     string `json:"twitterCreator,omitempty"`
	TwitterTitle       string `json:"twitterTitle,omitempty"`
	TwitterDescription string `json:"twitterDescription,omitempty"`
	TwitterImage       string `json:"twitterImage,omitempty"`
}

// metadataScript reads the page's metadata. Link values are read through
// the elements' properties, so they come back absolute; the page can
// tamper with what this sees, which is why Go bounds every value again.
const metadataScript = `(() => {
  const cut = (s) => typeof s === "string" ? s.slice(0, 4096) : "";
  const meta = (...keys) => { for (const k of keys) {
    const e = document.querySelector('meta[property="' + k + '"], meta[name="' + k + '"]');
    if (e && e.content) return cut(e.content); } return ""; };
  const link = (sel) => { const e = document.querySelector(sel); return e && e.href ? cut(e.href) : ""; };
  let favicon = link('link[rel~="icon"]') || link('link[rel="apple-touch-icon"]');
  if (!favicon && /^https?:$/.test(location.protocol)) favicon = location.origin + "/favicon.ico";
  return {
    urlResolved: cut(location.href), title: cut(document.title),
    description: meta("description", "og:description", "twitter:description"),
    author: meta("author", "article:author"), publisher: meta("publisher", "og:site_name"),
    date: meta("article:published_time", "date", "dc.date"),
    image: meta("og:image", "og:image:url", "twitter:image"),
    lang: cut(document.documentElement.lang), charset: cut(document.characterSet),
    canonical: link('link[rel="canonical"]'), favicon, keywords: meta("keywords"),
    ogTitle: meta("og:title"), ogDescription: meta("og:description"), ogImage: meta("og:image", "og:image:url"),
    ogUrl: meta("og:url"), ogType: meta("og:type"), ogSiteName: meta("og:site_name"), ogLocale: meta("og:locale"),
    twitterCard: meta("twitter:card"), twitterSite: meta("twitter:site"), twitterCreator: meta("twitter:creator"),
    twitterTitle: meta("twitter:title"), twitterDescription: meta("twitter:description"), twitterImage: meta("twitter:image"),
  };
})()`

// htmlScript serialises the DOM with its doctype; past max UTF-16 units it
// answers null rather than the text.
func htmlScript(max int) string {
	return fmt.Sprintf(`(() => { const d = document.doctype;
  const s = (d ? new XMLSerializer().serializeToString(d) + "\n" : "") + document.documentElement.outerHTML;
  return s.length > %d ? null : s; })()`, max)
}

// mainContentScript returns the HTML of the page's main content: its
// <main>, role=main or <article>, else its body, without scripts, styles,
// navigation, forms and hidden parts; null past max UTF-16 units.
func mainContentScript(max int) string {
	return fmt.Sprintf(`(() => {
  const root = document.querySelector('main, [role="main"], article') || document.body || document.documentElement;
  const c = root.cloneNode(true);
  const drop = 'script, style, noscript, template, iframe, object, embed, svg, canvas, nav, aside, form, button, dialog, [hidden], [aria-hidden="true"]';
  c.querySelectorAll(drop).forEach((e) => e.remove());
  if (root === document.body) c.querySelectorAll(':scope > header, :scope > footer').forEach((e) => e.remove());
  const s = c.outerHTML;
  return s.length > %d ? null : {html: s, base: document.baseURI};
})()`, max)
}

// extract takes what req.Extract asks for, and the file itself when the
// format is html, mhtml or md.
func (r *urlRun) extract(ctx context.Context) (*Extracted, error) {
	e := r.req.Extract
	switch r.req.Format {
	case FormatHTML:
		e.HTML = true
	case FormatMHTML:
		e.MHTML = true
	case FormatMarkdown:
		e.Markdown = true
	}
	if !e.any() {
		return nil, nil
	}
	out := &Extracted{}
	for _, t := range []struct {
		on   bool
		dst  *[]byte
		take func(context.Context) ([]byte, error)
	}{{e.HTML, &out.HTML, r.pageHTML}, {e.MHTML, &out.MHTML, r.pageMHTML}, {e.Markdown, &out.Markdown, r.pageMarkdown}} {
		if !t.on {
			continue
		}
		data, err := t.take(ctx)
		if err != nil {
			return nil, err
		}
		*t.dst = data
	}
	if e.Metadata {
		var err error
		if out.Metadata, err = r.pageMetadata(ctx); err != nil {
			return nil, err
		}
	}
	if e.CustomData != "" {
		var err error
		if out.CustomData, err = r.customData(ctx, e.CustomData); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func tooLarge(what string) error {
	return fmt.Errorf("%w: the page's %s is over %d bytes", ErrArtifactTooLarge, what, MaxArtifactBytes)
}

func (r *urlRun) pageHTML(ctx context.Context) ([]byte, error) {
	var s *string
	if err := evaluate(ctx, htmlScript(MaxArtifactBytes), &s); err != nil {
		return nil, fmt.Errorf("serialise page: %w", err)
	}
	if s == nil || len(*s) > MaxArtifactBytes {
		return nil, tooLarge("HTML")
	}
	return []byte(*s), nil
}

// domTooLargeScript answers whether the serialised DOM is past max UTF-16
// units, in the page: the snapshot it would be part of comes over the
// DevTools connection whole before Go can check its size.
func domTooLargeScript(max int) string {
	return fmt.Sprintf(`document.documentElement.outerHTML.length > %d`, max)
}

func (r *urlRun) pageMHTML(ctx context.Context) ([]byte, error) {
	var over bool
	if err := evaluate(ctx, domTooLargeScript(MaxArtifactBytes), &over); err != nil {
		return nil, fmt.Errorf("measure page: %w", err)
	}
	if over {
		return nil, tooLarge("MHTML")
	}
	s, err := page.CaptureSnapshot().WithFormat(page.CaptureSnapshotFormatMhtml).Do(ctx)
	if err != nil {
		return nil, fmt.Errorf("capture mhtml snapshot: %w", err)
	}
	if len(s) > MaxArtifactBytes {
		return nil, tooLarge("MHTML")
	}
	return []byte(s), nil
}

func (r *urlRun) pageMarkdown(ctx context.Context) ([]byte, error) {
	var main *struct{ HTML, Base string }
	if err := evaluate(ctx, mainContentScript(MaxArtifactBytes), &main); err != nil {
		return nil, fmt.Errorf("read main content: %w", err)
	}
	if main == nil || len(main.HTML) > MaxArtifactBytes {
		return nil, tooLarge("main content")
	}
	opts := []converter.ConvertOptionFunc{converter.WithContext(ctx)}
	if u, err := url.Parse(main.Base); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		opts = append(opts, converter.WithDomain(u.Scheme+"://"+u.Host))
	}
	md, err := htmltomarkdown.ConvertString(main.HTML, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("convert to markdown: %w", ctx.Err())
		}
		return nil, fmt.Errorf("convert to markdown: %w", err)
	}
	if len(md) > MaxArtifactBytes {
		return nil, tooLarge("Markdown")
	}
	return []byte(md), nil
}

// pageMetadata reads the page's metadata and bounds it (see PageMetadata).
func (r *urlRun) pageMetadata(ctx context.Context) (*PageMetadata, error) {
	var raw json.RawMessage
	if err := evaluate(ctx, metadataScript, &raw); err != nil {
		return nil, fmt.Errorf("read page metadata: %w", err)
	}
	m := &PageMetadata{}
	if len(raw) <= maxMetaJSON {
		_ = json.Unmarshal(raw, m) // a tampered page's odd answer leaves fields empty
	}
	m.URLRequested = r.req.URL
	m.bound()
	return m, nil
}

// bound cuts every value to maxMetaValue bytes of valid UTF-8 without
// control characters, resolves URL values against the page's URL and
// drops those that are not then http(s) URLs (javascript:, data:, …).
func (m *PageMetadata) bound() {
	for _, f := range []*string{&m.URLRequested, &m.URLResolved, &m.Title, &m.Description, &m.Author, &m.Publisher,
		&m.Date, &m.Image, &m.Lang, &m.Charset, &m.Canonical, &m.Favicon, &m.Keywords,
		&m.OgTitle, &m.OgDescription, &m.OgImage, &m.OgURL, &m.OgType, &m.OgSiteName, &m.OgLocale,
		&m.TwitterCard, &m.TwitterSite, &m.TwitterCreator, &m.TwitterTitle, &m.TwitterDescription, &m.TwitterImage} {
		*f = cleanMeta(*f)
	}
	base, _ := url.Parse(m.URLResolved)
	if !httpURL(m.URLResolved) {
		base, m.URLResolved = nil, ""
	}
	for _, f := range []*string{&m.Image, &m.Canonical, &m.Favicon, &m.OgImage, &m.OgURL, &m.TwitterImage} {
		// Tags may hold relative URLs: resolve them against the page's.
		if u, err := url.Parse(*f); err == nil && base != nil && *f != "" {
			*f = cleanMeta(base.ResolveReference(u).String())
		}
		if !httpURL(*f) {
			*f = ""
		}
	}
}

// cleanMeta is s as valid UTF-8 with control characters turned to spaces,
// trimmed, and cut to maxMetaValue bytes at a rune boundary.
func cleanMeta(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029 {
			return ' '
		}
		return c
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxMetaValue {
		cut := maxMetaValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// httpURL reports whether s is an absolute http(s) URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
