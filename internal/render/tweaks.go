package render

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/renderhook/renderhook/internal/store"
)

// Limits on untrusted tweak input.
const (
	maxTweakKeys   = 200
	maxPathDepth   = 8
	maxKeyLen      = 256
	maxStringValue = 1 << 20
)

// Bounds of number variables that declare none: a number is also a loop
// count ({{range .stars}}), so it is never unbounded.
const (
	DefaultNumberMin = -1_000_000
	DefaultNumberMax = 1_000_000
)

// ErrInvalidTweak: a value (tweak, page value or default) is outside its
// number variable's bounds (400). It is invalid input.
var ErrInvalidTweak = fmt.Errorf("%w: value out of range", ErrInvalidInput)

// numberBounds is the range of number variable d.
func numberBounds(d store.Variable) (lo, hi float64) {
	lo, hi = DefaultNumberMin, DefaultNumberMax
	if d.Min != nil {
		lo = *d.Min
	}
	if d.Max != nil {
		hi = *d.Max
	}
	return lo, hi
}

// CheckVariable checks a variable declaration's bounds: only numbers have
// them, finite, with min <= max. Whether the default lies inside them is
// checked with the defaults (ValidateValues).
func CheckVariable(v store.Variable) error {
	if v.Min == nil && v.Max == nil {
		return nil
	}
	if v.Type != "number" {
		return fmt.Errorf("%w: variable %q: min and max apply to number variables only", ErrInvalidInput, v.Name)
	}
	for _, b := range []*float64{v.Min, v.Max} {
		if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
			return fmt.Errorf("%w: variable %q: min and max must be finite", ErrInvalidInput, v.Name)
		}
	}
	if lo, hi := numberBounds(v); lo > hi {
		return fmt.Errorf("%w: variable %q: min %v is greater than max %v", ErrInvalidInput, v.Name, lo, hi)
	}
	return nil
}

// VariableTypes lists the types a template variable may declare.
var VariableTypes = map[string]bool{"string": true, "number": true, "boolean": true, "color": true, "image": true}

var (
	colorHex  = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)
	colorFunc = regexp.MustCompile(`^(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%]+(?:\s*[,/ ]\s*[0-9.%]+){2,3}\s*\)$`)
	colorName = regexp.MustCompile(`^[a-zA-Z]{3,30}$`)
	dataImage = regexp.MustCompile(`^data:image/(?:png|jpeg|gif|webp|svg\+xml|avif)(?:;[a-zA-Z0-9=+-]+)*,`)
)

// SetPath sets value at a dot path ("author.name") in values, creating
// nested objects on the way and replacing non-objects it walks through.
func SetPath(values map[string]any, path string, value any) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	m := values
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = value
	return nil
}

func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty tweak name", ErrInvalidInput)
	}
	if len(path) > maxKeyLen {
		return nil, fmt.Errorf("%w: tweak name longer than %d characters", ErrInvalidInput, maxKeyLen)
	}
	segs := strings.Split(path, ".")
	if len(segs) > maxPathDepth {
		return nil, fmt.Errorf("%w: tweak %q is nested deeper than %d levels", ErrInvalidInput, path, maxPathDepth)
	}
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%w: tweak %q has an empty path segment", ErrInvalidInput, path)
		}
	}
	return segs, nil
}

// ParseTweaksJSON parses the `tweaks` query value: a JSON object whose keys
// are variable names or dot paths.
func ParseTweaksJSON(s string) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: tweaks must be a JSON object", ErrInvalidInput)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: tweaks has trailing data after the JSON object", ErrInvalidInput)
	}
	return normalizeNumbers(m).(map[string]any), nil
}

// normalizeNumbers turns json.Number into float64 (or int64 when exact) so
// templates print 3 rather than 3e+00.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	}
	return v
}

// Tweaks are per-request overrides of a page's values, keyed by variable
// name or dot path. Raw strings (from `tweak:<name>=<value>`) are converted
// to the declared variable type when applied.
type Tweaks struct {
	Typed map[string]any    // from JSON: values keep their JSON type
	Raw   map[string]string // from query strings: converted by declared type
}

// Len is the number of tweaks.
func (t Tweaks) Len() int { return len(t.Typed) + len(t.Raw) }

