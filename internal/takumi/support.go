package takumi

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// What takumi does not draw as Chromium does, found by reading the HTML
// and CSS (takumi 2.16.3; the reference templates in internal/render's
// fidelity test show each). A document using any of them is not
// takumi-capable, whatever a comparison would say: a comparison renders
// one set of values, and these differ for others too.

// unsupportedTags are elements takumi does not lay out or run as a
// browser does.
var unsupportedTags = map[string]string{
	"script":   "scripts do not run",
	"noscript": "noscript content is shown by a browser that does not run scripts",
	"iframe":   "iframes are not drawn",
	"canvas":   "canvas is drawn by script",
	"video":    "video is not drawn",
	"audio":    "audio is not drawn",
	"object":   "embedded objects are not drawn",
	"embed":    "embedded objects are not drawn",
	"link":     "linked stylesheets and fonts are not fetched",
	"input":    "form controls are not drawn",
	"select":   "form controls are not drawn",
	"textarea": "form controls are not drawn",
	"button":   "form controls are not drawn",
	"math":     "MathML is not laid out",
}

// unsupportedCSS are CSS features takumi does not implement (or implements
// differently), each with the pattern that finds it.
var unsupportedCSS = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)@import\b`), "@import is not fetched"},
	{regexp.MustCompile(`(?i)@font-face\b`), "web fonts are not fetched"},
	{regexp.MustCompile(`(?i)@media\b`), "media queries are not evaluated as Chromium does"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])float\s*:\s*(?:left|right|inline-start|inline-end)`), "float is not supported"},
	{regexp.MustCompile(`(?i)display\s*:\s*(?:list-item|ruby|contents|run-in)`), "this display value is not supported"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])columns?(?:-count|-width)?\s*:`), "multi-column layout is not supported"},
	{regexp.MustCompile(`(?i)writing-mode\s*:`), "vertical writing modes are not supported"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s"'])font\s*:`), "the font shorthand is not applied (use font-size, font-family, font-weight)"},
	{regexp.MustCompile(`(?i)position\s*:\s*(?:fixed|sticky)`), "fixed and sticky positioning are not supported"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])content\s*:`), "generated content (::before/::after) is not drawn"},
	{regexp.MustCompile(`(?i)::?(?:before|after|first-letter|first-line|marker)\b`), "pseudo-elements are not drawn"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])shape-outside\s*:`), "shape-outside is not supported"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])counter-(?:reset|increment)\s*:`), "CSS counters are not supported"},
	{regexp.MustCompile(`(?i)list-style(?:-type)?\s*:\s*(?:decimal|disc|circle|square)`), "list markers are not drawn"},
	{regexp.MustCompile(`(?i)(?:^|[;{\s])text-decoration(?:-line)?\s*:\s*[^;]*(?:wavy|dotted|dashed)`), "decorated underlines are not drawn as Chromium does"},
}

// Unsupported lists why takumi would not draw doc as Chromium does: the
// elements and CSS features it uses that takumi lacks. Empty means none
// was found (a comparison still decides; see internal/render).
func Unsupported(doc string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	checkCSS := func(css string) {
		for _, u := range unsupportedCSS {
			if m := u.re.FindString(css); m != "" {
				add(fmt.Sprintf("CSS %q: %s", strings.TrimLeft(strings.TrimSpace(m), ";{"), u.why))
			}
		}
	}
	scan(doc, checkCSS, func(t html.Token) {
		if why, ok := unsupportedTags[t.Data]; ok {
			add(fmt.Sprintf("<%s>: %s", t.Data, why))
		}
	})
	return out
}

// scan reads doc's tags and CSS (style attributes and <style> elements),
// calling tag on each start tag and css on each piece of CSS.
func scan(doc string, css func(string), tag func(html.Token)) {
	z := html.NewTokenizer(strings.NewReader(doc))
	inStyle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.TextToken:
			if inStyle {
				css(string(z.Text()))
			}
		case html.EndTagToken:
			inStyle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			inStyle = t.Data == "style"
			tag(t)
			for _, a := range t.Attr {
				if a.Key == "style" {
					css(a.Val)
				}
			}
		}
	}
}
