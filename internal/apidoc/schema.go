package apidoc

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// Schema is a JSON Schema (2020-12, the dialect of OpenAPI 3.1) as it is
// written into the document.
type Schema = map[string]any

// schemaType is Schema's own type: a literal schema handed in where a Go
// value is expected is taken as it is.
var schemaType = reflect.TypeFor[Schema]()

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// schemas turns Go types into JSON Schemas the way encoding/json encodes
// them, collecting named struct types as components.
type schemas struct {
	components map[string]Schema
	names      map[reflect.Type]string
}

func newSchemas() *schemas {
	return &schemas{components: map[string]Schema{}, names: map[reflect.Type]string{}}
}

// of returns the schema of v: v itself when it is a Schema, else the
// schema of v's Go type.
func (s *schemas) of(v any) Schema {
	if v == nil {
		return Schema{}
	}
	if sc, ok := v.(Schema); ok {
		return sc
	}
	return s.typ(reflect.TypeOf(v))
}

// typ is the schema of the JSON encoding of a value of type t. Nil
// pointers, slices and maps encode as null, so their schemas allow it.
func (s *schemas) typ(t reflect.Type) Schema {
	switch {
	case t.Kind() == reflect.Pointer:
		return nullable(s.typ(t.Elem()))
	case t == schemaType:
		return Schema{}
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return Schema{} // encodes itself: any JSON value
	case t.Kind() != reflect.String && (t.Implements(textType) || reflect.PointerTo(t).Implements(textType)):
		return Schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return nullable(Schema{"type": "array", "items": s.typ(t.Elem())})
	case reflect.Array:
		return Schema{"type": "array", "items": s.typ(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return nullable(Schema{"type": "object", "additionalProperties": s.typ(t.Elem())})
	case reflect.Struct:
		return s.structRef(t)
	}
	return Schema{} // interfaces: any JSON value
}

// structRef is a $ref to the component of a named struct type, or the
// inline schema of an anonymous one.
func (s *schemas) structRef(t reflect.Type) Schema {
	if t.Name() == "" {
		return s.object(t)
	}
	name, ok := s.names[t]
	if !ok {
		name = s.componentName(t)
		s.names[t] = name
		s.components[name] = Schema{} // placeholder: recursive types end here
		s.components[name] = s.object(t)
	}
	return Schema{"$ref": "#/components/schemas/" + name}
}

// componentName names a Go type's component: its name, capitalised, with a
// trailing "JSON" dropped (templateJSON → Template); the package name
// goes in front when two packages' types would share one.
func (s *schemas) componentName(t reflect.Type) string {
	name := strings.TrimSuffix(t.Name(), "JSON")
	if name == "" {
		name = t.Name()
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	if _, taken := s.components[name]; taken {
		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndex(pkg, "/")+1:]
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	return name
}

// object is the schema of a struct: its exported fields under their JSON
// names (embedded structs' fields promoted), required unless omitempty,
// and nothing else. Field tags may add a description (doc:"…") and the
// allowed values (enum:"a,b").
func (s *schemas) object(t reflect.Type) Schema {
	props := Schema{}
	var required []string
	s.fields(t, props, &required)
	out := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (s *schemas) fields(t reflect.Type, props Schema, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				s.fields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		sc := s.typ(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			sc = withDescription(sc, d)
		}
		if e := f.Tag.Get("enum"); e != "" {
			sc["enum"] = strings.Split(e, ",")
		}
		props[name] = sc
		if !strings.Contains(","+opts+",", ",omitempty,") {
			*required = append(*required, name)
		}
	}
}

// nullable lets a schema also be null.
func nullable(sc Schema) Schema {
	switch typ := sc["type"].(type) {
	case string:
		out := clone(sc)
		out["type"] = []string{typ, "null"}
		return out
	case nil:
		if len(sc) == 0 {
			return sc // anything, null included
		}
	}
	return Schema{"anyOf": []Schema{sc, {"type": "null"}}}
}

// withDescription adds a description (beside a $ref too, which OpenAPI
// 3.1 allows).
func withDescription(sc Schema, d string) Schema {
	out := clone(sc)
	out["description"] = d
	return out
}

func clone(sc Schema) Schema {
	out := make(Schema, len(sc)+1)
	for k, v := range sc {
		out[k] = v
	}
	return out
}
