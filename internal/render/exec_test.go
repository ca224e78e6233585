package render

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// mustCompile parses src the way the service does.
func mustCompile(t testing.TB, src string) *compiled {
	t.Helper()
	m, err := ParseTemplate(src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return &compiled{master: m}
}

func TestExecuteBounds(t *testing.T) {
	huge := int64(1_000_000_000_000)
	cases := []struct {
		name string
		src  string
		data map[string]any
		lim  Limits
	}{
		{"output past the cap", `{{range .n}}AAAA{{end}}`, map[string]any{"n": huge}, Limits{}},
		{"output of big values past the cap", `{{range .n}}{{$.big}}{{end}}`, map[string]any{"n": int64(10), "big": strings.Repeat("x", 1<<20)}, Limits{}},
		{"output past a small cap", `{{range .n}}AAAA{{end}}`, map[string]any{"n": int64(1000)}, Limits{MaxBytes: 1000}},
		{"range writing nothing", `{{range .n}}{{end}}`, map[string]any{"n": huge}, Limits{}},
		{"range over a literal within the static check", `{{range 100000}}{{range 100000}}{{end}}{{end}}`, nil, Limits{}},
		{"nested ranges over bounded numbers", `{{range .a}}{{range $.b}}{{end}}{{end}}`, map[string]any{"a": int64(1e6), "b": int64(1e6)}, Limits{}},
		{"range in a defined template", `{{define "x"}}{{range .}}{{end}}{{end}}{{template "x" .n}}`, map[string]any{"n": huge}, Limits{}},
		// 2^40 calls, 40 deep: far below text/template's depth limit.
		{"exponential recursion", `{{define "x"}}{{if .}}{{template "x" (slice . 1)}}{{template "x" (slice . 1)}}{{end}}{{end}}{{template "x" .s}}`,
			map[string]any{"s": strings.Repeat("x", 40)}, Limits{}},
		{"string doubled by print", `{{$s := "AAAA"}}{{range 60}}{{$s = print $s $s}}{{end}}{{len $s}}`, nil, Limits{}},
		{"string doubled by printf", `{{$s := "AAAA"}}{{range 60}}{{$s = printf "%s%s" $s $s}}{{end}}`, nil, Limits{}},
		{"printf widths", `{{$x := printf "%999999d%999999d%999999d%999999d%999999d%999999d" 1 2 3 4 5 6}}`, nil, Limits{}},
		{"printf star widths", `{{$x := printf "%*d%*d%*d%*d%*d%*d" 999999 1 999999 2 999999 3 999999 4 999999 5 999999 6}}`, nil, Limits{}},
		{"string grown by js", `{{$s := "<<<<"}}{{range 40}}{{$s = js $s}}{{end}}`, nil, Limits{}},
		{"string grown by html", `{{$s := "<<<<"}}{{range 40}}{{$s = html $s $s}}{{end}}`, nil, Limits{}},
		{"string grown by urlquery", `{{$s := "<<<<"}}{{range 40}}{{$s = urlquery $s $s}}{{end}}`, nil, Limits{}},
		{"string grown by println", `{{$s := "AAAA"}}{{range 60}}{{$s = println $s $s}}{{end}}`, nil, Limits{}},
		// Values kept alive by straight-line code, between steps: each
		// under the cap, together far over it (review of issue 14).
		{"many live values", `{{$b := "AAAAAAAAAAAAAAAA"}}{{range 18}}{{$b = print $b $b}}{{end}}` + strings.Repeat(`{{$v := print $b}}`, 30), nil, Limits{}},
		{"time", `{{range .n}}{{end}}`, map[string]any{"n": huge}, Limits{MaxSteps: 1 << 62, Timeout: 50 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, tc.src)
			start := time.Now()
			html, err := c.execute(context.Background(), newBudget(tc.lim), tc.data)
			if !errors.Is(err, ErrTemplateTooLarge) || !errors.Is(err, ErrTemplate) {
				t.Fatalf("err = %v (%d bytes of HTML), want ErrTemplateTooLarge", err, len(html))
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("took %s to refuse", took)
			}
			t.Logf("%s: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

func TestExecuteCancelled(t *testing.T) {
	c := mustCompile(t, `{{range .n}}{{end}}`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := c.execute(ctx, newBudget(Limits{MaxSteps: 1 << 62}), map[string]any{"n": int64(1e15)})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTemplateTooLarge) {
		t.Fatalf("err = %v, want context.Canceled (not the template's fault)", err)
	}
}

// A page within its bounds renders exactly as plain html/template renders
// it, in every escaping context (the step action prints nothing, not even
// "" in a script), and an instance that hit a bound works again after.
func TestExecuteUnchanged(t *testing.T) {
	src := `<!doctype html><style>b{color:{{.color}}}</style>
<script>var items = [{{range .items}}{{.}},{{end}}];</script>
<ul>{{range $i, $e := .items}}<li data-i="{{$i}}" title={{$e}}>{{$e}}</li>{{else}}none{{end}}</ul>
{{define "row"}}<a href="/x?q={{.}}">{{.}}</a>{{end}}{{range .items}}{{template "row" .}}{{end}}
{{with .title}}<h1>{{.}}</h1>{{end}}{{range 3}}*{{end}}{{printf "%05d" 42}}{{print "a" 1}}{{println "b"}}
{{html "a+b<\x00"}}{{html .h}}<a href="/q?x={{urlquery "a b&"}}">{{js "<'"}}</a>`
	data := map[string]any{"color": "red", "items": []any{"a<b", "c d", int64(3)}, "title": "T&", "h": template.HTML("<i>+</i>")}
	plain := template.Must(template.New("page").Option("missingkey=zero").Parse(src))
	var want bytes.Buffer
	if err := plain.Execute(&want, data); err != nil {
		t.Fatal(err)
	}
	c := mustCompile(t, `{{range .n}}{{end}}`+src)
	if _, err := c.execute(context.Background(), newBudget(Limits{}), map[string]any{"n": int64(1e12)}); !errors.Is(err, ErrTemplateTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	for i := range 3 { // the instance that failed, then reused ones
		data["n"] = int64(2)
		got, err := c.execute(context.Background(), newBudget(Limits{}), data)
		if err != nil {
			t.Fatal(err)
		}
		if got != want.String() {
			t.Fatalf("run %d:\n got %q\nwant %q", i, got, want.String())
		}
	}
}

func TestExecuteConcurrent(t *testing.T) {
	c := mustCompile(t, `{{range .n}}<i>{{.}}</i>{{end}}`)
	lim := Limits{MaxSteps: 1000, Timeout: time.Minute} // the race detector is slow
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			n := int64(900)
			if i%2 == 1 {
				n = 5000 // over the budget
			}
			html, err := c.execute(context.Background(), newBudget(lim), map[string]any{"n": n})
			switch {
			case i%2 == 0 && (err != nil || strings.Count(html, "<i>") != 900):
				t.Errorf("within budget: %v, %d items", err, strings.Count(html, "<i>"))
			case i%2 == 1 && !errors.Is(err, ErrTemplateTooLarge):
				t.Errorf("over budget: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestParseTemplateRefusesLiteralBombs(t *testing.T) {
	for _, src := range []string{
		`{{range 1000000000000}}AAAA{{end}}`,
		`{{if true}}{{range 1000001}}{{end}}{{end}}`,
		`{{define "x"}}{{with 1}}{{range 99999999999}}{{end}}{{end}}{{end}}`,
	} {
		if _, err := ParseTemplate(src); !errors.Is(err, ErrTemplateTooLarge) {
			t.Errorf("%s: err = %v, want ErrTemplateTooLarge", src, err)
		}
	}
	if _, err := ParseTemplate(`{{range 1000}}{{end}}`); err != nil {
		t.Fatal(err)
	}
}

func TestFormatWidths(t *testing.T) {
	for format, want := range map[string]int{
		"":              0,
		"abc":           0,
		"%d":            0,
		"%5d%%":         5,
		"%-08.3f":       11,
		"%*d":           1_000_000,
		"%[2]*[1]d":     1_000_002 + 1,
		"%99999999999d": 1_000_000,
		"%":             0,
		"%.":            0,
	} {
		if got := formatWidths(format); got != want {
			t.Errorf("formatWidths(%q) = %d, want %d", format, got, want)
		}
	}
}

func TestNumberBounds(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tpl := &store.Template{ID: "tpl_b", Variables: []store.Variable{
		{Name: "stars", Type: "number", Default: int64(3), Min: f(0), Max: f(5)},
		{Name: "n", Type: "number"},
	}}
	ok := []Tweaks{
		{Raw: map[string]string{"stars": "5"}},
		{Raw: map[string]string{"stars": "0", "n": "-1000000"}},
		{Typed: map[string]any{"n": 1e6}},
	}
	for _, tw := range ok {
		if _, err := ApplyValues(tpl, nil, tw); err != nil {
			t.Errorf("%+v: %v", tw, err)
		}
	}
	bad := []Tweaks{
		{Raw: map[string]string{"stars": "100000000000"}},
		{Raw: map[string]string{"stars": "-1"}},
		{Raw: map[string]string{"stars": "5.5"}},
		{Raw: map[string]string{"n": "1000001"}},
		{Typed: map[string]any{"n": int64(-1e12)}},
	}
	for _, tw := range bad {
		_, err := ApplyValues(tpl, nil, tw)
		if !errors.Is(err, ErrInvalidTweak) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%+v: err = %v, want ErrInvalidTweak", tw, err)
		}
	}
	if _, err := ApplyValues(tpl, map[string]any{"stars": 9.0}, Tweaks{}); !errors.Is(err, ErrInvalidTweak) {
		t.Errorf("page value out of bounds: %v", err)
	}
	tpl.Variables[0].Default = int64(6)
	if err := ValidateValues(tpl, nil); !errors.Is(err, ErrInvalidTweak) {
		t.Errorf("default out of bounds: %v", err)
	}

	for _, v := range []store.Variable{
		{Name: "a", Type: "number", Min: f(2), Max: f(1)},
		{Name: "a", Type: "number", Min: f(2e6)},      // above the default max
		{Name: "a", Type: "string", Max: f(1)},        // not a number
		{Name: "a", Type: "number", Max: f(posInf())}, // not finite
	} {
		if err := CheckVariable(v); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%+v: err = %v, want ErrInvalidInput", v, err)
		}
	}
	if err := CheckVariable(store.Variable{Name: "a", Type: "number", Min: f(-5), Max: f(1e9)}); err != nil {
		t.Fatal(err)
	}
}

func posInf() float64 { var z float64; return 1 / z }

// FuzzExecuteBounded executes arbitrary templates within small limits:
// whatever parses either renders within them or fails with a template
// error, quickly, and never writes more than the cap.
func FuzzExecuteBounded(f *testing.F) {
	for _, s := range []string{
		`{{range .n}}AB{{end}}`,
		`{{$s := "A"}}{{range 99}}{{$s = print $s $s}}{{end}}{{$s}}`,
		`{{define "x"}}{{if .}}{{template "x" (slice . 1)}}{{template "x" (slice . 1)}}{{end}}{{end}}{{template "x" .s}}`,
		`{{printf "%*d" 999999 1}}`,
		`<script>{{range .l}}{{.}}{{end}}</script>`,
	} {
		f.Add(s)
	}
	lim := Limits{MaxBytes: 64 << 10, MaxSteps: 20_000, Timeout: 200 * time.Millisecond}
	data := map[string]any{"n": int64(1e12), "s": strings.Repeat("x", 30), "l": []any{"a", int64(1)}}
	f.Fuzz(func(t *testing.T, src string) {
		m, err := ParseTemplate(src)
		if err != nil {
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("parse error not a template error: %v", err)
			}
			return
		}
		start := time.Now()
		html, err := (&compiled{master: m}).execute(context.Background(), newBudget(lim), data)
		if err != nil && !errors.Is(err, ErrTemplate) {
			t.Fatalf("execute error not a template error: %v", err)
		}
		if len(html) > lim.MaxBytes {
			t.Fatalf("%d bytes of HTML past the %d cap", len(html), lim.MaxBytes)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("took %s", took)
		}
	})
}

// BenchmarkExecuteCard measures what the bounds cost a normal card: plain
// is the execution main did (html/template into a bytes.Buffer), bounded
// the service's.
func BenchmarkExecuteCard(b *testing.B) {
	src := `<!doctype html><html><head><style>
html,body{margin:0;width:1200px;height:630px;background:{{.background}};font:40px sans-serif;color:#fff}
</style></head><body><h1>{{.title}}</h1><p>{{.subtitle}}</p>
<ul>{{range .tags}}<li>{{.}}</li>{{end}}</ul><div class="stars">{{range .stars}}★{{end}}</div></body></html>`
	data := map[string]any{
		"background": template.CSS("#0000ff"), "title": "Hello & welcome", "subtitle": "A card",
		"tags": []any{"go", "html", "chromium", "webhooks", "sqlite"}, "stars": int64(4),
	}
	b.Run("plain", func(b *testing.B) {
		t := template.Must(template.New("page").Option("missingkey=zero").Parse(src))
		for b.Loop() {
			var buf bytes.Buffer
			if err := t.Execute(&buf, data); err != nil {
				b.Fatal(err)
			}
			_ = buf.String()
		}
	})
	b.Run("bounded", func(b *testing.B) {
		c := mustCompile(b, src)
		for b.Loop() {
			if _, err := c.execute(context.Background(), newBudget(Limits{}), data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The limits hold for a render's pages together.
func TestBudgetSpansPages(t *testing.T) {
	c := mustCompile(t, `{{range .n}}AAAA{{end}}`)
	b := newBudget(Limits{MaxBytes: 1000, MaxSteps: 400})
	if _, err := c.execute(context.Background(), b, map[string]any{"n": int64(150)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.execute(context.Background(), b, map[string]any{"n": int64(150)}); !errors.Is(err, ErrTemplateTooLarge) || !strings.Contains(err.Error(), "1000 bytes") {
		t.Fatalf("second page past the render's bytes: %v", err)
	}
	b = newBudget(Limits{MaxSteps: 400})
	for i, want := range []bool{true, true, false} { // 151 steps each
		_, err := c.execute(context.Background(), b, map[string]any{"n": int64(150)})
		if (err == nil) != want {
			t.Fatalf("page %d: err = %v", i+1, err)
		}
	}
}
