package apidoc

import (
	"time"

	"github.com/renderhook/renderhook/internal/render"
)

// V1Option is one option of the v1 (Urlbox-compatible) API as the document
// describes it: the body of POST /v1/render/* and the query of a signed
// render link.
type V1Option struct {
	Name string
	// Type is string, integer, number, boolean, list (a string or an
	// array of strings; repeated in a query), clip or object.
	Type     string
	Min, Max *float64
	Default  any
	Enum     []string
	// Family groups options on the reference page (source, viewport,
	// pdf…).
	Family string
	Doc    string
}

func num(f float64) *float64 { return &f }

// V1Options is the option table of the v1 API.
//
// It is the one adapter between render's v1 parser and this document.
// render.parseV1 is not yet a table, so today the entries are written here
// from internal/render/v1options.go, using the bounds render exports
// (DefaultV1Width, DefaultV1Height, MaxV1Timeout, MaxV1TTL); a test
// (TestV1OptionsKnownToParser) sends every entry, in and out of its bounds,
// through render.ParseV1Body so an entry the parser does not take fails.
// When render exports its declarative table (render.V1Options()), this
// function becomes a conversion of it and the list below goes.
func V1Options() []V1Option {
	ms := float64(time.Millisecond)
	return []V1Option{
		{Name: "url", Type: "string", Family: "source", Doc: "The page to render (a scheme-less host gets https://). Give url or html, not both."},
		{Name: "html", Type: "string", Family: "source", Doc: "HTML to render instead of a URL (at most 5 MiB)."},
		{Name: "format", Type: "string", Family: "output", Default: "png", Enum: []string{"png", "jpeg", "jpg", "webp", "pdf"}, Doc: "Output format; in a signed link the path's format segment, which this option must agree with."},
		{Name: "width", Type: "integer", Family: "viewport", Min: num(1), Max: num(10000), Default: render.DefaultV1Width, Doc: "Viewport width in CSS pixels."},
		{Name: "height", Type: "integer", Family: "viewport", Min: num(1), Max: num(10000), Default: render.DefaultV1Height, Doc: "Viewport height in CSS pixels."},
		{Name: "full_page", Type: "boolean", Family: "viewport", Default: false, Doc: "Capture the whole scrollable page."},
		{Name: "selector", Type: "string", Family: "viewport", Doc: "Capture only the first element matching this CSS selector."},
		{Name: "clip", Type: "clip", Family: "viewport", Doc: "Capture a rectangle: \"x,y,width,height\" or {x,y,width,height}, whole pixels; not with selector."},
		{Name: "retina", Type: "boolean", Family: "viewport", Default: false, Doc: "Device scale factor 2."},
		{Name: "quality", Type: "integer", Family: "output", Min: num(1), Max: num(100), Doc: "JPEG/WebP quality (jpeg and webp only)."},
		{Name: "transparent", Type: "boolean", Family: "output", Default: false, Doc: "Transparent background (png and webp only)."},
		{Name: "delay", Type: "integer", Family: "waiting", Min: num(0), Max: num(float64(30*time.Second) / ms), Doc: "Milliseconds to wait after the page is ready."},
		{Name: "wait_for", Type: "string", Family: "waiting", Doc: "Wait until an element matching this CSS selector exists."},
		{Name: "wait_until", Type: "string", Family: "waiting", Enum: []string{"domloaded", "loaded", "requestsfinished", "mostrequestsfinished"}, Doc: "Which navigation event counts as ready."},
		{Name: "timeout", Type: "integer", Family: "waiting", Min: num(float64(time.Second) / ms), Max: num(float64(render.MaxV1Timeout) / ms), Doc: "Milliseconds the render may take."},
		{Name: "dark_mode", Type: "boolean", Family: "page", Default: false, Doc: "Emulate prefers-color-scheme: dark."},
		{Name: "css", Type: "string", Family: "page", Doc: "CSS injected into the page (at most 100 KiB)."},
		{Name: "js", Type: "string", Family: "page", Doc: "JavaScript run in the page before capture (at most 100 KiB)."},
		{Name: "user_agent", Type: "string", Family: "request", Doc: "User-Agent of the page's requests (one line)."},
		{Name: "header", Type: "list", Family: "request", Doc: "Extra request headers, \"Name: value\" (at most 50; not Host, Cookie and the like)."},
		{Name: "cookie", Type: "list", Family: "request", Doc: "Cookies, \"name=value\", set for the url's origin (at most 50; url renders only)."},
		{Name: "fail_on_4xx", Type: "boolean", Family: "request", Default: false, Doc: "Fail the render when the page answers 4xx."},
		{Name: "fail_on_5xx", Type: "boolean", Family: "request", Default: false, Doc: "Fail the render when the page answers 5xx."},
		{Name: "block_ads", Type: "boolean", Family: "request", Default: false, Doc: "Block requests to the embedded ad host list."},
		{Name: "pdf_page_size", Type: "string", Family: "pdf", Doc: "Paper size: A0–A6, Letter, Legal, Tabloid or Ledger (any case)."},
		{Name: "pdf_landscape", Type: "boolean", Family: "pdf", Default: false, Doc: "Landscape orientation."},
		{Name: "pdf_background", Type: "boolean", Family: "pdf", Default: true, Doc: "Print backgrounds."},
		{Name: "pdf_margin", Type: "string", Family: "pdf", Enum: []string{"none", "default", "minimum"}, Doc: "Named margins: 0, 10 or 5 mm on every side."},
		{Name: "pdf_margin_unit", Type: "string", Family: "pdf", Enum: []string{"mm"}, Doc: "Unit of the pdf_margin_* options; only mm."},
		{Name: "pdf_margin_top", Type: "number", Family: "pdf", Min: num(0), Max: num(100), Doc: "Top margin in mm."},
		{Name: "pdf_margin_right", Type: "number", Family: "pdf", Min: num(0), Max: num(100), Doc: "Right margin in mm."},
		{Name: "pdf_margin_bottom", Type: "number", Family: "pdf", Min: num(0), Max: num(100), Doc: "Bottom margin in mm."},
		{Name: "pdf_margin_left", Type: "number", Family: "pdf", Min: num(0), Max: num(100), Doc: "Left margin in mm."},
		{Name: "webhook_url", Type: "string", Family: "delivery", Doc: "Receives render.succeeded or render.failed."},
		{Name: "metadata", Type: "object", Family: "delivery", Doc: "A JSON object (in a query, its JSON text) echoed in the webhook payload (at most 16 KiB)."},
		{Name: "ttl", Type: "integer", Family: "cache", Min: num(0), Max: num(float64(render.MaxV1TTL / time.Second)), Doc: "Seconds a cached render of the same options may answer this request (signed links: 30 days by default)."},
		{Name: "force", Type: "boolean", Family: "cache", Default: false, Doc: "Render afresh even when a cached render would do."},
	}
}

