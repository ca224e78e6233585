// Package apidoc describes renderhook's HTTP API: it builds the OpenAPI 3.1
// document served at /openapi.json from the route table's descriptions
// (Operation), with schemas reflected from the Go types the handlers
// encode and decode and, for the v1 API, from the option table; and it
// renders that document as the reference page at /docs (HTML with its own
// stylesheet, no scripts, nothing fetched from elsewhere).
package apidoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Version is the OpenAPI version of the document.
const Version = "3.1.1"

// Doc is what the document is built from.
type Doc struct {
	Title       string
	Version     string // the API's (the binary's) version
	Description string
	Tags        []Tag
	// SecuritySchemes are the document's security schemes by name, as
	// OpenAPI writes them.
	SecuritySchemes map[string]Schema
	Operations      []Operation
}

// Tag groups operations on the reference page, in the order given.
type Tag struct {
	Name, Description string
}

// Operation describes one route of the route table.
type Operation struct {
	// Method and Pattern are the route's, as in the ServeMux pattern
	// (Pattern may end in a {name...} wildcard).
	Method, Pattern string
	// ID is the operationId; by default made from the method and pattern.
	ID                        string
	Tag, Summary, Description string
	// Security lists the alternatives a caller may satisfy, each the
	// names of the schemes it needs together; an empty alternative means
	// none is needed. Nil: the route asks for nothing.
	Security [][]string
	// Params are the query and header parameters; path parameters come
	// from the pattern unless given here.
	Params    []Param
	Body      *Body
	Responses []Response
}

// Param is one parameter of an operation.
type Param struct {
	Name        string
	In          string // query, header, path
	Description string
	Required    bool
	// Schema is a Go value (its type is reflected) or a literal Schema;
	// nil means a string.
	Schema any
	// Explode, for array-valued query parameters: the name repeats.
	Explode bool
}

// Body is an operation's request body.
type Body struct {
	Description string
	Required    bool
	// ContentType defaults to application/json.
	ContentType string
	// Schema is a Go value whose type is reflected, or a literal Schema.
	Schema any
}

// Response is one answer of an operation.
type Response struct {
	// Status is the HTTP status; 0 is the default answer (any other).
	Status      int
	Description string
	// JSON, when not nil, is the answer's JSON body: a Go value whose type
	// is reflected, or a literal Schema.
	JSON any
	// Media are the content types of a binary answer (image/png…).
	Media []string
	// Headers are response headers worth naming, with what they say.
	Headers map[string]string
}

var (
	errNoPattern = errors.New("apidoc: an operation needs a method and a pattern")
	wildcard     = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)
)

// Path is the OpenAPI path of a ServeMux pattern: {name...} becomes
// {name}.
func Path(pattern string) string {
	return wildcard.ReplaceAllString(pattern, "{$1}")
}

// Build returns the OpenAPI 3.1 document of d as indented JSON.
func Build(d Doc) ([]byte, error) {
	s := newSchemas()
	paths := map[string]map[string]any{}
	ids := map[string]bool{}
	for _, op := range d.Operations {
		if op.Method == "" || op.Pattern == "" {
			return nil, fmt.Errorf("%w: %q %q", errNoPattern, op.Method, op.Pattern)
		}
		o := s.operation(op)
		if ids[o["operationId"].(string)] {
			return nil, fmt.Errorf("apidoc: operationId %q is used twice", o["operationId"])
		}
		ids[o["operationId"].(string)] = true
		p := Path(op.Pattern)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		m := strings.ToLower(op.Method)
		if _, dup := paths[p][m]; dup {
			return nil, fmt.Errorf("apidoc: %s %s is described twice", op.Method, op.Pattern)
		}
		paths[p][m] = o
	}
	tags := make([]map[string]string, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = map[string]string{"name": t.Name, "description": t.Description}
	}
	doc := map[string]any{
		"openapi":           Version,
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info":              map[string]any{"title": d.Title, "version": d.Version, "description": d.Description},
		"tags":              tags,
		"paths":             paths,
		"components":        map[string]any{"schemas": s.components, "securitySchemes": d.SecuritySchemes},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return out, nil
}

func (s *schemas) operation(op Operation) map[string]any {
	id := op.ID
	if id == "" {
		id = operationID(op.Method, op.Pattern)
	}
	o := map[string]any{"operationId": id, "summary": op.Summary, "responses": s.responses(op.Responses)}
	if op.Tag != "" {
		o["tags"] = []string{op.Tag}
	}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if params := s.params(op); len(params) > 0 {
		o["parameters"] = params
	}
	if b := op.Body; b != nil {
		ct := b.ContentType
		if ct == "" {
			ct = "application/json"
		}
		o["requestBody"] = map[string]any{
			"description": b.Description, "required": b.Required,
			"content": map[string]any{ct: map[string]any{"schema": s.of(b.Schema)}},
		}
	}
	sec := make([]map[string][]string, 0, len(op.Security))
	for _, alt := range op.Security {
		req := map[string][]string{}
		for _, name := range alt {
			req[name] = []string{}
		}
		sec = append(sec, req)
	}
	o["security"] = sec
	return o
}

// params lists the pattern's path parameters (unless op names them) and
// op's own.
func (s *schemas) params(op Operation) []map[string]any {
	given := map[string]bool{}
	for _, p := range op.Params {
		given[p.In+" "+p.Name] = true
	}
	var out []map[string]any
	for _, m := range wildcard.FindAllStringSubmatch(op.Pattern, -1) {
		if !given["path "+m[1]] {
			out = append(out, map[string]any{"name": m[1], "in": "path", "required": true, "schema": Schema{"type": "string"}})
		}
	}
	for _, p := range op.Params {
		sc := Schema{"type": "string"}
		if p.Schema != nil {
			sc = s.of(p.Schema)
		}
		q := map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path", "schema": sc}
		if p.Description != "" {
			q["description"] = p.Description
		}
		if p.Explode {
			q["style"], q["explode"] = "form", true
		}
		out = append(out, q)
	}
	return out
}

func (s *schemas) responses(rs []Response) map[string]any {
	out := map[string]any{}
	for _, r := range rs {
		desc := r.Description
		if desc == "" {
			desc = http.StatusText(r.Status)
		}
		o := map[string]any{"description": desc}
		content := map[string]any{}
		if r.JSON != nil {
			content["application/json"] = map[string]any{"schema": s.of(r.JSON)}
		}
		for _, m := range r.Media {
			content[m] = map[string]any{"schema": Schema{"type": "string", "contentMediaType": m}}
		}
		if len(content) > 0 {
			o["content"] = content
		}
		if len(r.Headers) > 0 {
			hs := map[string]any{}
			for name, d := range r.Headers {
				hs[name] = map[string]any{"description": d, "schema": Schema{"type": "string"}}
			}
			o["headers"] = hs
		}
		key := "default"
		if r.Status != 0 {
			key = strconv.Itoa(r.Status)
		}
		out[key] = o
	}
	return out
}

// operationID makes an operationId from a route: GET /api/pages/{id} →
// get_api_pages_id.
func operationID(method, pattern string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(pattern, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}) {
		b.WriteString("_" + part)
	}
	return b.String()
}
