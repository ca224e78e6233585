package render

import (
	"net/url"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
)

// TestV1ExtractOptionsParse: each extraction option lands where the
// browser and the answer read it.
func TestV1ExtractOptionsParse(t *testing.T) {
	wantParsed(t, []parsedCase[extracted]{
		{map[string]any{"save_html": true}, extracted{Extract: browser.Extract{HTML: true}}},
		{map[string]any{"save_mhtml": "true"}, extracted{Extract: browser.Extract{MHTML: true}}},
		{map[string]any{"save_markdown": true}, extracted{Extract: browser.Extract{Markdown: true}}},
		{map[string]any{"save_metadata": true}, extracted{Extract: browser.Extract{Metadata: true}, Save: true}},
		{map[string]any{"metadata": true}, extracted{Extract: browser.Extract{Metadata: true}, Page: true}},
		{map[string]any{"metadata": false, "save_metadata": true}, extracted{Extract: browser.Extract{Metadata: true}, Save: true}},
		{map[string]any{"metadata": "false"}, extracted{}},
	}, func(o *URLOptions) extracted {
		return extracted{Extract: o.Request.Extract, Save: o.SaveMetadata, Page: o.PageMetadata, Echo: o.Metadata != nil}
	})
}

// extracted is what the extraction options set: the browser's Extract,
// SaveMetadata, PageMetadata, and whether there is a webhook echo.
type extracted struct {
	browser.Extract
	Save, Page, Echo bool
}

// TestV1MetadataBothMeanings: a boolean metadata is Urlbox's, an object
// (or in a query its JSON text) is the webhook echo by its old name, and
// webhook_metadata is the echo by its new one.
func TestV1MetadataBothMeanings(t *testing.T) {
	o, err := parseWith(t, map[string]any{"metadata": map[string]any{"order": 7}})
	if err != nil || string(o.Metadata) != `{"order":7}` || o.PageMetadata || o.Request.Extract.Metadata {
		t.Fatalf("object metadata: %+v %v", o, err)
	}
	o, err = parseWith(t, map[string]any{"webhook_metadata": map[string]any{"order": 7}, "metadata": true})
	if err != nil || string(o.Metadata) != `{"order":7}` || !o.PageMetadata || !o.Request.Extract.Metadata {
		t.Fatalf("webhook_metadata with metadata true: %+v %v", o, err)
	}
	q := url.Values{"url": {"https://a.example"}, "metadata": {`{"order":7}`}}
	if o, err = ParseV1Query(q, "png"); err != nil || string(o.Metadata) != `{"order":7}` || o.PageMetadata {
		t.Fatalf("query object metadata: %+v %v", o, err)
	}
	q = url.Values{"url": {"https://a.example"}, "metadata": {"true"}}
	if o, err = ParseV1Query(q, "png"); err != nil || o.Metadata != nil || !o.PageMetadata {
		t.Fatalf("query boolean metadata: %+v %v", o, err)
	}

	wantRefused(t, []refusal{
		{map[string]any{"metadata": "yes"}, `option "metadata" must be true or false`},
		{map[string]any{"metadata": []any{1}}, `option "metadata" must be true or false`},
		{map[string]any{"metadata": "{oops"}, `option "metadata" must be a JSON object`},
		{map[string]any{"metadata": map[string]any{"a": strings.Repeat("x", maxV1Metadata)}}, `option "metadata" must be at most`},
		{map[string]any{"webhook_metadata": "[1]"}, `option "webhook_metadata" must be a JSON object`},
		{map[string]any{"metadata": map[string]any{}, "webhook_metadata": map[string]any{}}, `not both`},
	})
}

// TestV1ExtractFormats: the new formats parse (from the option and from a
// link's path), and capture options that mean nothing to a text format
// are refused by name.
func TestV1ExtractFormats(t *testing.T) {
	for _, f := range []string{"avif", "html", "mhtml", "md", "MD"} {
		o, err := parseWith(t, map[string]any{"format": f})
		if err != nil || string(o.Request.Format) != strings.ToLower(f) {
			t.Errorf("format %s: %v %v", f, o, err)
		}
		if o, err := ParseV1Query(url.Values{"url": {"https://a.example"}}, f); err != nil || string(o.Request.Format) != strings.ToLower(f) {
			t.Errorf("path format %s: %v %v", f, o, err)
		}
	}
	if o, err := parseWith(t, map[string]any{"format": "avif", "quality": 40}); err != nil || o.Request.Quality != 40 {
		t.Errorf("avif quality: %v %v", o, err)
	}
	wantRefused(t, []refusal{
		{map[string]any{"format": "html", "full_page": true}, "full_page"},
		{map[string]any{"format": "md", "selector": "main"}, "selector"},
		{map[string]any{"format": "mhtml", "clip": "0,0,10,10"}, "clip"},
		{map[string]any{"format": "md", "thumb_width": 100}, "thumb_width"},
		{map[string]any{"format": "html", "quality": 50}, "quality"},
		{map[string]any{"format": "svg"}, "format"},
	})
}

// TestV1CacheKeyExtract: what the browser extracts is in the cache key
// (a cached render has the artifacts the request asks for); the echo and
// which way the metadata is answered are not.
func TestV1CacheKeyExtract(t *testing.T) {
	key := func(opts map[string]any) string { return cacheKey(t, "spc", opts) }
	plain := key(nil)
	for _, opts := range []map[string]any{{"save_html": true}, {"save_mhtml": true}, {"save_markdown": true}, {"metadata": true}, {"format": "md"}} {
		if key(opts) == plain {
			t.Errorf("%v does not change the cache key", opts)
		}
	}
	if key(map[string]any{"metadata": true}) != key(map[string]any{"save_metadata": true}) {
		t.Error("metadata and save_metadata extract the same, yet their keys differ")
	}
	if key(map[string]any{"webhook_metadata": map[string]any{"a": 1}}) != plain {
		t.Error("webhook_metadata changes the cache key")
	}
}
