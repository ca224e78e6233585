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
		err  error
		want string
	}{
		{reply.JSON, nil, "ok"},
		{reply.JSON, fmt.Errorf("exec: %w", build), "client_error"},
		{reply.JSON, fmt.Errorf("render: %w", browser.ErrRenderTimeout), "timeout"},
		{reply.JSON, context.DeadlineExceeded, "timeout"},
		{reply.JSON, browser.ErrQueueFull, "queue_full"},
		{reply.JSON, context.Canceled, "canceled"},
		{reply.JSON, fmt.Errorf("%w: bad quality", browser.ErrBadRequest), "client_error"},
		{reply.V1, fmt.Errorf("%w: 10.0.0.1", browser.ErrBlockedURL), "client_error"},
		{reply.V1, fmt.Errorf("%w: 404", browser.ErrPageStatus), "client_error"},
		{reply.V1, browser.ErrSelectorNotFound, "client_error"},
		{reply.V1, browser.ErrNavigation, "client_error"},
		{reply.V1, browser.ErrPageScript, "client_error"},
		{reply.V1, fmt.Errorf("%w: #paywall", browser.ErrSelectorMissing), "client_error"},
		{reply.V1, fmt.Errorf("%w: .error", browser.ErrSelectorPresent), "client_error"},
		{reply.V1, browser.ErrArtifactTooLarge, "client_error"},
		{reply.V1, browser.ErrCaptcha, "client_error"},
		{reply.JSON, render.ErrTemplate, "client_error"},
		{reply.JSON, browser.ErrBrowserCrashed, "server_error"},
		{reply.JSON, takumi.ErrCrashed, "server_error"},
		{reply.JSON, takumi.ErrRender, "server_error"},
		{reply.JSON, errors.New("disk on fire"), "server_error"},
	} {
		if got := outcome(c.d, c.err, build); got != c.want {
			t.Errorf("outcome(%d, %v) = %s, want %s", c.d, c.err, got, c.want)
		}
	}
}
