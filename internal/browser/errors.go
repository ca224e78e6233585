package browser

import "errors"

// Errors of renders. Render and RenderURL errors wrap one of these, so
// callers can map them with errors.Is; the render service maps them and the
// API turns them into statuses (queue full → 503, blocked → 400, page
// status → failed render, …).
var (
	// ErrQueueFull: MaxTabs renders run and QueueSize more wait.
	ErrQueueFull = errors.New("render queue is full")
	// ErrBrowserCrashed: the browser (or the page's renderer) died during
	// the render, or did not come back within StartTimeout.
	ErrBrowserCrashed = errors.New("browser crashed during render")
	// ErrRenderTimeout: the render ran past its timeout.
	ErrRenderTimeout = errors.New("render timed out")
	// ErrStopped: the pool is not started, or was stopped.
	ErrStopped = errors.New("browser pool is stopped")
	// ErrUnknownFormat: ParseFormat was given no format it knows.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrBadRequest: the request is malformed (sizes, pages, options).
	ErrBadRequest = errors.New("invalid render request")

	// ErrBlockedURL: the main-frame URL is refused by the egress guard or
	// has a scheme we never navigate to (file:, chrome:, data:, …).
	ErrBlockedURL = errors.New("url is not allowed")
	// ErrPageStatus: fail_on_4xx / fail_on_5xx and the main frame answered
	// such a status. Wrapped in a *PageStatusError carrying the code.
	ErrPageStatus = errors.New("page answered an error status")
	// ErrSelectorNotFound: selector or wait_for matched nothing in time.
	ErrSelectorNotFound = errors.New("selector not found")
	// ErrNavigation: the page could not be loaded (DNS, refused, TLS, …).
	ErrNavigation = errors.New("navigation failed")
	// ErrSelectorMissing: fail_if_selector_missing matched nothing once
	// the page was ready.
	ErrSelectorMissing = errors.New("required selector is missing")
	// ErrSelectorPresent: fail_if_selector_present matched an element once
	// the page was ready.
	ErrSelectorPresent = errors.New("forbidden selector is present")
	// ErrCaptcha: fail_if_captcha and the ready page shows a CAPTCHA.
	ErrCaptcha = errors.New("the page shows a CAPTCHA")
	// ErrPageScript: the request's js threw (or its promise rejected).
	ErrPageScript = errors.New("page script failed")
)
