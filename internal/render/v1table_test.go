package render

import (
	"encoding/json"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// sameV1 fails unless the table parser and the legacy one agree: the same
// options, or the same error message.
func sameV1(t *testing.T, what string, got, want *URLOptions, gotErr, wantErr error) {
	t.Helper()
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Errorf("%s: table says %v, legacy %v", what, gotErr, wantErr)
	case gotErr != nil && strings.HasSuffix(gotErr.Error(), "is given more than once") && strings.HasSuffix(wantErr.Error(), "is given more than once"):
		// The legacy parser named a random one of several repeated options.
	case gotErr != nil && gotErr.Error() != wantErr.Error():
		t.Errorf("%s: table says %q, legacy %q", what, gotErr, wantErr)
	case gotErr == nil && !reflect.DeepEqual(got, want):
		t.Errorf("%s: table parsed %+v, legacy %+v", what, got, want)
	case gotErr == nil && got.CacheKey("spc") != want.CacheKey("spc"):
		t.Errorf("%s: cache keys differ", what)
	}
}

// v1Values are values to try for each option: of every type, in and out
// of range, and each option's own enum values.
func v1Values(o OptionSpec) []any {
	vs := []any{"", "x", "true", "0", "1", "-1", "1.5", "1e3", "NaN", " 7 ", true, false, json.Number("0"), json.Number("1"),
		json.Number("100"), json.Number("1000"), json.Number("1001.5"), json.Number("120000"), json.Number("120001"),
		json.Number("2592000"), json.Number("2592001"), json.Number("-3"), []any{"A: 1"}, []any{1}, map[string]any{"x": json.Number("1")},
		"A: 1", "Host: x", "A: b\nc", "a=b", "a;b=c", "x=y;", "a\nb", "no", "1,2,3,4", "0,0,0,0", `{"a":1}`, "[1]", strings.Repeat("y", 3000),
		map[string]any{"x": json.Number("0"), "y": json.Number("0"), "width": json.Number("5"), "height": json.Number("5")}}
	for _, e := range o.Enum {
		vs = append(vs, e, strings.ToUpper(e), " "+e)
	}
	return vs
}

// TestV1TableMatchesLegacy: every option alone with every value, with
// each format, in a body and in a link's query, parses as it did before
// the table; so do the pairs that interact.
func TestV1TableMatchesLegacy(t *testing.T) {
	for _, src := range []string{`"url":"a.example"`, `"html":"<b>x</b>"`} {
		for _, f := range []string{"", "png", "jpeg", "webp", "pdf", "gif"} {
			for _, o := range V1Options() {
				for _, v := range v1Values(o) {
					m := map[string]any{}
					if err := json.Unmarshal([]byte("{"+src+"}"), &m); err != nil {
						t.Fatal(err)
					}
					m[o.Name] = v
					if f != "" && o.Name != "format" {
						m["format"] = f
					}
					body, err := json.Marshal(m)
					if err != nil {
						t.Fatal(err)
					}
					got, gerr := ParseV1Body(body)
					want, werr := legacyParseV1Body(body)
					sameV1(t, string(body), got, want, gerr, werr)
					if s, ok := v.(string); ok {
						q := url.Values{o.Name: {s}}
						if strings.HasPrefix(src, `"url"`) {
							q.Set("url", "a.example")
						} else {
							q.Set("html", "<b>x</b>")
						}
						got, gerr := ParseV1Query(cloneValues(q), f)
						want, werr := legacyParseV1Query(cloneValues(q), f)
						sameV1(t, f+"?"+q.Encode(), got, want, gerr, werr)
					}
				}
			}
		}
	}
	for _, body := range []string{
		`{"url":"a.example","html":"x"}`, `{}`, `{"url":" "}`, `{"html":" "}`, `{"url":5,"html":"x"}`, `{"url":"a","html":5}`,
		`{"url":"a","clip":"0,0,5,5","selector":"#x"}`, `{"html":"x","cookie":"a=b"}`, `{"url":"a","pdf_margin":"default"}`,
		`{"url":"a","format":"pdf","pdf_margin":"default","pdf_margin_left":3}`, `{"url":"a","pdf_background":false}`,
		`{"url":"a","clip":"0,0,5,5","selector":"#x","webhook_url":5}`, `{"url":"a","pdf_landscape":true,"ttl":-1}`,
		`{"url":"a","zzz":1,"thumb_width":1}`, `{"url":"a","aaa":1,"thumb_width":1}`, `{"url":"a","width":0,"bogus":1}`,
		`{"url":"a","header":["A: 1","Host: x"],"cookie":["a=b","bad"]}`, `{"url":"a","format":"jpeg","quality":50,"transparent":true}`,
	} {
		got, gerr := ParseV1Body([]byte(body))
		want, werr := legacyParseV1Body([]byte(body))
		sameV1(t, body, got, want, gerr, werr)
	}
	for _, raw := range []string{"url=a&header=A:1&header=B:2", "url=a&cookie=a=b&cookie=c=d", "url=a&width=1&width=2",
		"url=a&format=png", "url=a&format=WEBP", "html=x&format=pdf&pdf_margin=minimum", "url=a&full_page", "url=a&s3_path=x&zz=1"} {
		for _, f := range []string{"", "webp", "gif", "PDF"} {
			q, _ := url.ParseQuery(raw)
			got, gerr := ParseV1Query(cloneValues(q), f)
			want, werr := legacyParseV1Query(cloneValues(q), f)
			sameV1(t, f+"?"+raw, got, want, gerr, werr)
		}
	}
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// TestV1TableNames: the table declares each option once, knows every
// Urlbox option the legacy parser refused by name, and describes each.
func TestV1TableNames(t *testing.T) {
	seen := map[string]bool{}
	var unsupported []string
	for _, o := range V1Options() {
		if seen[o.Name] {
			t.Errorf("option %q declared twice", o.Name)
		}
		seen[o.Name] = true
		if o.Doc == "" || o.Family == "" {
			t.Errorf("option %q has no doc or family", o.Name)
		}
		if o.Supported && o.Type == "" {
			t.Errorf("supported option %q has no type", o.Name)
		}
		if !o.Supported {
			unsupported = append(unsupported, o.Name)
		}
	}
	var legacy []string
	for k := range legacyUnsupported {
		legacy = append(legacy, k)
	}
	sort.Strings(unsupported)
	sort.Strings(legacy)
	if !reflect.DeepEqual(unsupported, legacy) {
		t.Errorf("unsupported options %v, legacy %v", unsupported, legacy)
	}
}

// FuzzV1TableMatchesLegacy compares the two parsers on arbitrary bodies
// and queries.
func FuzzV1TableMatchesLegacy(f *testing.F) {
	f.Add([]byte(`{"url":"example.com","format":"pdf","pdf_margin":"default"}`), "url=a&header=A:1&format=webp", "webp")
	f.Add([]byte(`{"html":"x","clip":{"x":1,"y":2,"width":3,"height":4},"cookie":"a=b"}`), "html=x&clip=1,2,3,4", "")
	f.Fuzz(func(t *testing.T, body []byte, raw, format string) {
		got, gerr := ParseV1Body(body)
		want, werr := legacyParseV1Body(body)
		sameV1(t, string(body), got, want, gerr, werr)
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, gerr = ParseV1Query(cloneValues(q), format)
		want, werr = legacyParseV1Query(cloneValues(q), format)
		sameV1(t, format+"?"+raw, got, want, gerr, werr)
	})
}
