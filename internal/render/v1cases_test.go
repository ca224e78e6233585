package render

import (
	"maps"
	"reflect"
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
