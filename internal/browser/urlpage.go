package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/page"
)

// This file holds the page-behaviour options of #16: the XPath variants
// of the selector options (one code path with the CSS ones: a selector
// and its kind), dialogs, suppressed DOM events and media query
// listeners, and ligatures.

// Bounds of this file's options.
const (
	// MaxDisableEvents bounds DisableEvents.
	MaxDisableEvents = 50
	// maxHideX bounds the elements one HideSelectorX expression hides.
	maxHideX = 1000
)

// customDataPathRE is what Extract.CustomData may be: identifiers joined
// by dots.
var customDataPathRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]{0,99}(\.[A-Za-z_$][A-Za-z0-9_$]{0,99}){0,9}$`)

// MaxCustomData bounds the JSON of Extract.CustomData's value.
const MaxCustomData = 64 << 10

// ValidCustomDataPath reports whether s can name a page variable for
// Extract.CustomData: a property path from window like "app.state".
func ValidCustomDataPath(s string) bool { return customDataPathRE.MatchString(s) }

// customData reads the JSON of the page variable at path, bounded by
// MaxCustomData; a value JSON cannot encode (a cycle, a BigInt) fails the
// render with ErrPageScript.
func (r *urlRun) customData(ctx context.Context, path string) (json.RawMessage, error) {
	js := `(() => { let v = window;
  for (const k of ` + jsStrings(strings.Split(path, ".")) + `) { if (v === null || v === undefined) return 'null'; v = v[k]; }
  const s = JSON.stringify(v === undefined ? null : v);
  return s === undefined ? 'null' : (s.length > ` + strconv.Itoa(MaxCustomData) + ` ? null : s); })()`
	var s *string
	if err := evaluate(ctx, js, &s); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("custom_data_variable: %w", err)
		}
		return nil, fmt.Errorf("%w: custom_data_variable %q: %w", ErrPageScript, path, err)
	}
	if s == nil || len(*s) > MaxCustomData || !json.Valid([]byte(*s)) {
		return nil, fmt.Errorf("%w: custom_data_variable %q: its JSON is over %d bytes", ErrArtifactTooLarge, path, MaxCustomData)
	}
	return json.RawMessage(*s), nil
}

// eventNameRE is what a DisableEvents name may be: a DOM event type.
var eventNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_:.-]{0,63}$`)

// ValidEventName reports whether s can be a DisableEvents name: a DOM
// event type.
func ValidEventName(s string) bool { return eventNameRE.MatchString(s) }

// selTarget is one selector option's value and its kind.
type selTarget struct {
	option string // the v1 option, for errors
	sel    string
	xpath  bool
}

// findAllJS is a JavaScript expression for an array of the (at most n)
// elements sel matches, in document order. An XPath node that is not an
// element (a text or attribute node) stands for its parent element; an
// expression that does not evaluate to nodes throws.
func findAllJS(sel string, xpath bool, n int) string {
	lim := strconv.Itoa(n)
	if !xpath {
		return `Array.from(document.querySelectorAll(` + jsString(sel) + `)).slice(0, ` + lim + `)`
	}
	return `((r) => { const a = []; for (let i = 0; i < r.snapshotLength && a.length < ` + lim + `; i++) {
  const n = r.snapshotItem(i); const e = n.nodeType === 1 ? n : (n.parentElement || n.ownerElement); if (e) a.push(e); }
  return a; })(document.evaluate(` + jsString(sel) + `, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null))`
}

// findJS is a JavaScript expression for the first element sel matches,
// or null.
func findJS(sel string, xpath bool) string {
	if !xpath {
		return `document.querySelector(` + jsString(sel) + `)`
	}
	return `((n) => !n || n.nodeType === 1 ? n : (n.parentElement || n.ownerElement || null))(document.evaluate(` +
		jsString(sel) + `, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue)`
}

// validatePage checks the options of this file.
func (r URLRequest) validatePage() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if len(r.HideSelectorX) > MaxSelectors || len(r.ClickX) > MaxSelectors || len(r.ClickAllX) > MaxSelectors {
		return bad("hide_selector_x / click_x / click_all_x: at most %d expressions", MaxSelectors)
	}
	for _, list := range [][]string{{r.WaitForX, r.WaitToLeaveX, r.HoverX, r.ScrollToX}, r.HideSelectorX, r.ClickX, r.ClickAllX} {
		for _, s := range list {
			if len(s) > maxPatternLen {
				return bad("XPath expression %.40q… is over %d characters", s, maxPatternLen)
			}
		}
	}
	if err := r.validateHTMLSource(); err != nil {
		return err
	}
	if c := r.Extract.CustomData; c != "" && !ValidCustomDataPath(c) {
		return bad("custom_data_variable %.40q is not a variable name or property path like app.state", c)
	}
	if len(r.DisableEvents) > MaxDisableEvents {
		return bad("disable_events: at most %d event names", MaxDisableEvents)
	}
	for _, e := range r.DisableEvents {
		if !ValidEventName(e) {
			return bad("disable_events: %.40q is not an event name", e)
		}
	}
	return nil
}