// ApplyValues builds the data a template executes with: variable defaults,
// then the page's values, then the tweaks. Values of declared variables are
// checked against their type; image values become trusted URLs only after
// their scheme is checked.
func ApplyValues(tpl *store.Template, pageValues map[string]any, tw Tweaks) (map[string]any, error) {
	if tw.Len() > maxTweakKeys {
		return nil, fmt.Errorf("%w: more than %d tweaks", ErrInvalidInput, maxTweakKeys)
	}
	decl := make(map[string]store.Variable, len(tpl.Variables))
	data := make(map[string]any, len(tpl.Variables)+len(pageValues))
	for _, v := range tpl.Variables {
		decl[v.Name] = v
		if v.Default != nil {
			data[v.Name] = deepCopy(v.Default)
		}
	}
	for k, v := range pageValues {
		data[k] = deepCopy(v)
	}
	for path, raw := range tw.Raw {
		segs, err := splitPath(path)
		if err != nil {
			return nil, err
		}
		if len(raw) > maxStringValue {
			return nil, fmt.Errorf("%w: tweak %q is longer than %d bytes", ErrInvalidInput, path, maxStringValue)
		}
		var val any = raw
		if d, ok := decl[segs[0]]; ok && len(segs) == 1 {
			if val, err = convertRaw(d, raw); err != nil {
				return nil, err
			}
		} else if !ok && len(decl) > 0 {
			return nil, fmt.Errorf("%w: tweak %q names no variable of template %s", ErrInvalidInput, path, tpl.ID)
		}
		if err := SetPath(data, path, val); err != nil {
			return nil, err
		}
	}
	for path, val := range tw.Typed {
		segs, err := splitPath(path)
		if err != nil {
			return nil, err
		}
		if _, ok := decl[segs[0]]; !ok && len(decl) > 0 {
			return nil, fmt.Errorf("%w: tweak %q names no variable of template %s", ErrInvalidInput, path, tpl.ID)
		}
		if err := SetPath(data, path, deepCopy(val)); err != nil {
			return nil, err
		}
	}
	for name, d := range decl {
		v, ok := data[name]
		if !ok || v == nil {
			continue
		}
		conv, err := checkTyped(d, v)
		if err != nil {
			return nil, err
		}
		data[name] = conv
	}
	return data, nil
}

// ValidateValues checks stored page values against the template's types.
func ValidateValues(tpl *store.Template, values map[string]any) error {
	_, err := ApplyValues(tpl, values, Tweaks{})
	return err
}

func convertRaw(d store.Variable, raw string) (any, error) {
	switch d.Type {
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%w: variable %q is a number, got %q", ErrInvalidInput, d.Name, truncate(raw))
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case "boolean":
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: variable %q is a boolean, got %q", ErrInvalidInput, d.Name, truncate(raw))
		}
		return b, nil
	}
	return raw, nil
}

// checkTyped validates a value against its declared type and returns what
// the template should see.
func checkTyped(d store.Variable, v any) (any, error) {
	bad := func(want string) error {
		return fmt.Errorf("%w: variable %q must be %s", ErrInvalidInput, d.Name, want)
	}
	switch d.Type {
	case "", "string":
		switch v.(type) {
		case string, int64, float64, bool, map[string]any, []any:
			return v, nil
		}
		return nil, bad("a string")
	case "number":
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		case int:
			v, f = int64(x), float64(x)
		default:
			return nil, bad("a number")
		}
		if lo, hi := numberBounds(d); !(f >= lo && f <= hi) {
			return nil, fmt.Errorf("%w: variable %q must be from %v to %v, got %v", ErrInvalidTweak, d.Name, lo, hi, v)
		}
		return v, nil
	case "boolean":
		if _, ok := v.(bool); ok {
			return v, nil
		}
		return nil, bad("a boolean")
	case "color":
		s, ok := v.(string)
		if !ok || (!colorHex.MatchString(s) && !colorFunc.MatchString(s) && !colorName.MatchString(s)) {
			return nil, bad("a CSS color such as #ff8800, rgb(255,136,0) or orange")
		}
		// html/template rejects parentheses in CSS values; this value
		// matched a strict color grammar, so it is safe to insert as is.
		return template.CSS(s), nil //nolint:gosec // G203: s matched the color grammar above
	case "image":
		s, ok := v.(string)
		if !ok {
			return nil, bad("an image URL")
		}
		if s == "" {
			return s, nil
		}
		if dataImage.MatchString(s) {
			// html/template filters data: URLs as unsafe; this one is an
			// image whose scheme was checked, so mark it trusted.
			return template.URL(s), nil //nolint:gosec // G203: s matched the data:image grammar above
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("an http(s) or data:image URL")
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: variable %q has unknown type %q", ErrInvalidInput, d.Name, d.Type)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	}
	return v
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
