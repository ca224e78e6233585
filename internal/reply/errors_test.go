package reply

import (
	"errors"
	"fmt"
	"net/http"
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
