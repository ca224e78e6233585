package apidoc

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
)

//go:embed page.css
var pageCSS string

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// methodOrder is the order of an operation's methods under one path.
var methodOrder = []string{"get", "post", "put", "patch", "delete"}

// document is the part of an OpenAPI document the reference page shows.
type document struct {
	Info struct {
		Title, Version, Description string
	}
	Tags       []struct{ Name, Description string }
	Paths      map[string]map[string]operation
	Components struct {
		Schemas         map[string]Schema
		SecuritySchemes map[string]Schema
	}
}

type operation struct {
	OperationID string
	Summary     string
	Description string
	Tags        []string
	Parameters  []struct {
		Name, In, Description string
		Required              bool
		Schema                Schema
	}
	RequestBody *struct {
		Description string
		Required    bool
		Content     map[string]struct{ Schema Schema }
	}
	Responses map[string]struct {
		Description string
		Headers     map[string]struct{ Description string }
		Content     map[string]struct{ Schema Schema }
	}
	Security []map[string][]string
}

// view is what the page template reads.
type view struct {
	Title, Version, Description string
	CSS                         template.CSS
	Groups                      []group
	Schemas                     []namedSchema
}

type group struct {
	Name, Description string
	Ops               []opView
}

type opView struct {
	ID, Method, Path, Summary, Description string
	Security                               []string
	Params                                 []row
	Body                                   []bodyView
	Responses                              []respView
}

type bodyView struct {
	Media, Description string
	Rows               []row
}

type respView struct {
	Status, Description string
	Media               []string
	Headers             []string
	Rows                []row
}

// row is one line of a schema table; Depth indents nested properties.
type row struct {
	Name, Type, Description, Ref string
	Required                     bool
	Depth                        int
}

type namedSchema struct {
	Name string
	Rows []row
}

// Page renders an OpenAPI document (as Build writes it) as the reference
// page: one section per tag, each operation with its parameters, body and
// answers, then the schemas.
func Page(doc []byte) ([]byte, error) {
	var d document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	v := view{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description, CSS: template.CSS(pageCSS)} //nolint:gosec // our own embedded stylesheet
	byTag := map[string]*group{}
	for _, t := range d.Tags {
		v.Groups = append(v.Groups, group{Name: t.Name, Description: t.Description})
	}
	for i := range v.Groups {
		byTag[v.Groups[i].Name] = &v.Groups[i]
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range methodOrder {
			op, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g := byTag[tag]
			if g == nil {
				v.Groups = append(v.Groups, group{Name: tag})
				g = &v.Groups[len(v.Groups)-1]
				byTag = reindex(v.Groups)
			}
			g.Ops = append(g.Ops, opViewOf(strings.ToUpper(m), p, op))
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v.Schemas = append(v.Schemas, namedSchema{Name: n, Rows: rows(d.Components.Schemas[n], 0)})
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("render reference page: %w", err)
	}
	return buf.Bytes(), nil
}

func reindex(gs []group) map[string]*group {
	m := make(map[string]*group, len(gs))
	for i := range gs {
		m[gs[i].Name] = &gs[i]
	}
	return m
}

func opViewOf(method, path string, op operation) opView {
	o := opView{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description}
	for _, alt := range op.Security {
		names := make([]string, 0, len(alt))
		for n := range alt {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			names = []string{"none"}
		}
		o.Security = append(o.Security, strings.Join(names, " + "))
	}
	for _, p := range op.Parameters {
		o.Params = append(o.Params, row{Name: p.Name + " (" + p.In + ")", Type: typeName(p.Schema), Ref: refName(p.Schema),
			Description: cmp.Or(p.Description, str(p.Schema["description"])), Required: p.Required})
	}
	if b := op.RequestBody; b != nil {
		for _, media := range sortedKeys(b.Content) {
			o.Body = append(o.Body, bodyView{Media: media, Description: b.Description, Rows: rows(b.Content[media].Schema, 0)})
		}
	}
	for _, status := range sortedKeys(op.Responses) {
		r := op.Responses[status]
		rv := respView{Status: status, Description: r.Description}
		for _, h := range sortedKeys(r.Headers) {
			rv.Headers = append(rv.Headers, h+": "+r.Headers[h].Description)
		}
		for _, media := range sortedKeys(r.Content) {
			rv.Media = append(rv.Media, media)
			if media == "application/json" {
				rv.Rows = rows(r.Content[media].Schema, 0)
			}
		}
		o.Responses = append(o.Responses, rv)
	}
	return o
}

// rows flattens a schema into table rows: a $ref or a scalar is one row,
// an inline object its properties (nested ones indented).
func rows(sc Schema, depth int) []row {
	props, _ := sc["properties"].(map[string]any)
	if props == nil || depth > 3 {
		return []row{{Name: "(body)", Type: typeName(sc), Ref: refName(sc), Description: str(sc["description"]), Depth: depth}}
	}
	required := map[string]bool{}
	if rs, ok := sc["required"].([]any); ok {
		for _, r := range rs {
			required[str(r)] = true
		}
	}
	var out []row
	for _, name := range sortedKeys(props) {
		p, _ := props[name].(map[string]any)
		out = append(out, row{Name: name, Type: typeName(p), Ref: refName(p), Description: str(p["description"]),
			Required: required[name], Depth: depth})
		if _, nested := p["properties"]; nested {
			out = append(out, rows(p, depth+1)...)
		}
	}
	return out
}

// typeName is a short type for a table: string, integer 1–100, Page,
// array of Delivery, string | null…
func typeName(sc Schema) string {
	if ref := refName(sc); ref != "" {
		return ref
	}
	var parts []string
	switch t := sc["type"].(type) {
	case string:
		parts = []string{t}
	case []any:
		for _, e := range t {
			parts = append(parts, str(e))
		}
	}
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := sc[key].([]any); ok {
			for _, a := range alts {
				m, _ := a.(map[string]any)
				parts = append(parts, typeName(m))
			}
		}
	}
	if items, ok := sc["items"].(map[string]any); ok && len(parts) > 0 && parts[0] == "array" {
		parts[0] = "array of " + typeName(items)
	}
	s := strings.Join(parts, " | ")
	if s == "" {
		s = "any"
	}
	if e, ok := sc["enum"].([]any); ok {
		vals := make([]string, len(e))
		for i, x := range e {
			vals[i] = str(x)
		}
		s += ": " + strings.Join(vals, ", ")
	}
	if lo, ok := sc["minimum"]; ok {
		s += fmt.Sprintf(" ≥ %v", lo)
	}
	if hi, ok := sc["maximum"]; ok {
		s += fmt.Sprintf(" ≤ %v", hi)
	}
	return s
}

func refName(sc Schema) string {
	ref, _ := sc["$ref"].(string)
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
