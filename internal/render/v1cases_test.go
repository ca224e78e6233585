package render

import (
	"errors"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
)

// requestCase is a row of an option-parsing table: options, and what they
// change of the browser request parsed without them.
type requestCase struct {
	opts map[string]any
	want func(r *browser.URLRequest)
}

// withOpts is opts with the options of base (those opts need) added.
func withOpts(base, opts map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(opts))
	maps.Copy(out, opts)
	maps.Copy(out, base)
	return out
}

// wantRequest parses base with opts added, and base alone (with opts'
// format, if opts name one), and reports unless want, applied to the
// latter's browser request, makes the former's. It returns both parsed
// options for further checks, or nils when opts did not parse.
func wantRequest(t *testing.T, base, opts map[string]any, want func(r *browser.URLRequest)) (o, without *URLOptions) {
	t.Helper()
	o, err := parseWith(t, withOpts(base, opts))
	if err != nil {
		t.Errorf("%v: %v", opts, err)
		return nil, nil
	}
	if f, ok := opts["format"]; ok {
		base = withOpts(map[string]any{"format": f}, base)
	}
	without, err = parseWith(t, base)
	if err != nil {
		t.Fatal(err)
	}
	w := without.Request
	want(&w)
	if !reflect.DeepEqual(o.Request, w) {
		t.Errorf("%v:\n got %+v\nwant %+v", opts, o.Request, w)
	}
	return o, without
}

// cacheKey is the cache key, in space, of a request with opts.
func cacheKey(t *testing.T, space string, opts map[string]any) string {
	t.Helper()
	o, err := parseWith(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	return o.CacheKey(space)
}

// parsedCase is a row of a parse table: options, and what of the parsed
// options they make (as wantParsed's got reads it).
type parsedCase[T comparable] struct {
	opts map[string]any
	want T
}

// wantParsed parses each case's options (with a url) and reports unless
// got of the parsed options is the case's want.
func wantParsed[T comparable](t *testing.T, cases []parsedCase[T], got func(*URLOptions) T) {
	t.Helper()
	for _, c := range cases {
		o, err := parseWith(t, c.opts)
		if err != nil {
			t.Errorf("%v: %v", c.opts, err)
			continue
		}
		if g := got(o); g != c.want {
			t.Errorf("%v:\n got %+v\nwant %+v", c.opts, g, c.want)
		}
	}
}

// refusal is a row of a refusal table: options, and the option the 400
// must name (or, with a space or a quote in it, a piece of its message).
type refusal struct {
	opts map[string]any
	name string
}

// wantRefused parses each case's options (with a url) and reports unless
// it is refused naming the case's option.
func wantRefused(t *testing.T, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		_, err := parseWith(t, c.opts)
		wantRefusal(t, c.opts, err, c.name)
	}
}

// wantRefusal reports unless err, of parsing what, is InvalidOptions
// naming the option name as optErr does (option "name"), or, for a name
// with a space or a quote, holding it.
func wantRefusal(t *testing.T, what any, err error, name string) {
	t.Helper()
	want := name
	if !strings.ContainsAny(name, " \"") {
		want = "option " + strconv.Quote(name)
	}
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
		t.Errorf("%v: err %v, want InvalidOptions with %s", what, err, want)
	}
}
