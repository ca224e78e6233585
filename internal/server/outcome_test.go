package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/takumi"
)

// TestOutcomeFollowsTheErrorTable: a render's metric outcome says
// client_error exactly where its answer is a 4xx in its dialect (JSON
// for pages, V1 for URLs), so the dashboards and the answers agree: a
// selector the client asked to be missing is the client's, a takumi
// failure answered 500 is the server's.
func TestOutcomeFollowsTheErrorTable(t *testing.T) {
	build := errors.New("template build")
	for _, c := range []struct {
		d    reply.Dialect
		want string
		errs []error
	}{
		{reply.JSON, "ok", []error{nil}},
		{reply.JSON, "timeout", []error{fmt.Errorf("render: %w", browser.ErrRenderTimeout), context.DeadlineExceeded}},
		{reply.JSON, "queue_full", []error{browser.ErrQueueFull}},
		{reply.JSON, "canceled", []error{context.Canceled}},
		{reply.JSON, "client_error", []error{fmt.Errorf("exec: %w", build), fmt.Errorf("%w: bad quality", browser.ErrBadRequest), render.ErrTemplate}},
		{reply.V1, "client_error", []error{fmt.Errorf("%w: 10.0.0.1", browser.ErrBlockedURL), fmt.Errorf("%w: 404", browser.ErrPageStatus),
			browser.ErrSelectorNotFound, browser.ErrNavigation, browser.ErrPageScript, fmt.Errorf("%w: #paywall", browser.ErrSelectorMissing),
			fmt.Errorf("%w: .error", browser.ErrSelectorPresent), browser.ErrArtifactTooLarge, browser.ErrCaptcha}},
		{reply.JSON, "server_error", []error{browser.ErrBrowserCrashed, takumi.ErrCrashed, takumi.ErrRender, errors.New("disk on fire")}},
	} {
		for _, err := range c.errs {
			if got := outcome(c.d, err, build); got != c.want {
				t.Errorf("outcome(%d, %v) = %s, want %s", c.d, err, got, c.want)
			}
		}
	}
}
