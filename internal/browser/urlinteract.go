package browser

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
)

// maxClickAll bounds the elements one ClickAll selector clicks.
const maxClickAll = 100

// cssColorRE is what a colour option accepts: a name, #hex, or a
// function like rgb(…) — nothing that could end the CSS rule it goes in.
var cssColorRE = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|[a-z]{3,5}\([0-9a-zA-Z.,%/ +-]{1,80}\))$`)

// mediaFeatures are the emulated CSS media features of the request.
func (r URLRequest) mediaFeatures() []*emulation.MediaFeature {
	var f []*emulation.MediaFeature
	if r.DarkMode {
		f = append(f, &emulation.MediaFeature{Name: "prefers-color-scheme", Value: "dark"})
	}
	if r.ReducedMotion {
		f = append(f, &emulation.MediaFeature{Name: "prefers-reduced-motion", Value: "reduce"})
	}
	return f
}

// validateInteract checks the interaction options.
func (r URLRequest) validateInteract() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if len(r.Click) > MaxSelectors || len(r.ClickAll) > MaxSelectors {
		return bad("click / click_all: at most %d selectors", MaxSelectors)
	}
	for _, s := range append(append([]string{r.Hover, r.ScrollTo, r.Highlight}, r.Click...), r.ClickAll...) {
		if len(s) > maxPatternLen {
			return bad("selector or text %.40q… is over %d characters", s, maxPatternLen)
		}
	}
	for _, c := range []string{r.BgColor, r.HighlightFg, r.HighlightBg} {
		if c != "" && !cssColorRE.MatchString(c) {
			return bad("colour %q is not a CSS colour", c)
		}
	}
	return nil
}

// interact clicks, highlights and paints, before HideSelector.
func (r *urlRun) interact(ctx context.Context) error {
	req := r.req
	targets, most := req.clickTargets()
	for i, c := range targets {
		js := `(() => { for (const e of ` + findAllJS(c.sel, c.xpath, most[i]) + `) e.click(); })()`
		if err := evaluate(ctx, js, nil); err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrBadRequest, c.option, c.sel, err)
		}
	}
	if req.Highlight != "" {
		if err := evaluate(ctx, highlightScript(req.Highlight, cmp.Or(req.HighlightFg, "white"), cmp.Or(req.HighlightBg, "red")), nil); err != nil {
			return fmt.Errorf("highlight: %w", err)
		}
	}
	var css strings.Builder
	if req.BgColor != "" {
		css.WriteString("html,body{background:" + req.BgColor + " !important}\n")
	}
	if req.DisableAnimations {
		css.WriteString("*,*::before,*::after{animation:none !important;transition:none !important;caret-color:transparent !important}\n")
	}
	if req.DisableLigatures {
		css.WriteString(ligaturesCSS)
	}
	if css.Len() > 0 {
		if err := injectCSS(ctx, css.String()); err != nil {
			return fmt.Errorf("bg_color / disable_animations / disable_ligatures: %w", err)
		}
	}
	return nil
}

// highlightScript wraps each occurrence of words' words in the page's text
// in a mark of colours fg on bg.
func highlightScript(words, fg, bg string) string {
	return `(() => {
  const words = ` + jsString(words) + `.split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!words.length || !document.body) return;
  const re = new RegExp('(' + words.join('|') + ')', 'gi');
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walk.nextNode(); n && nodes.length < 10000; n = walk.nextNode()) {
    const p = n.parentNode.nodeName;
    if (p !== 'SCRIPT' && p !== 'STYLE' && re.test(n.data)) nodes.push(n);
    re.lastIndex = 0;
  }
  for (const n of nodes) {
    const frag = document.createDocumentFragment();
    for (const part of n.data.split(re)) {
      if (!part) continue;
      if (re.test(part)) {
        const m = document.createElement('mark');
        m.style.cssText = 'color:' + ` + jsString(fg) + ` + ' !important;background:' + ` + jsString(bg) + ` + ' !important';
        m.textContent = part;
        frag.appendChild(m);
      } else frag.appendChild(document.createTextNode(part));
      re.lastIndex = 0;
    }
    n.parentNode.replaceChild(frag, n);
  }
})()`
}

// lastInteract scrolls and hovers, after everything else changed the
// page.
func (r *urlRun) lastInteract(ctx context.Context) error {
	req := r.req
	for _, c := range only(selTarget{"scroll_to", req.ScrollTo, false}, selTarget{"scroll_to_x", req.ScrollToX, true}) {
		js := `(() => { const e = ` + findJS(c.sel, c.xpath) + `; if (e) e.scrollIntoView(); })()`
		if px, err := strconv.Atoi(c.sel); err == nil && !c.xpath {
			js = `window.scrollTo(0, ` + strconv.Itoa(px) + `)`
		}
		if err := evaluate(ctx, js, nil); err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrBadRequest, c.option, c.sel, err)
		}
	}
	for _, c := range only(selTarget{"hover", req.Hover, false}, selTarget{"hover_x", req.HoverX, true}) {
		var at *struct{ X, Y float64 }
		js := `(() => { const e = ` + findJS(c.sel, c.xpath) + `; if (!e) return null;
  e.scrollIntoView({block: 'nearest'}); const b = e.getBoundingClientRect();
  return {X: b.left + b.width / 2, Y: b.top + b.height / 2}; })()`
		if err := evaluate(ctx, js, &at); err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrBadRequest, c.option, c.sel, err)
		}
		if at != nil {
			if err := input.DispatchMouseEvent(input.MouseMoved, at.X, at.Y).Do(ctx); err != nil {
				return fmt.Errorf("hover: %w", err)
			}
		}
	}
	return nil
}