// clickTargets are the click options in the order they apply, and how
// many elements each clicks.
func (r URLRequest) clickTargets() (ts []selTarget, most []int) {
	add := func(option string, list []string, xpath bool, n int) {
		for _, s := range list {
			ts, most = append(ts, selTarget{option, s, xpath}), append(most, n)
		}
	}
	add("click", r.Click, false, 1)
	add("click_x", r.ClickX, true, 1)
	add("click_all", r.ClickAll, false, maxClickAll)
	add("click_all_x", r.ClickAllX, true, maxClickAll)
	return ts, most
}

// waitTargets are the waits in order: present ones, then leaving ones.
func (r URLRequest) waitTargets() (ts []selTarget, present []bool) {
	for _, c := range []struct {
		t       selTarget
		present bool
	}{
		{selTarget{"wait_for", r.WaitFor, false}, true},
		{selTarget{"wait_for_x", r.WaitForX, true}, true},
		{selTarget{"wait_to_leave", r.WaitToLeave, false}, false},
		{selTarget{"wait_to_leave_x", r.WaitToLeaveX, true}, false},
	} {
		if c.t.sel != "" {
			ts, present = append(ts, c.t), append(present, c.present)
		}
	}
	return ts, present
}

// only keeps the targets with a selector.
func only(ts ...selTarget) []selTarget {
	var out []selTarget
	for _, t := range ts {
		if t.sel != "" {
			out = append(out, t)
		}
	}
	return out
}

// hideXPaths hides (display: none) the elements HideSelectorX matches.
func (r *urlRun) hideXPaths(ctx context.Context) error {
	for _, s := range r.req.HideSelectorX {
		js := `(() => { for (const e of ` + findAllJS(s, true, maxHideX) + `) e.style.setProperty('display', 'none', 'important'); })()`
		if err := evaluate(ctx, js, nil); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("hide_selector_x: %w", err)
			}
			return fmt.Errorf("%w: hide_selector_x %q: %w", ErrBadRequest, s, err)
		}
	}
	return nil
}

// ligaturesCSS turns font ligatures off everywhere.
const ligaturesCSS = `*,*::before,*::after{font-variant-ligatures:none !important;` +
	`font-feature-settings:"liga" 0,"clig" 0,"dlig" 0,"calt" 0 !important}` + "\n"

// preparePage installs, before the page's own scripts run (in every
// frame), what suppresses DisableEvents and media query listeners.
func (r *urlRun) preparePage(ctx context.Context) error {
	req := r.req
	if len(req.DisableEvents) == 0 && !req.DisableMQL {
		return nil
	}
	names := jsStrings(append([]string{}, req.DisableEvents...))
	js := `(() => {
  const names = new Set(` + names + `);
  if (names.size) {
    const add = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (type, fn, opts) {
      if (names.has(String(type))) return;
      return add.call(this, type, fn, opts);
    };
    // Listeners set as on<event> properties and on window itself: ours
    // comes first (capture, on window) and stops every later one.
    for (const n of names) add.call(window, n, (e) => e.stopImmediatePropagation(), true);
  }
  if (` + strconv.FormatBool(req.DisableMQL) + `) {
    const mm = window.matchMedia;
    window.matchMedia = function (q) {
      const m = mm.call(window, q);
      const add = m.addEventListener;
      m.addListener = () => {};
      m.addEventListener = function (type, fn, opts) { if (String(type) !== 'change') return add.call(m, type, fn, opts); };
      Object.defineProperty(m, 'onchange', {get() { return null; }, set() {}});
      return m;
    };
  }
})()`
	if _, err := page.AddScriptToEvaluateOnNewDocument(js).WithRunImmediately(true).Do(ctx); err != nil {
		return fmt.Errorf("disable events / media query listeners: %w", err)
	}
	return nil
}

// jsStrings quotes list as a JavaScript array of strings.
func jsStrings(list []string) string {
	b, _ := json.Marshal(list) // strings always marshal
	return string(b)
}
