package reply

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/endpoint"
	"github.com/renderhook/renderhook/internal/page"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/space"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
)

// TestFor pins each dialect's answer to the errors handlers return: the
// status, code, message and headers clients see.
func TestFor(t *testing.T) {
	unknown := errors.New("disk on fire")
	tests := []struct {
		name       string
		d          Dialect
		err        error
		status     int
		code, msg  string
		retryAfter string
		internal   bool
	}{
		{"json invalid input", JSON, fmt.Errorf("%w: format must be png", render.ErrInvalidInput), 400, "invalid_request", "format must be png", "", false},
		{"json tweak before input", JSON, fmt.Errorf("%w: size", render.ErrInvalidTweak), 400, "InvalidTweak", "size", "", false},
		{"json listing query", JSON, fmt.Errorf("%w: limit must be from 1 to 200", requestlog.ErrInvalidQuery), 400, "invalid_request", "limit must be from 1 to 200", "", false},
		{"json bad json", JSON, fmt.Errorf("%w: empty body", ErrInvalidJSON), 400, "invalid_json", "empty body", "", false},
		{"json page rule", JSON, fmt.Errorf("%w: html is required", page.ErrInvalid), 422, "validation_failed", "html is required", "", false},
		{"json endpoint rule", JSON, &endpoint.InvalidError{Rule: endpoint.URLRequired}, 422, "validation_failed", "url is required", "", false},
		{"json template not found", JSON, fmt.Errorf("%w: tpl_1", page.ErrTemplateNotFound), 404, "template_not_found", "template not found: tpl_1", "", false},
		{"json not found", JSON, fmt.Errorf("get page: %w", store.ErrNotFound), 404, "not_found", "no such resource in this space", "", false},
		{"json no file", JSON, ErrNoFile, 404, "not_found", "no such file", "", false},
		{"json no route", JSON, NoRoute("GET", "/x"), 404, "not_found", "no route for GET /x", "", false},
		{"json too large, wrapped: message kept whole", JSON, fmt.Errorf("render: %w: 2 MB", render.ErrTemplateTooLarge), 422, "TemplateTooLarge", "render: template error: too large: 2 MB", "", false},
		{"json too large", JSON, fmt.Errorf("%w: 2 MB", render.ErrTemplateTooLarge), 422, "TemplateTooLarge", "2 MB", "", false},
		{"json bad render", JSON, browser.ErrBadRequest, 422, "invalid_render", "invalid render request", "", false},
		{"json stopped", JSON, browser.ErrStopped, 503, "unavailable", "the server is shutting down", "5", false},
		{"json queue full", JSON, browser.ErrQueueFull, 503, "queue_full", "all browser tabs are busy and the queue is full; retry shortly", "1", false},
		{"json takumi crashed", JSON, fmt.Errorf("render r_1: %w: signal: killed", takumi.ErrCrashed), 502, "renderer_crashed", "the takumi renderer crashed during this render; it is restarting, retry shortly", "1", false},
		{"json takumi timeout", JSON, fmt.Errorf("%w after 10s", takumi.ErrTimeout), 504, "render_timeout", "takumi did not finish this render in time; try renderType html", "", false},
		{"json takumi down", JSON, takumi.ErrUnavailable, 503, "unavailable", "the takumi renderer is not running", "5", false},
		{"console takumi crashed", Console, takumi.ErrCrashed, 502, "renderer_crashed", "the takumi renderer crashed during this render; it is restarting, retry shortly", "1", false},
		{"json not ready", JSON, ErrNotReady, 503, "not_ready", "the browser is starting", "1", false},
		{"json token required", JSON, render.ErrTokenRequired, 401, "unauthorized", "a valid API token is required: Authorization: Bearer rh_…", "", false},
		{"json no key is unauthorized", JSON, ErrNoAPIKey, 401, "unauthorized", "a valid API token is required: Authorization: Bearer rh_…", "", false},
		{"json expired link", JSON, capability.ErrExpired, 403, "invalid_signature", "signed link expired", "", false},
		{"json body too slow", JSON, fmt.Errorf("%w (3 bytes in 5s)", ErrBodyTooSlow), 408, "body_timeout", "the request body arrived too slowly, or not in time", "", false},
		{"json too big body", JSON, &http.MaxBytesError{Limit: 10}, 413, "body_too_large", "request body is larger than 10 bytes", "", false},
		{"json secret sealed under a retired key", JSON, fmt.Errorf("open the space's storage secret: %w", sealed.ErrOpen), 409, "storage_secret_unreadable",
			"the space's storage secret key does not open under this server's storage credentials keys: set the space's storage again (PUT /api/storage)", "", false},
		{"json unknown", JSON, unknown, 500, "internal_error", InternalMessage, "", true},
		{"json v1 code unknown there", JSON, ErrRenderNotFound, 500, "internal_error", InternalMessage, "", true},

		{"v1 no key", V1, ErrNoAPIKey, 401, "NoApiKeySupplied", "no API key was supplied: send Authorization: Bearer rh_…", "", false},
		{"v1 bad key", V1, auth.ErrInvalidToken, 401, "ApiKeyNotFound", "the API key was not found (or is revoked)", "", false},
		{"v1 render key", V1, ErrRenderKeyNotFound, 401, "ApiKeyNotFound", "the render key was not found", "", false},
		{"v1 signature", V1, capability.ErrBadSignature, 403, "InvalidSignature", "the token does not match the query: sign the query string exactly as sent", "", false},
		{"v1 options", V1, fmt.Errorf("%w: option \"width\": too wide", render.ErrInvalidOptions), 400, "InvalidOptions", "option \"width\": too wide", "", false},
		{"v1 url", V1, fmt.Errorf("%w: option \"url\": private address", ErrInvalidURL), 400, "InvalidUrl", "option \"url\": private address", "", false},
		{"v1 blocked", V1, browser.ErrBlockedURL, 400, "InvalidUrl", "the page is not allowed: url is not allowed", "", false},
		{"v1 bad render", V1, fmt.Errorf("render rnd_1: %w", browser.ErrBadRequest), 422, "RenderFailed", "invalid render request", "", false},
		{"v1 page status", V1, &browser.PageStatusError{Status: 404}, 422, "RenderFailed", "page answered 404 and fail_on_4xx was true", "", false},
		{"v1 selector missing", V1, fmt.Errorf("render rnd_1: %w: #paywall", browser.ErrSelectorMissing), 422, "RenderFailed", "required selector is missing: #paywall", "", false},
		{"v1 selector present", V1, fmt.Errorf("render rnd_1: %w: .error", browser.ErrSelectorPresent), 422, "RenderFailed", "forbidden selector is present: .error", "", false},
		{"v1 timeout", V1, browser.ErrRenderTimeout, 422, "RenderFailed", "the page did not finish in time (raise timeout, or check wait_for and wait_until)", "", false},
		{"v1 disabled", V1, render.ErrURLRendersDisabled, 503, "unavailable", "URL renders are not enabled on this server", "", false},
		{"v1 render not found", V1, ErrRenderNotFound, 404, "RenderNotFound", "no such render in this space", "", false},
		{"v1 falls back to json", V1, browser.ErrQueueFull, 503, "queue_full", "all browser tabs are busy and the queue is full; retry shortly", "1", false},
		{"v1 body", V1, &http.MaxBytesError{Limit: 5}, 413, "body_too_large", "request body is larger than 5 bytes", "", false},
		{"v1 unknown", V1, unknown, 500, "internal_error", InternalMessage, "", true},

		{"console not found is page_not_found", Console, store.ErrNotFound, 404, "page_not_found", "not found", "", false},
		{"console page not found", Console, render.ErrPageNotFound, 404, "page_not_found", "page not found", "", false},
		{"console stopped", Console, browser.ErrStopped, 503, "unavailable", "the server is shutting down", "1", false},
		{"console tweak", Console, fmt.Errorf("%w: size", render.ErrInvalidTweak), 400, "InvalidTweak", "size", "", false},
		{"console credits", Console, render.ErrCreditLimit, 402, "CreditLimitReached", "credit limit reached", "", false},
		{"console conflict", Console, fmt.Errorf("%w: the secret was rotated concurrently; try again", store.ErrConflict), 409, "conflict", "the secret was rotated concurrently; try again", "", false},
		{"console signature", Console, capability.ErrBadSignature, 403, "invalid_signature", "bad signature", "", false},
		{"console expired link", Console, capability.ErrExpired, 403, "invalid_signature", "signed link expired", "", false},
		{"console token required", Console, render.ErrTokenRequired, 401, "unauthorized", "a valid API token is required: Authorization: Bearer rh_…", "", false},
		{"console listing query", Console, fmt.Errorf("%w: bad cursor", requestlog.ErrInvalidQuery), 400, "invalid_request", "bad cursor", "", false},
		{"console unknown", Console, unknown, 500, "internal_error", InternalMessage, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := For(tt.d, tt.err)
			if a.Status != tt.status || a.Code != tt.code || a.Message != tt.msg || a.Internal != tt.internal {
				t.Errorf("For = %d %s %q internal=%v, want %d %s %q internal=%v", a.Status, a.Code, a.Message, a.Internal, tt.status, tt.code, tt.msg, tt.internal)
			}
			if got := a.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

// TestRateLimitHeaders checks that a refused render says when to retry,
// in whole seconds (at least 1), with the bucket's state.
func TestRateLimitHeaders(t *testing.T) {
	e := &render.RateLimitError{}
	e.Limit, e.Remaining, e.Reset = 60, 0, time.Now().Add(2500*time.Millisecond)
	for _, d := range []Dialect{JSON, V1, Console} {
		a := For(d, fmt.Errorf("render: %w", e))
		if a.Status != http.StatusTooManyRequests || a.Code != "rate_limited" {
			t.Fatalf("dialect %d: %d %s", d, a.Status, a.Code)
		}
		if a.Header.Get("Retry-After") != "3" || a.Header.Get("X-RateLimit-Limit") != "60" || a.Header.Get("X-RateLimit-Remaining") != "0" ||
			a.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("dialect %d: headers %v", d, a.Header)
		}
	}
}

// sentinels are the values of the sentinels declared in the packages
// errors.go imports and in reply itself, by "package.Name", each as it
// reaches a handler: wrapped in a context, or inside the error that
// carries it. Go cannot look a variable up by its name, so the values are
// listed here; TestSentinelsHaveEntries checks this list against the
// declarations parsed from the packages' source, both ways, so a new
// sentinel fails the test until it is here and answered.
var sentinels = map[string]error{
	"auth.ErrInvalidToken": auth.ErrInvalidToken,

	"browser.ErrQueueFull":        browser.ErrQueueFull,
	"browser.ErrBrowserCrashed":   browser.ErrBrowserCrashed,
	"browser.ErrRenderTimeout":    browser.ErrRenderTimeout,
	"browser.ErrStopped":          browser.ErrStopped,
	"browser.ErrBadRequest":       browser.ErrBadRequest,
	"browser.ErrBlockedURL":       browser.ErrBlockedURL,
	"browser.ErrPageStatus":       in(browser.ErrPageStatus, &browser.PageStatusError{Status: 503}),
	"browser.ErrSelectorNotFound": browser.ErrSelectorNotFound,
	"browser.ErrNavigation":       browser.ErrNavigation,
	"browser.ErrSelectorMissing":  browser.ErrSelectorMissing,
	"browser.ErrSelectorPresent":  browser.ErrSelectorPresent,
	"browser.ErrCaptcha":          browser.ErrCaptcha,
	"browser.ErrPageScript":       browser.ErrPageScript,
	"browser.ErrArtifactTooLarge": browser.ErrArtifactTooLarge,
	// The format and encoder errors are details: browser always joins
	// them to ErrBadRequest (render.go, urlcheck.go, urlavif.go,
	// urlvideo.go); render turns ParseFormat's into ErrInvalidInput.
	"browser.ErrUnknownFormat":  in(browser.ErrUnknownFormat, fmt.Errorf("%w: format %q: %w", browser.ErrBadRequest, "gif", browser.ErrUnknownFormat)),
	"browser.ErrNoAVIFEncoder":  in(browser.ErrNoAVIFEncoder, fmt.Errorf("%w: %w", browser.ErrBadRequest, browser.ErrNoAVIFEncoder)),
	"browser.ErrNoVideoEncoder": in(browser.ErrNoVideoEncoder, fmt.Errorf("%w: %w", browser.ErrBadRequest, browser.ErrNoVideoEncoder)),

	"capability.ErrBadSignature": capability.ErrBadSignature,
	"capability.ErrExpired":      capability.ErrExpired,

	"endpoint.ErrInvalid": in(endpoint.ErrInvalid, &endpoint.InvalidError{Rule: endpoint.URLRequired}),

	"page.ErrInvalid":          page.ErrInvalid,
	"page.ErrTemplateNotFound": page.ErrTemplateNotFound,

	"render.ErrInvalidInput":       render.ErrInvalidInput,
	"render.ErrInvalidTweak":       render.ErrInvalidTweak,
	"render.ErrInvalidOptions":     render.ErrInvalidOptions,
	"render.ErrRateLimited":        in(render.ErrRateLimited, refusedRender()),
	"render.ErrPageNotFound":       render.ErrPageNotFound,
	"render.ErrNotPublished":       render.ErrNotPublished,
	"render.ErrTemplateMismatch":   render.ErrTemplateMismatch,
	"render.ErrTemplate":           render.ErrTemplate,
	"render.ErrTemplateTooLarge":   render.ErrTemplateTooLarge,
	"render.ErrCreditLimit":        render.ErrCreditLimit,
	"render.ErrTokenRequired":      render.ErrTokenRequired,
	"render.ErrStorage":            render.ErrStorage,
	"render.ErrURLRendersDisabled": render.ErrURLRendersDisabled,

	"requestlog.ErrInvalidQuery":  requestlog.ErrInvalidQuery,
	"requestlog.ErrInvalidCursor": requestlog.ErrInvalidCursor,

	"sealed.ErrNoKey": sealed.ErrNoKey,
	"sealed.ErrOpen":  sealed.ErrOpen,

	"space.ErrNameRequired": space.ErrNameRequired,
	"space.ErrCreditLimit":  space.ErrCreditLimit,
	"space.ErrOverlap":      space.ErrOverlap,
	"space.ErrRateLimit":    space.ErrRateLimit,
	"space.ErrStorage":      space.ErrStorage,

	"store.ErrNotFound": store.ErrNotFound,
	"store.ErrConflict": store.ErrConflict,

	"takumi.ErrCrashed":     takumi.ErrCrashed,
	"takumi.ErrTimeout":     takumi.ErrTimeout,
	"takumi.ErrRender":      takumi.ErrRender,
	"takumi.ErrStopped":     takumi.ErrStopped,
	"takumi.ErrUnsupported": takumi.ErrUnsupported,
	"takumi.ErrUnavailable": takumi.ErrUnavailable,

	"reply.ErrBodyTooSlow":       ErrBodyTooSlow,
	"reply.ErrInvalidJSON":       ErrInvalidJSON,
	"reply.ErrNoAPIKey":          ErrNoAPIKey,
	"reply.ErrRenderKeyNotFound": ErrRenderKeyNotFound,
	"reply.ErrRenderNotFound":    ErrRenderNotFound,
	"reply.ErrInvalidURL":        ErrInvalidURL,
	"reply.ErrNoFile":            ErrNoFile,
	"reply.ErrNoRoute":           in(ErrNoRoute, NoRoute("GET", "/x")),
	"reply.ErrNotReady":          ErrNotReady,
}

// in is carrier, the error that brings sentinel to a handler; it panics
// (failing the package's tests) if carrier does not wrap sentinel.
func in(sentinel, carrier error) error {
	if !errors.Is(carrier, sentinel) {
		panic(fmt.Sprintf("%v does not wrap %v", carrier, sentinel))
	}
	return carrier
}

// refusedRender is how render.ErrRateLimited reaches a handler: inside the
// *RateLimitError that carries the bucket's state.
func refusedRender() error {
	e := &render.RateLimitError{}
	e.Limit, e.Reset = 60, time.Now().Add(time.Second)
	return e
}

// unanswered are the dialects that answer a sentinel with the logged
// 500 on purpose: where it is meant to be one, or where that interface
// never meets it. Each group says why; the test fails on a name here that
// its dialect does answer, so the list stays true.
var unanswered = []struct {
	dialects []Dialect
	names    []string
	why      string
}{
	{[]Dialect{JSON, V1, Console}, []string{"space.ErrNameRequired", "space.ErrCreditLimit", "space.ErrRateLimit"},
		"spaces are made and changed by the CLI only (cli/space.go words these); no route takes a name or a limit"},
	{[]Dialect{JSON, V1, Console}, []string{"space.ErrOverlap"},
		"the API and the console rotate with the server's overlap (positive after Config.WithDefaults) or NoOverlap; only the CLI passes its own"},
	{[]Dialect{JSON, V1, Console}, []string{"takumi.ErrUnsupported"},
		"render asks takumi only for the formats it makes (render.takumiFormat); Render and its helper refuse any other as unsupported, so one reaching a handler is a bug"},
	{[]Dialect{JSON, Console}, []string{
		"browser.ErrBlockedURL", "browser.ErrPageStatus", "browser.ErrSelectorNotFound", "browser.ErrNavigation",
		"browser.ErrSelectorMissing", "browser.ErrSelectorPresent", "browser.ErrCaptcha", "browser.ErrPageScript",
		"browser.ErrArtifactTooLarge", "render.ErrInvalidOptions", "render.ErrURLRendersDisabled",
		"reply.ErrInvalidURL", "reply.ErrRenderKeyNotFound", "reply.ErrRenderNotFound",
	}, "the v1 API's alone: URL renders (only v1.go and v1link.go call RenderURL), their options, render keys and render status"},
	{[]Dialect{Console}, []string{
		"reply.ErrBodyTooSlow", "reply.ErrInvalidJSON", "reply.ErrNoFile", "reply.ErrNoRoute", "reply.ErrNotReady",
		"render.ErrStorage", "space.ErrStorage", "sealed.ErrNoKey", "sealed.ErrOpen", "page.ErrTemplateNotFound",
	}, "the API's routes alone: JSON bodies (the console's forms read PostFormValue), /files, /healthz, the API's not-found, " +
		"use_s3 and /api/storage, page creation"},
	{[]Dialect{Console}, []string{"page.ErrInvalid", "endpoint.ErrInvalid"},
		"the console shows a form's refusal on its form (templates.go setRenderType, webhooks.go createEndpoint), never through fail"},
}

func isUnanswered(name string, d Dialect) bool {
	for _, u := range unanswered {
		if slices.Contains(u.names, name) && slices.Contains(u.dialects, d) {
			return true
		}
	}
	return false
}

// TestSentinelsHaveEntries checks that reply's table answers every
// exported sentinel of the packages it maps, in every dialect, with an
// entry of its own rather than the unknown error's logged 500, unless
// unanswered says why not.
func TestSentinelsHaveEntries(t *testing.T) {
	declared := declaredSentinels(t)
	for name := range declared {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s is a new sentinel: add it to sentinels in errors_test.go, and give it an entry in errors.go "+
				"for each dialect that meets it (or say in unanswered why none)", name)
		}
	}
	for name := range sentinels {
		if _, ok := declared[name]; !ok {
			t.Errorf("%s is declared no more: drop it from sentinels", name)
		}
	}
	for _, u := range unanswered {
		for _, name := range u.names {
			if _, ok := sentinels[name]; !ok {
				t.Errorf("unanswered names %s, which is not a sentinel", name)
			}
		}
	}
	for name, err := range sentinels {
		for _, d := range []Dialect{JSON, V1, Console} {
			a := For(d, fmt.Errorf("handler: %w", err))
			deliberate := !a.Internal && a.Status >= 400 && a.Code != "" && a.Message != ""
			switch off := isUnanswered(name, d); {
			case off && deliberate:
				t.Errorf("%s in dialect %s: answered %d %s, yet unanswered lists it: drop it from there", name, dialectName(d), a.Status, a.Code)
			case !off && !deliberate:
				t.Errorf("%s in dialect %s: no entry in errors.go answers it (%d %s %q): add one, or say in unanswered why not",
					name, dialectName(d), a.Status, a.Code, a.Message)
			}
		}
	}
}

