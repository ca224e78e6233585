package render

import (
	"strings"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the v1 rows of Urlbox's extraction options (#16):
// save_html, save_mhtml, save_markdown, save_metadata and the boolean
// metadata, and webhook_metadata, the JSON object echoed in webhooks that
// renderhook called metadata before Urlbox's boolean took that name.
// The formats avif, html, mhtml and md are values of the format row
// (v1table.go); what the browser does is in browser/urlextract.go, what is
// stored and answered in artifacts.go.

// echoOption is the option name of the webhook echo.
const echoOption = "webhook_metadata"

var v1ExtractRows = []v1Option{
	reqBool("save_html", FamilyExtraction, "Also store the page's HTML (the DOM after its scripts ran); its URL is htmlUrl.",
		func(r *browser.URLRequest, b bool) { r.Extract.HTML = b }),
	reqBool("save_mhtml", FamilyExtraction, "Also store the page as MHTML (Chromium's snapshot); its URL is mhtmlUrl.",
		func(r *browser.URLRequest, b bool) { r.Extract.MHTML = b }),
	reqBool("save_markdown", FamilyExtraction, "Also store Markdown of the page's main content; its URL is markdownUrl.",
		func(r *browser.URLRequest, b bool) { r.Extract.Markdown = b }),
	{OptionSpec: OptionSpec{Name: "save_metadata", Type: TypeBoolean, Default: false, Family: FamilyExtraction, Supported: true,
		Doc: "Also store the page's metadata as JSON; its URL is metadataUrl."},
		set: setBool(func(o *URLOptions, b bool) { o.SaveMetadata = b })},
	{OptionSpec: OptionSpec{Name: "metadata", Type: TypeBoolean, Default: false, Family: FamilyExtraction, Supported: true,
		Doc: "Answer with the page's metadata (title, description, og:*, twitter:*, author, canonical, favicon, lang…) as metadata, in the JSON answer and the render.succeeded webhook. An object here is the old spelling of webhook_metadata."},
		set: setBool(func(o *URLOptions, b bool) { o.PageMetadata = b })},
	{OptionSpec: OptionSpec{Name: echoOption, Type: TypeObject, Family: FamilyWebhooks, Supported: true,
		Doc: "A JSON object (at most 16 KiB) echoed as metadata at the top of the render's webhooks."},
		set: func(st *v1State, v any) error {
			md, err := parseMetadata(st.echoName(), v)
			st.o.Metadata = md
			return err
		},
		then: checkExtract},
}

// echoName is the name the client gave the webhook echo: webhook_metadata,
// or metadata in its old spelling.
func (st *v1State) echoName() string {
	if st.legacyEcho {
		return "metadata"
	}
	return echoOption
}

// legacyEcho moves an object given as metadata, renderhook's name for the
// webhook echo before Urlbox's boolean metadata took it, to
// webhook_metadata. The two spellings cannot be confused: Urlbox's metadata
// is a boolean, the echo a JSON object (in a query, its text, which starts
// with "{").
func legacyEcho(m map[string]any, st *v1State) error {
	v, ok := m["metadata"]
	if !ok {
		return nil
	}
	isObject := false
	switch x := v.(type) {
	case map[string]any:
		isObject = true
	case string:
		isObject = strings.HasPrefix(strings.TrimSpace(x), "{")
	}
	if !isObject {
		return nil
	}
	if _, both := m[echoOption]; both {
		return errorf("give option %q or an object as option \"metadata\" (its old name), not both", echoOption)
	}
	delete(m, "metadata")
	m[echoOption] = v
	st.legacyEcho = true
	return nil
}

// checkExtract asks the browser for the metadata either option wants, and
// refuses avif on a server without its encoder and capture options that
// mean nothing to a format read from the DOM.
func checkExtract(st *v1State) error {
	r := st.r
	r.Extract.Metadata = st.o.SaveMetadata || st.o.PageMetadata
	if r.Format == browser.FormatAVIF && !browser.AVIFAvailable() {
		return optErr("format", "avif needs avifenc (Debian's libavif-bin), which this server lacks")
	}
	if !r.Format.IsText() {
		return nil
	}
	for _, c := range []struct {
		name  string
		given bool
	}{
		{"full_page", r.FullPage}, {"selector", r.Selector != ""}, {"clip", r.Clip != nil},
		{"thumb_width", r.ThumbWidth > 0}, {"thumb_height", r.ThumbHeight > 0},
	} {
		if c.given {
			return optErr(c.name, "applies to images and pdf, not %s (taken from the page's DOM)", r.Format)
		}
	}
	return nil
}
