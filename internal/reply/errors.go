// Package reply is what renderhook's HTTP interfaces (api, ui) answer
// alike. errors.go is the one table that turns an error into an HTTP
// answer: for each domain sentinel, its status, its stable code and its
// message in each dialect renderhook speaks (the JSON API, the
// Urlbox-style v1 API, and the console's pages), with the headers that go
// with it (Retry-After, X-RateLimit-*). Handlers return errors; the api
// and ui adapters call For once.
//
// The HTTP-level sentinels that belong to no domain (a slow body, bad
// JSON, a missing v1 key) are declared here, a leaf both adapters import.
package reply

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
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

// Dialect is one of the error vocabularies renderhook answers in.
type Dialect int

// The dialects.
const (
	// JSON is the JSON API's: snake_case codes, {"error":{code,message}}.
	JSON Dialect = iota
	// V1 is the Urlbox-compatible API's: Urlbox's codes (ApiKeyNotFound,
	// InvalidOptions, …); what it does not spell it answers as JSON does.
	V1
	// Console is the web console's: its preview's plain-text answers and
	// log entries, and its pages (a 404 page, else a 500).
	Console
)

// HTTP-level sentinels, wrapped with a detail where one is useful.
var (
	// ErrBodyTooSlow: a request body fell below the server's minimum body
	// rate or outlasted its read timeout (408).
	ErrBodyTooSlow = errors.New("request body too slow")
	// ErrInvalidJSON: a body that is not the JSON object asked for (400).
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrNoAPIKey: a v1 request without a bearer token (401
	// NoApiKeySupplied; as an invalid token elsewhere).
	ErrNoAPIKey = fmt.Errorf("no API key supplied: %w", auth.ErrInvalidToken)
	// ErrRenderKeyNotFound: a signed v1 link of an unknown render key.
	ErrRenderKeyNotFound = errors.New("render key not found")
	// ErrRenderNotFound: a v1 status request for a render not in the space.
	ErrRenderNotFound = errors.New("render not found")
	// ErrInvalidURL: a v1 main-frame URL the egress guard refuses.
	ErrInvalidURL = errors.New("invalid url")
	// ErrNoFile: a file URL whose signature or file does not check out.
	ErrNoFile = errors.New("no such file")
	// ErrNoRoute: no route for the method and path.
	ErrNoRoute = errors.New("no route")
	// ErrNotReady: the browser is starting (/healthz).
	ErrNotReady = errors.New("not ready")
)

// Answer is how an error is answered in one dialect.
type Answer struct {
	Status  int
	Code    string
	Message string
	// Header holds the headers that go with the answer (Retry-After,
	// X-RateLimit-*); nil for none.
	Header http.Header
	// Internal marks an error no entry knows: the adapter logs it with
	// the request id and the client sees only Message.
	Internal bool
}

// InternalMessage is the message of an unexpected error; the JSON API
// adds " for request <id>".
const InternalMessage = "internal error; see the server log"

// For answers err in dialect d. V1 looks up its own spellings first, then
// answers as JSON; Console knows only its own.
func For(d Dialect, err error) Answer {
	if d == V1 {
		if a, ok := lookup(err, func(e *entry) *spelling { return e.v1 }); ok {
			return a
		}
		d = JSON
	}
	pick := func(e *entry) *spelling { return e.json }
	if d == Console {
		pick = func(e *entry) *spelling { return e.console }
	}
	if a, ok := lookup(err, pick); ok {
		return a
	}
	return Answer{Status: http.StatusInternalServerError, Code: "internal_error", Message: InternalMessage, Internal: true}
}

func lookup(err error, pick func(*entry) *spelling) (Answer, bool) {
	for i := range table {
		e := &table[i]
		s := pick(e)
		if s == nil || !e.is(err) {
			continue
		}
		a := Answer{Status: s.status, Code: s.code, Message: s.msg(err)}
		if s.retryAfter != "" {
			a.Header = http.Header{"Retry-After": {s.retryAfter}}
		}
		if s.header != nil {
			a.Header = http.Header{}
			s.header(a.Header, err)
		}
		return a, true
	}
	return Answer{}, false
}

// spelling is an entry's answer in one dialect.
type spelling struct {
	status     int
	code       string
	msg        func(error) string
	retryAfter string
	header     func(http.Header, error)
}

// entry is one row of the table: what it matches and its spelling per
// dialect (nil: the dialect has none).
type entry struct {
	is                func(error) bool
	json, v1, console *spelling
}

func say(status int, code string, msg func(error) string) *spelling {
	return &spelling{status: status, code: code, msg: msg}
}

func (s *spelling) retry(after string) *spelling {
	c := *s
	c.retryAfter = after
	return &c
}

func is(sentinels ...error) func(error) bool {
	return func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
}

func as[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// own is the error's own text.
func own(err error) string { return err.Error() }

// after is the error's text without the sentinel's own prefix.
func after(sentinel error) func(error) string {
	return func(err error) string { return Clean(err, sentinel) }
}

func text(s string) func(error) string { return func(error) string { return s } }

// Clean strips the sentinel's own text from a wrapped message.
func Clean(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// The spellings several rows or dialects share.
var (
	tooLarge = say(http.StatusRequestEntityTooLarge, "body_too_large", func(err error) string {
		var mbe *http.MaxBytesError
		errors.As(err, &mbe)
		return fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
	})
	tooSlow       = say(http.StatusRequestTimeout, "body_timeout", text("the request body arrived too slowly, or not in time"))
	invalidInput  = say(http.StatusBadRequest, "invalid_request", after(render.ErrInvalidInput))
	renderFailed  = say(http.StatusUnprocessableEntity, "RenderFailed", renderFailure)
	timeoutText   = text("the page did not finish loading in time (an image or font that never loads?)")
	queueFull     = say(http.StatusServiceUnavailable, "queue_full", text("all browser tabs are busy and the queue is full; retry shortly")).retry("1")
	crashed       = say(http.StatusServiceUnavailable, "browser_crashed", text("the browser crashed during this render; it is restarting, retry shortly")).retry("1")
	stopped       = say(http.StatusServiceUnavailable, "unavailable", text("the server is shutting down"))
	takumiCrashed = say(http.StatusBadGateway, "renderer_crashed",
		text("the takumi renderer crashed during this render; it is restarting, retry shortly")).retry("1")
	takumiDown   = say(http.StatusServiceUnavailable, "unavailable", text("the takumi renderer is not running")).retry("5")
	unauthorized = say(http.StatusUnauthorized, "unauthorized", text("a valid API token is required: Authorization: Bearer rh_…"))
	rateLimited  = &spelling{status: http.StatusTooManyRequests, code: "rate_limited", msg: own, header: rateLimitHeaders}
	conflict     = say(http.StatusConflict, "conflict", after(store.ErrConflict))
	badQuery     = say(http.StatusBadRequest, "invalid_request", after(requestlog.ErrInvalidQuery))
	badSignature = say(http.StatusForbidden, "invalid_signature", own)
	validation   = func(sentinel error) *spelling {
		return say(http.StatusUnprocessableEntity, "validation_failed", after(sentinel))
	}
)

// table is every known error, in the order they are tried: an error that
// wraps several sentinels answers as the first row it matches. Each
// dialect sees only the rows it spells.
var table = []entry{
	{is: as[*render.RateLimitError], json: rateLimited, console: rateLimited},
	{is: as[*http.MaxBytesError], json: tooLarge, v1: tooLarge},
	{is: is(ErrBodyTooSlow), json: tooSlow, v1: tooSlow},

	// The v1 API's own.
	{is: is(ErrNoAPIKey), v1: say(http.StatusUnauthorized, "NoApiKeySupplied", text("no API key was supplied: send Authorization: Bearer rh_…"))},
	{is: is(ErrRenderKeyNotFound), v1: say(http.StatusUnauthorized, "ApiKeyNotFound", text("the render key was not found"))},
	{is: is(ErrRenderNotFound), v1: say(http.StatusNotFound, "RenderNotFound", text("no such render in this space"))},
	{is: is(ErrInvalidURL), v1: say(http.StatusBadRequest, "InvalidUrl", after(ErrInvalidURL))},
	{is: is(render.ErrInvalidOptions), v1: say(http.StatusBadRequest, "InvalidOptions", after(render.ErrInvalidOptions))},
	{is: is(browser.ErrBlockedURL), v1: say(http.StatusBadRequest, "InvalidUrl", func(err error) string { return "the page is not allowed: " + err.Error() })},
	{is: is(browser.ErrPageStatus, browser.ErrNavigation, browser.ErrSelectorNotFound, browser.ErrPageScript,
		browser.ErrSelectorMissing, browser.ErrSelectorPresent, browser.ErrArtifactTooLarge, browser.ErrCaptcha), v1: renderFailed},

	{is: is(render.ErrInvalidTweak),
		json:    say(http.StatusBadRequest, "InvalidTweak", after(render.ErrInvalidTweak)),
		console: say(http.StatusBadRequest, "InvalidTweak", after(render.ErrInvalidTweak))},
	{is: is(render.ErrInvalidInput), json: invalidInput, console: invalidInput},
	{is: is(requestlog.ErrInvalidQuery), json: badQuery, console: badQuery},
	{is: is(ErrInvalidJSON), json: say(http.StatusBadRequest, "invalid_json", after(ErrInvalidJSON))},
	{is: is(page.ErrInvalid), json: validation(page.ErrInvalid)},
	{is: is(endpoint.ErrInvalid), json: validation(endpoint.ErrInvalid)},
	{is: is(space.ErrStorage), json: validation(space.ErrStorage)},
	{is: is(sealed.ErrNoKey), json: say(http.StatusConflict, "storage_key_missing",
		text("this server keeps no storage secrets: its operator has set no --storage-credentials-key"))},
	// The space's storage secret was sealed under a key the server no
	// longer has (retired before the space storage was resealed): its owner can set
	// the storage again, or send s3_key and s3_secret.
	{is: is(sealed.ErrOpen), json: say(http.StatusConflict, "storage_secret_unreadable",
		text("the space's storage secret key does not open under this server's storage credentials keys: set the space's storage again (PUT /api/storage)"))},
	{is: is(render.ErrPageNotFound),
		json:    say(http.StatusNotFound, "page_not_found", own),
		console: say(http.StatusNotFound, "page_not_found", own)},
	{is: is(page.ErrTemplateNotFound), json: say(http.StatusNotFound, "template_not_found", own)},
	{is: is(ErrNoFile), json: say(http.StatusNotFound, "not_found", text("no such file"))},
	{is: is(ErrNoRoute), json: say(http.StatusNotFound, "not_found", func(err error) string { return "no route for " + Clean(err, ErrNoRoute) })},
	// The console's preview calls an unknown page page_not_found; its
	// pages answer every 404 with the not-found page.
	{is: is(store.ErrNotFound),
		json:    say(http.StatusNotFound, "not_found", text("no such resource in this space")),
		console: say(http.StatusNotFound, "page_not_found", own)},
	{is: is(store.ErrConflict), json: conflict, console: conflict},
	{is: is(render.ErrCreditLimit),
		json:    say(http.StatusPaymentRequired, "CreditLimitReached", own),
		console: say(http.StatusPaymentRequired, "CreditLimitReached", own)},
	{is: is(render.ErrNotPublished),
		json:    say(http.StatusUnprocessableEntity, "page_not_published", own),
		console: say(http.StatusUnprocessableEntity, "page_not_published", own)},
	{is: is(render.ErrTemplateMismatch),
		json:    say(http.StatusUnprocessableEntity, "template_mismatch", own),
		console: say(http.StatusUnprocessableEntity, "template_mismatch", own)},
	{is: is(render.ErrTemplateTooLarge),
		json:    say(http.StatusUnprocessableEntity, "TemplateTooLarge", after(render.ErrTemplateTooLarge)),
		console: say(http.StatusUnprocessableEntity, "TemplateTooLarge", after(render.ErrTemplateTooLarge))},
	{is: is(render.ErrTemplate),
		json:    say(http.StatusUnprocessableEntity, "template_error", own),
		console: say(http.StatusUnprocessableEntity, "template_error", own)},
	// takumi (renderType takumi or auto): its helper crashed twice under
	// this render (it restarts), took too long, rejected the page, or is
	// not running. The render failed; nothing was billed.
	{is: is(takumi.ErrCrashed), json: takumiCrashed, console: takumiCrashed},
	{is: is(takumi.ErrTimeout),
		json:    say(http.StatusGatewayTimeout, "render_timeout", text("takumi did not finish this render in time; try renderType html")),
		console: say(http.StatusGatewayTimeout, "render_timeout", text("takumi did not finish this render in time; try renderType html"))},
	{is: is(takumi.ErrRender),
		json:    say(http.StatusInternalServerError, "takumi_failed", own),
		console: say(http.StatusInternalServerError, "takumi_failed", own)},
	{is: is(takumi.ErrStopped, takumi.ErrUnavailable), json: takumiDown, console: takumiDown},
	{is: is(browser.ErrBadRequest),
		json:    say(http.StatusUnprocessableEntity, "invalid_render", own),
		v1:      renderFailed,
		console: say(http.StatusUnprocessableEntity, "invalid_render", own)},
	{is: is(browser.ErrRenderTimeout),
		json:    say(http.StatusUnprocessableEntity, "render_timeout", timeoutText),
		v1:      say(http.StatusUnprocessableEntity, "RenderFailed", text("the page did not finish in time (raise timeout, or check wait_for and wait_until)")),
		console: say(http.StatusUnprocessableEntity, "render_timeout", timeoutText)},
	{is: is(render.ErrStorage),
		json: say(http.StatusUnprocessableEntity, "storage_failed", own),
		v1:   say(http.StatusUnprocessableEntity, "S3UploadFailed", own)},
	{is: is(render.ErrURLRendersDisabled), v1: say(http.StatusServiceUnavailable, "unavailable", text("URL renders are not enabled on this server"))},
	{is: is(browser.ErrQueueFull), json: queueFull, console: queueFull},
	{is: is(browser.ErrBrowserCrashed), json: crashed, console: crashed},
	// The console has always said Retry-After: 1 here, the API 5.
	{is: is(browser.ErrStopped), json: stopped.retry("5"), console: stopped.retry("1")},
	{is: is(ErrNotReady), json: say(http.StatusServiceUnavailable, "not_ready", text("the browser is starting")).retry("1")},
	// A tokenless caller cannot tell an unknown page from one it may not
	// render: both answer alike.
	{is: is(auth.ErrInvalidToken, render.ErrTokenRequired), json: unauthorized, console: unauthorized},
	{is: is(auth.ErrInvalidToken), v1: say(http.StatusUnauthorized, "ApiKeyNotFound", text("the API key was not found (or is revoked)"))},
	{is: is(capability.ErrBadSignature),
		json:    badSignature,
		console: badSignature,
		v1:      say(http.StatusForbidden, "InvalidSignature", text("the token does not match the query: sign the query string exactly as sent"))},
	{is: is(capability.ErrExpired), json: badSignature, console: badSignature},
}

// NoRoute is the error of a request no route serves.
func NoRoute(method, path string) error {
	return fmt.Errorf("%w: %s %s", ErrNoRoute, method, path)
}

// renderFailure says why a render failed, without the render id prefix.
func renderFailure(err error) string {
	var ps *browser.PageStatusError
	if errors.As(err, &ps) {
		return fmt.Sprintf("page answered %d and fail_on_%dxx was true", ps.Status, ps.Status/100)
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "render ") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

// rateLimitHeaders says what a refused request may do next, with the
// headers Urlbox's plan tiers and most HTTP APIs use: the limit a minute,
// what is left, the unix second the bucket holds a request again, and
// Retry-After in whole seconds (at least 1).
func rateLimitHeaders(h http.Header, err error) {
	var e *render.RateLimitError
	errors.As(err, &e)
	wait := int64(math.Ceil(time.Until(e.Reset).Seconds()))
	h.Set("Retry-After", strconv.FormatInt(max(wait, 1), 10))
	h.Set("X-RateLimit-Limit", strconv.Itoa(e.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(e.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(e.Reset.UnixMilli())/1000)), 10))
}
