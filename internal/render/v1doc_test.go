package render

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's v1 option reference from the option table")

const (
	readmePath     = "../../README.md"
	v1OptionsBegin = "<!-- v1-options:begin (generated from internal/render/v1table.go: go test ./internal/render -run TestV1OptionsReadme -update) -->\n"
	v1OptionsEnd   = "<!-- v1-options:end -->\n"
)

// v1OptionsMarkdown is the README's option reference: the supported
// options by family, then the Urlbox options refused by name.
func v1OptionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Option | Type | Values | Default | What it does |\n| --- | --- | --- | --- | --- |\n")
	var refused, reasons []string
	byReason := map[string][]string{}
	var families []Family
	byFamily := map[Family][]OptionSpec{}
	for _, o := range V1Options() {
		if !o.Supported && o.Refusal != "" {
			if byReason[o.Refusal] == nil {
				reasons = append(reasons, o.Refusal)
			}
			byReason[o.Refusal] = append(byReason[o.Refusal], o.Name)
			continue
		}
		if !o.Supported {
			refused = append(refused, o.Name)
			continue
		}
		if byFamily[o.Family] == nil {
			families = append(families, o.Family)
		}
		byFamily[o.Family] = append(byFamily[o.Family], o)
	}
	for _, f := range families {
		for _, o := range byFamily[f] {
			def := ""
			if o.Default != nil {
				def = fmt.Sprintf("`%v`", o.Default)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Name, o.Type, valuesText(o), def, o.Doc)
		}
	}
	sort.Strings(refused)
	fmt.Fprintf(&b, "\nUrlbox options renderhook knows but does not support, each a 400 that says so: `%s`.\n", strings.Join(refused, "`, `"))
	b.WriteString("\nUrlbox options renderhook stays out of, each a 400 giving the reason:\n\n| Options | Why not |\n| --- | --- |\n")
	for _, why := range reasons {
		names := byReason[why]
		sort.Strings(names)
		fmt.Fprintf(&b, "| `%s` | %s. |\n", strings.Join(names, "`, `"), why)
	}
	return b.String()
}

// valuesText says what values an option takes.
func valuesText(o OptionSpec) string {
	switch o.Type {
	case TypeInteger, TypeNumber:
		return num(o.Min) + "–" + num(o.Max)
	case TypeString:
		if o.Enum != nil {
			return "`" + strings.Join(o.Enum, "`, `") + "`"
		}
		return "≤ " + num(o.Max) + " bytes"
	case TypeStrings:
		return fmt.Sprintf("≤ %d, each ≤ %s bytes", o.MaxItems, num(o.Max))
	}
	return ""
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestV1OptionsReadme: the README's v1 option reference is the table's.
func TestV1OptionsReadme(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(readme, []byte(v1OptionsBegin)), bytes.Index(readme, []byte(v1OptionsEnd))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", v1OptionsBegin, v1OptionsEnd)
	}
	got, want := string(readme[i+len(v1OptionsBegin):j]), v1OptionsMarkdown()
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("README.md's v1 option reference differs from the option table; run go test ./internal/render -run TestV1OptionsReadme -update\n--- README\n%s\n--- table\n%s", got, want)
	}
	out := append(append(append([]byte{}, readme[:i+len(v1OptionsBegin)]...), want...), readme[j:]...)
	if err := os.WriteFile(readmePath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