// V1BodySchema is the schema of the JSON body of POST /v1/render/*: an
// object of the options. Values may be JSON-typed or, as in a query,
// strings.
func V1BodySchema() Schema {
	props := Schema{}
	for _, o := range V1Options() {
		props[o.Name] = o.schema(true)
	}
	return Schema{
		"type": "object", "properties": props, "additionalProperties": false,
		"description": "The render options. Give url or html. Values may also be strings, as in a query (\"true\", \"1280\").",
	}
}

// V1QueryParams are the options as the query parameters of a signed link.
func V1QueryParams() []Param {
	opts := V1Options()
	out := make([]Param, 0, len(opts))
	for _, o := range opts {
		out = append(out, Param{Name: o.Name, In: "query", Description: o.Doc, Schema: o.schema(false), Explode: o.Type == "list"})
	}
	return out
}

// schema is the option's JSON Schema; in a body, typed values and their
// string forms are both accepted.
func (o V1Option) schema(body bool) Schema {
	var sc Schema
	switch o.Type {
	case "integer", "number", "boolean":
		sc = Schema{"type": o.Type}
		if body {
			sc["type"] = []string{o.Type, "string"}
		}
	case "list":
		sc = Schema{"type": "array", "items": Schema{"type": "string"}, "maxItems": 50}
		if body {
			sc = Schema{"anyOf": []Schema{{"type": "string"}, sc}}
		}
	case "clip":
		sc = Schema{"type": "string", "pattern": `^\d+,\d+,\d+,\d+$`}
		if body {
			box := Schema{"type": "object", "required": []string{"x", "y", "width", "height"}, "additionalProperties": false,
				"properties": Schema{"x": intSchema(0), "y": intSchema(0), "width": intSchema(1), "height": intSchema(1)}}
			sc = Schema{"anyOf": []Schema{sc, box}}
		}
	case "object":
		sc = Schema{"type": "string", "contentMediaType": "application/json"}
		if body {
			sc = Schema{"type": "object"}
		}
	default:
		sc = Schema{"type": "string"}
	}
	if o.Min != nil {
		sc["minimum"] = *o.Min
	}
	if o.Max != nil {
		sc["maximum"] = *o.Max
	}
	if o.Default != nil {
		sc["default"] = o.Default
	}
	if len(o.Enum) > 0 {
		sc["enum"] = o.Enum
	}
	sc["description"] = o.Doc
	sc["x-family"] = o.Family
	return sc
}

func intSchema(min int) Schema { return Schema{"type": "integer", "minimum": min} }
