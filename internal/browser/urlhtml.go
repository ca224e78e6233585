package browser

import (
	"context"
	_ "embed" // the Tailwind browser build
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
)

// This file holds the options of #16 for HTML renders: a base URL for the
// HTML's relative URLs, and Tailwind CSS (its browser build, embedded
// unmodified from the npm package @tailwindcss/browser with its MIT
// licence: thirdparty/tailwind, refreshed by scripts/update-autoconsent.sh;
// never fetched at render time).

//go:embed thirdparty/tailwind/tailwindcss-browser.js
var tailwindJS string

// maxBaseURL bounds BaseURL.
const maxBaseURL = 2048

// tailwindWaitMS bounds, in ms, the wait for Tailwind's first build.
const tailwindWaitMS = "5000"

// doctypeRE matches an HTML document's leading doctype (after comments):
// the base element goes after it, since anything before a doctype puts
// the page in quirks mode.
var doctypeRE = regexp.MustCompile(`(?is)^(\s*<!--.*?-->)*\s*<!doctype[^>]*>`)

// validateHTMLSource checks the options of this file.
func (r URLRequest) validateHTMLSource() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if (r.BaseURL != "" || r.UseTailwind) && r.HTML == "" {
		return bad("base_url and use_tailwind apply to html renders only")
	}
	if r.BaseURL != "" {
		u, err := url.Parse(r.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r.BaseURL) > maxBaseURL ||
			strings.ContainsAny(r.BaseURL, " \t\r\n\x00") {
			return bad("base_url %.60q is not an absolute http(s) URL of at most %d bytes", r.BaseURL, maxBaseURL)
		}
	}
	return nil
}

// document is the HTML the tab is given: the request's, with a base
// element for BaseURL first (after any doctype), so its relative URLs
// resolve against it. The first base element wins over any of the page's.
func (r URLRequest) document() string {
	if r.BaseURL == "" {
		return r.HTML
	}
	base := `<base href="` + html.EscapeString(r.BaseURL) + `">`
	if loc := doctypeRE.FindStringIndex(r.HTML); loc != nil {
		return r.HTML[:loc[1]] + base + r.HTML[loc[1]:]
	}
	return base + r.HTML
}

// loadTailwind runs Tailwind's browser build in the loaded page and waits
// (at most tailwindWaitMS) for its first build: the style element it
// adds to the head has the page's utilities. It keeps watching the DOM,
// so classes the request's js adds get their styles too.
func (r *urlRun) loadTailwind(ctx context.Context) error {
	if !r.req.UseTailwind {
		return nil
	}
	if err := evaluate(ctx, `(() => { const had = new Set(document.querySelectorAll('style'));
  window.__renderhookTailwindHad = had; })()`, nil); err != nil {
		return fmt.Errorf("use_tailwind: %w", err)
	}
	if err := evaluate(ctx, tailwindJS, nil); err != nil {
		return fmt.Errorf("use_tailwind: load tailwind: %w", err)
	}
	wait := `new Promise((resolve) => {
  const had = window.__renderhookTailwindHad, end = Date.now() + ` + tailwindWaitMS + `;
  delete window.__renderhookTailwindHad;
  const check = () => {
    const built = [...document.querySelectorAll('style')].some((s) => !had.has(s) && s.textContent.length > 0);
    if (built || Date.now() > end) resolve(built); else setTimeout(check, 10);
  };
  check();
})`
	var built bool
	if err := evaluate(ctx, wait, &built); err != nil {
		return fmt.Errorf("use_tailwind: wait for tailwind: %w", err)
	}
	if !built {
		return fmt.Errorf("%w: use_tailwind: tailwind built no styles within %s ms", ErrPageScript, tailwindWaitMS)
	}
	return nil
}
