package render

import (
	"strings"
	"testing"
)

// TestV1TableNames: the table declares each option once and describes
// each; supported ones have a type and a setter, and refused ones neither.
func TestV1TableNames(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range V1Options() {
		if seen[o.Name] {
			t.Errorf("option %q declared twice", o.Name)
		}
		seen[o.Name] = true
		if o.Doc == "" || o.Family == "" {
			t.Errorf("option %q has no doc or family", o.Name)
		}
		if row := v1Index[o.Name]; o.Supported != (o.Type != "" && row.set != nil) {
			t.Errorf("option %q: supported %v, type %q, setter %v", o.Name, o.Supported, o.Type, row.set != nil)
		}
		if !o.Supported {
			_, err := ParseV1Body([]byte(`{"url":"a.example","` + o.Name + `":"1"}`))
			if want := `option "` + o.Name + `" is a Urlbox option renderhook does not support`; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", o.Name, err, want)
			}
		}
	}
}