// TestSentinelDocStatuses checks that the statuses a sentinel's doc
// comment promises ("(404)", "; 422.") are what the table answers it
// with, in some dialect that meets it.
func TestSentinelDocStatuses(t *testing.T) {
	status := regexp.MustCompile(`\b[45]\d\d\b`)
	checked := 0
	for name, doc := range declaredSentinels(t) {
		err, ok := sentinels[name]
		if !ok {
			continue // TestSentinelsHaveEntries says so
		}
		for _, want := range status.FindAllString(doc, -1) {
			var got []string
			for _, d := range []Dialect{JSON, V1, Console} {
				if a := For(d, fmt.Errorf("handler: %w", err)); !isUnanswered(name, d) {
					got = append(got, dialectName(d)+" "+strconv.Itoa(a.Status))
				}
			}
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, " "+want) }) {
				t.Errorf("%s: its doc comment says %s, the table answers %v", name, want, got)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d statuses found in the sentinels' doc comments", checked)
	}
}

func dialectName(d Dialect) string {
	return [...]string{"JSON", "V1", "Console"}[d]
}

// declaredSentinels parses reply's own source and that of every package
// of this module errors.go imports, and returns their exported
// package-level Err* variables, "package.Name" to its doc comment.
func declaredSentinels(t *testing.T) map[string]string {
	t.Helper()
	root, module := moduleRoot(t)
	dirs := map[string]string{"reply": "."}
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if rel, ok := strings.CutPrefix(path, module+"/"); ok {
			dirs[filepath.Base(rel)] = filepath.Join(root, filepath.FromSlash(rel))
		}
	}
	if len(dirs) < 2 {
		t.Fatalf("errors.go imports no package of %s", module)
	}
	names := map[string]string{}
	for pkg, dir := range dirs {
		for name, doc := range packageSentinels(t, dir) {
			names[pkg+"."+name] = doc
		}
	}
	return names
}

// moduleRoot is the repository's root (from this package's directory)
// and its module path.
func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	root = filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return root, strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod names no module")
	return "", ""
}

// packageSentinels lists the exported package-level variables named Err…
// in the non-test Go files of dir, each with its doc comment (its own, or
// its declaration's when it is declared alone).
func packageSentinels(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				doc := vs.Doc.Text()
				if doc == "" && len(gd.Specs) == 1 {
					doc = gd.Doc.Text()
				}
				for _, n := range vs.Names {
					if isSentinelName(n.Name) {
						names[n.Name] = doc
					}
				}
			}
		}
	}
	return names
}

// isSentinelName reports whether name is an exported Err… name (ErrX,
// not Error…).
func isSentinelName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Err")
	return ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z'
}

// TestIsSentinelName pins which names the parse takes for sentinels.
func TestIsSentinelName(t *testing.T) {
	for name, want := range map[string]bool{"ErrNotFound": true, "ErrX": true, "Err": false, "ErrorCount": false, "errNoSession": false, "MaxErr": false} {
		if got := isSentinelName(name); got != want {
			t.Errorf("isSentinelName(%q) = %v, want %v", name, got, want)
		}
	}
}
