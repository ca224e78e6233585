package apidoc

import (
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

// V1Options is the option table of the v1 API as the document shows it:
// a conversion of render's declarative table (render.V1Options), the one
// the parser walks, so the document cannot drift from what is accepted.
// Options render knows of but does not support are left out here; naming
// one is a 400 InvalidOptions that says so.
func V1Options() []V1Option {
	var out []V1Option
	for _, o := range render.V1Options() {
		if !o.Supported {
			continue
		}
		v := V1Option{Name: o.Name, Type: string(o.Type), Default: o.Default, Enum: o.Enum, Family: string(o.Family), Doc: o.Doc}
		switch o.Type {
		case render.TypeStrings:
			v.Type = "list"
		case render.TypeRect:
			v.Type = "clip"
		case render.TypeInteger, render.TypeNumber:
			if o.Min != 0 || o.Max != 0 {
				v.Min, v.Max = num(o.Min), num(o.Max)
			}
		}
		out = append(out, v)
	}
	return out
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
