package apidoc

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/render"
)

// sample is a valid value of an option, with the format it needs.
func sample(o V1Option) (value any, format string) {
	if strings.HasPrefix(o.Name, "pdf_") || o.Name == "media" {
		format = "pdf"
	}
	if o.Name == "quality" {
		format = "jpeg"
	}
	switch {
	case len(o.Enum) > 0:
		return o.Enum[0], format
	case o.Min != nil:
		return *o.Min, format
	}
	switch o.Type {
	case "boolean":
		return true, format
	case "list":
		if o.Name == "header" {
			return []string{"X-A: b"}, format
		}
		if o.Name == "disable_events" {
			return []string{"scroll"}, format
		}
		return []string{"a=b"}, format
	case "clip":
		return "0,0,10,10", format
	case "object":
		return map[string]any{"k": 1}, format
	}
	switch o.Name {
	case "webhook_url":
		return "https://hooks.example.com/x", format
	case "proxy":
		return "http://user:pass@proxy.example.com:3128", format
	case "s3_bucket":
		return "my-bucket", format
	case "s3_endpoint":
		return "https://s3.example.com", format
	case "s3_presigned_url":
		return "https://s3.example.com/bucket/key.png?X-Amz-Signature=x", format
	case "cdn_host":
		return "cdn.example.com", format
	case "pdf_page_size":
		return "a4", format
	case "pdf_page_range":
		return "1-2", format
	case "img_bg", "watermark_color", "watermark_bgcolor":
		return "#ff0000", format
	case "img_pad":
		return "10", format
	case "watermark_url":
		return "https://img.example.com/logo.png", format
	case "watermark_width", "watermark_height":
		return "120", format
	case "watermark_style":
		return "opacity: 0.5", format
	case "base_url":
		return "https://cdn.example.com/", format
	}
	return "x", format
}

// companions are the options an option is only valid with: pairs that go
// together, and groups of options that share theirs (companionGroups).
var companions = map[string]map[string]any{
	"latitude":        {"longitude": 0},
	"longitude":       {"latitude": 0},
	"accuracy":        {"latitude": 0, "longitude": 0},
	"pdf_page_width":  {"pdf_page_height": 100},
	"pdf_page_height": {"pdf_page_width": 100},
	"img_fit":         {"thumb_width": 100, "thumb_height": 100},
	"img_position":    {"thumb_width": 100, "thumb_height": 100, "img_fit": "cover"},
	"img_bg":          {"img_pad": "1"},
	"allow_infinite":  {"lazyload": true},
	"s3_key":          {"use_s3": true, "s3_secret": "secret"},
	"s3_secret":       {"use_s3": true, "s3_key": "key"},
}

// companionGroups are options that go with the same others.
var companionGroups = []struct {
	with  map[string]any
	names []string
}{
	{map[string]any{"full_page": true}, []string{"full_page_mode", "detect_full_height", "freeze_fixed", "fix_full_height"}},
	{map[string]any{"full_page": true, "full_width": true}, []string{"max_width"}},
	// The stitch options, of v1_capture.go and v1_capture.go.
	{map[string]any{"full_page": true, "full_page_mode": "stitch"}, []string{"max_section_height", "sharp_stitch", "show_sections", "show_seams", "max_sections"}},
	{map[string]any{"full_page": true, "full_width": true, "full_page_mode": "stitch"}, []string{"max_section_width", "max_xsections"}},
	{map[string]any{"watermark_text": "x"}, []string{"watermark_color", "watermark_bgcolor", "watermark_opacity", "watermark_size",
		"watermark_position", "watermark_blend", "watermark_repeat", "watermark_angle", "watermark_style"}},
	{map[string]any{"watermark_url": "https://img.example.com/logo.png"}, []string{"watermark_width", "watermark_height"}},
	// The storage options go with use_s3 (or a presigned URL).
	{map[string]any{"use_s3": true}, []string{"s3_path", "s3_bucket", "no_suffix", "s3_endpoint", "s3_region", "s3_private_bucket",
		"s3_force_path_style", "s3_storageclass", "cdn_host"}},
	// Options of html renders (v1_xpath.go): the url is dropped.
	{map[string]any{"html": "<p>x</p>"}, []string{"base_url", "use_tailwind"}},
}

func init() {
	for _, g := range companionGroups {
		for _, name := range g.names {
			companions[name] = maps.Clone(g.with)
		}
	}
	// The video options (v1_video.go) apply to the video formats.
	for _, o := range render.V1Options() {
		if strings.HasPrefix(o.Name, "video_") {
			companions[o.Name] = map[string]any{"format": "mp4"}
		}
	}
	companions["video_ease_end"]["video_scroll_back_duration"] = 500
}

func parse(t *testing.T, opts map[string]any) error {
	t.Helper()
	data, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = render.ParseV1Body(data)
	return err
}

