package render

import (
	"errors"
	"html/template"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/testkit"
)

var testTemplate = &store.Template{
	ID: "tpl_test",
	Variables: []store.Variable{
		{Name: "title", Type: "string", Default: "Hi"},
		{Name: "count", Type: "number", Default: 1.0},
		{Name: "show", Type: "boolean"},
		{Name: "bg", Type: "color", Default: "#fff"},
		{Name: "logo", Type: "image"},
		{Name: "author", Type: "string"},
	},
}

// fuzzRefused reports whether a fuzzed input was refused, and fails the test
// unless the refusal wraps sentinel (what the API answers 400 for).
func fuzzRefused(t *testing.T, err, sentinel error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, sentinel) {
		t.Fatalf("error not marked %v: %v", sentinel, err)
	}
	return err != nil
}

func TestParseQuery(t *testing.T) {
	q, _ := url.ParseQuery(`format=jpg&output=json&draft&templateId=tpl_1&tweak:title=Hello&tweak:author.name=Ann&tweaks={"count":3}&_cb=9`)
	o, err := ParseQuery("pg_1", q)
	if err != nil {
		t.Fatal(err)
	}
	if o.Format != browser.FormatJPEG || o.Output != OutputJSON || !o.Draft || o.TemplateID != "tpl_1" {
		t.Fatalf("options %+v", o)
	}
	tw := o.Pages[0].Tweaks
	if tw.Raw["title"] != "Hello" || tw.Raw["author.name"] != "Ann" || tw.Typed["count"] != int64(3) {
		t.Fatalf("tweaks %+v", tw)
	}
	for _, bad := range []string{"format=gif", "output=xml", "draft=maybe", "quality=0", "tweaks=[1]", "tweaks={}x", "tweak:a..b=1", "size=3", "tweak:=1"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseQuery("pg_1", q); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestApplyValues(t *testing.T) {
	data, err := ApplyValues(testTemplate, map[string]any{"title": "Page", "author": map[string]any{"name": "Bo", "role": "x"}},
		Tweaks{Raw: map[string]string{"count": "2.5", "show": "true", "author.name": "Ann"}, Typed: map[string]any{"bg": "rgb(1, 2, 3)"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"title": "Page", "count": 2.5, "show": true, "bg": template.CSS("rgb(1, 2, 3)"),
		"author": map[string]any{"name": "Ann", "role": "x"},
	}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("got %#v\nwant %#v", data, want)
	}
	// The page's own values are not modified by tweaks.
	vals := map[string]any{"author": map[string]any{"name": "Bo"}}
	if _, err := ApplyValues(testTemplate, vals, Tweaks{Raw: map[string]string{"author.name": "Ann"}}); err != nil {
		t.Fatal(err)
	}
	if vals["author"].(map[string]any)["name"] != "Bo" {
		t.Fatal("tweak leaked into the stored values")
	}
	for name, tw := range map[string]Tweaks{
		"number":       {Raw: map[string]string{"count": "many"}},
		"boolean":      {Raw: map[string]string{"show": "yes please"}},
		"css escape":   {Raw: map[string]string{"bg": "red;}body{display:none"}},
		"js url":       {Raw: map[string]string{"logo": "javascript:alert(1)"}},
		"undeclared":   {Raw: map[string]string{"nope": "1"}},
		"typed number": {Typed: map[string]any{"count": "3"}},
		"deep":         {Raw: map[string]string{strings.Repeat("a.", 9) + "b": "x"}},
	} {
		if _, err := ApplyValues(testTemplate, nil, tw); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err %v, want ErrInvalidInput", name, err)
		}
	}
	// A data: image is trusted only after its scheme is checked.
	d, err := ApplyValues(testTemplate, nil, Tweaks{Raw: map[string]string{"logo": "data:image/png;base64,AAAA"}})
	if err != nil || d["logo"] != template.URL("data:image/png;base64,AAAA") {
		t.Fatalf("data image: %v %#v", err, d["logo"])
	}
}

func TestParseBody(t *testing.T) {
	o, err := ParseBody([]byte(`{"pageIds":["a","b"],"format":"pdf","tweaks":{"title":"all"},"tweaksPerPage":{"b":{"title":"bee"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Pages) != 2 || o.Output != OutputJSON || o.Pages[0].Tweaks.Typed["title"] != "all" || o.Pages[1].Tweaks.Typed["title"] != "bee" {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []string{``, `[]`, `{"pageId":1}`, `{"pageId":"a","pageIds":["b"]}`, `{"pageIds":["a","b"]}`,
		`{"pageId":"a","output":"html"}`, `{"pageId":"a","binary":true,"output":"json"}`, `{"pageIds":["a"],"tweaksPerPage":{"z":{}}}`,
		`{"pageIds":["a"],"tweaksPerPage":[{},{}]}`, `{"pageId":"a"} {}`, `{"pageId":"a","extra":1}`} {
		if _, err := ParseBody([]byte(bad)); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err %v, want ErrInvalidInput", bad, err)
		}
	}
}

// The fuzz targets check the parsers of untrusted input never panic, and
// that whatever they accept is within the documented limits.

func FuzzParseQuery(f *testing.F) {
	seeds := []string{"format=png", "tweak:a.b=1&tweaks={\"x\":[1,{\"y\":2}]}", "draft&output=json", "tweaks=%7B", "quality=50&_=1"}
	testkit.FuzzQuery(f, seeds, func(t *testing.T, _ string, q url.Values) {
		o, err := ParseQuery("pg_x", q)
		if fuzzRefused(t, err, ErrInvalidInput) {
			return
		}
		if _, err := browser.ParseFormat(string(o.Format)); err != nil {
			t.Fatalf("accepted format %q", o.Format)
		}
		if o.Pages[0].Tweaks.Len() > maxTweakKeys {
			t.Fatal("too many tweaks accepted")
		}
		if _, err := ApplyValues(testTemplate, nil, o.Pages[0].Tweaks); err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("apply: %v", err)
		}
	})
}

func FuzzParseBody(f *testing.F) {
	for _, s := range []string{`{"pageId":"a"}`, `{"pageIds":["a","b"],"format":"pdf","tweaksPerPage":[{"t":1}]}`, `{"pageId":"a","tweaks":{"a.b.c":null}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseBody(body)
		if fuzzRefused(t, err, ErrInvalidInput) {
			return
		}
		if len(o.Pages) == 0 || len(o.Pages) > MaxPages {
			t.Fatalf("%d pages accepted", len(o.Pages))
		}
		for _, p := range o.Pages {
			if _, err := ApplyValues(testTemplate, nil, p.Tweaks); err != nil && !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("apply: %v", err)
			}
		}
	})
}

func FuzzApplyValues(f *testing.F) {
	f.Add("title", "x", "bg", "#abc")
	f.Add("author.name.first", "y", "logo", "https://example.com/a.png")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		data, err := ApplyValues(testTemplate, map[string]any{"author": "flat"}, Tweaks{Raw: map[string]string{k1: v1, k2: v2}})
		if fuzzRefused(t, err, ErrInvalidInput) {
			return
		}
		// Whatever was accepted executes in the template without error.
		tpl := template.Must(ParseTemplate(`<div style="color:{{.bg}}">{{.title}}<img src="{{.logo}}">{{.author}}</div>`))
		if err := tpl.Execute(&strings.Builder{}, data); err != nil {
			t.Fatalf("execute: %v", err)
		}
	})
}