// TestV1OptionsKnownToParser: every documented v1 option is one
// render.ParseV1Body takes, its bounds are the parser's (a value just past
// Max is refused), and the parser refuses names outside the table.
func TestV1OptionsKnownToParser(t *testing.T) {
	opts := V1Options()
	if len(opts) < 30 {
		t.Fatalf("%d v1 options documented", len(opts))
	}
	for _, o := range opts {
		v, format := sample(o)
		m := map[string]any{o.Name: v}
		if o.Name != "url" && o.Name != "html" {
			m["url"] = "https://example.com"
		}
		if o.Name == "cookie" || o.Name == "header" {
			m["url"] = "https://example.com"
		}
		if format != "" && o.Name != "format" {
			m["format"] = format
		}
		for k, cv := range companions[o.Name] {
			m[k] = cv
		}
		if _, ok := m["html"]; ok && o.Name != "html" {
			delete(m, "url")
		}
		if err := parse(t, m); err != nil {
			t.Errorf("documented option %s=%v: %v", o.Name, v, err)
		}
		if o.Max != nil {
			m[o.Name] = *o.Max + 1
			if err := parse(t, m); err == nil {
				t.Errorf("option %s: %v past the documented maximum %v was accepted", o.Name, *o.Max+1, *o.Max)
			}
		}
	}
	if err := parse(t, map[string]any{"url": "https://example.com", "not_an_option": 1}); err == nil {
		t.Error("the parser took an unknown option: this test cannot tell documented options from others")
	}
}

type inner struct {
	N int `json:"n"`
}

type sampleJSON struct {
	Name    string            `json:"name" doc:"The name."`
	Kind    string            `json:"kind" enum:"a,b"`
	Opt     string            `json:"opt,omitempty"`
	When    time.Time         `json:"when"`
	Maybe   *time.Time        `json:"maybe"`
	List    []inner           `json:"list"`
	Map     map[string]int    `json:"map"`
	Any     any               `json:"any"`
	Raw     json.RawMessage   `json:"raw"`
	Ptr     *inner            `json:"ptr"`
	Skip    string            `json:"-"`
	private string            //nolint:unused // not exported: not in the schema
	Nested  struct{ X bool }  `json:"nested"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// TestSchemaOfStruct: struct schemas follow encoding/json.
func TestSchemaOfStruct(t *testing.T) {
	s := newSchemas()
	ref := s.of(sampleJSON{})
	if ref["$ref"] != "#/components/schemas/Sample" {
		t.Fatalf("ref = %v", ref)
	}
	sc := s.components["Sample"]
	props := sc["properties"].(Schema)
	got := func(name string) string { b, _ := json.Marshal(props[name]); return string(b) }
	want := map[string]string{
		"name":   `{"description":"The name.","type":"string"}`,
		"kind":   `{"enum":["a","b"],"type":"string"}`,
		"when":   `{"format":"date-time","type":"string"}`,
		"maybe":  `{"format":"date-time","type":["string","null"]}`,
		"list":   `{"items":{"$ref":"#/components/schemas/Inner"},"type":["array","null"]}`,
		"map":    `{"additionalProperties":{"type":"integer"},"type":["object","null"]}`,
		"any":    `{}`,
		"raw":    `{}`,
		"ptr":    `{"anyOf":[{"$ref":"#/components/schemas/Inner"},{"type":"null"}]}`,
		"nested": `{"additionalProperties":false,"properties":{"X":{"type":"boolean"}},"required":["X"],"type":"object"}`,
	}
	for name, w := range want {
		if g := got(name); g != w {
			t.Errorf("%s: %s, want %s", name, g, w)
		}
	}
	for _, absent := range []string{"Skip", "private", "-"} {
		if _, ok := props[absent]; ok {
			t.Errorf("%s is in the schema", absent)
		}
	}
	req := fmt.Sprint(sc["required"])
	if strings.Contains(req, "opt") || strings.Contains(req, "labels") || !strings.Contains(req, "name") {
		t.Errorf("required = %s: omitempty fields are optional, others required", req)
	}
	if sc["additionalProperties"] != false {
		t.Error("struct schemas must allow no other property")
	}
}

// TestBuildAndPage: a document with a wildcard route builds, its path
// parameter comes from the pattern, duplicates are refused, and the page
// shows the operation and its schema with no script.
func TestBuildAndPage(t *testing.T) {
	d := Doc{Title: "t", Version: "v", Tags: []Tag{{Name: "files"}}, Operations: []Operation{{
		Method: "GET", Pattern: "/files/{key...}", Tag: "files", Summary: "A file",
		Responses: []Response{{Status: 200, JSON: sampleJSON{}}, {Status: 404, Media: []string{"image/png"}}},
	}}}
	doc, err := Build(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"/files/{key}"`, `"name": "key"`, `"in": "path"`, `"openapi": "3.1.1"`, `"get_files_key"`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("document lacks %s", want)
		}
	}
	page, err := Page(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/files/{key}", "A file", `id="schema-Sample"`, "The name."} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "<script") {
		t.Error("the page has a script")
	}
	if !strings.Contains(string(page), "<style>"+pageCSS+"</style>") {
		t.Error("the page's stylesheet is not the embedded one verbatim (its CSP hash would not match)")
	}
	d.Operations = append(d.Operations, d.Operations[0])
	if _, err := Build(d); err == nil {
		t.Error("a route described twice was accepted")
	}
}
