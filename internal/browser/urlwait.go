package browser

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errWaitTimeout is the cause set when URLRequest.WaitTimeout runs out.
var errWaitTimeout = errors.New("wait_timeout ran out")

// validateWaits checks the waits and failure selectors.
func (r URLRequest) validateWaits() error {
	if r.WaitTimeout < 0 {
		return fmt.Errorf("%w: wait_timeout %s is negative", ErrBadRequest, r.WaitTimeout)
	}
	for _, s := range []string{r.WaitFor, r.WaitToLeave, r.FailIfSelectorMissing, r.FailIfSelectorPresent} {
		if len(s) > maxPatternLen {
			return fmt.Errorf("%w: selector %.40q… is over %d characters", ErrBadRequest, s, maxPatternLen)
		}
	}
	return nil
}

// waits waits for WaitFor (and WaitForX) to match and then for
// WaitToLeave (and WaitToLeaveX) to match nothing, each bounded by
// WaitTimeout.
func (r *urlRun) waits(ctx context.Context) error {
	targets, present := r.req.waitTargets()
	for i, c := range targets {
		if err := r.waitSelector(ctx, c, present[i]); err != nil {
			return err
		}
	}
	return nil
}

// waitSelector polls until selector matches an element (present) or
// matches none (!present). Running out of time there, the render's or
// WaitTimeout, is ErrSelectorNotFound (and ErrRenderTimeout for the
// render's).
func (r *urlRun) waitSelector(ctx context.Context, c selTarget, present bool) error {
	option, selector := c.option, c.sel
	if r.req.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, r.req.WaitTimeout, errWaitTimeout)
		defer cancel()
	}
	js := `!!` + findJS(selector, c.xpath)
	t := time.NewTicker(pollInterval * 4)
	defer t.Stop()
	for {
		var found bool
		err := evaluate(ctx, js, &found)
		switch {
		case err != nil && ctx.Err() == nil:
			// querySelector and evaluate throw on a malformed selector.
			return fmt.Errorf("%w: %s %q: %w", ErrSelectorNotFound, option, selector, err)
		case err == nil && found == present:
			return nil
		}
		select {
		case <-ctx.Done():
			state := "matched nothing"
			if !present {
				state = "still matched"
			}
			switch cause := context.Cause(ctx); {
			case errors.Is(cause, errWaitTimeout):
				return fmt.Errorf("%w: %s %q %s within %s", ErrSelectorNotFound, option, selector, state, r.req.WaitTimeout)
			case errors.Is(cause, errRenderDeadline):
				return fmt.Errorf("%w: %s %q %s in time: %w", ErrSelectorNotFound, option, selector, state, ErrRenderTimeout)
			}
			return fmt.Errorf("%s %q: %w", option, selector, ctx.Err())
		case <-t.C:
		}
	}
}

// failIf checks FailIfSelectorMissing and FailIfSelectorPresent on the
// ready page.
func (r *urlRun) failIf(ctx context.Context) error {
	for _, c := range []struct {
		selector, option string
		failWhen         bool
		sentinel         error
	}{
		{r.req.FailIfSelectorMissing, "fail_if_selector_missing", false, ErrSelectorMissing},
		{r.req.FailIfSelectorPresent, "fail_if_selector_present", true, ErrSelectorPresent},
	} {
		if c.selector == "" {
			continue
		}
		var found bool
		if err := evaluate(ctx, `!!document.querySelector(`+jsString(c.selector)+`)`, &found); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", c.option, err)
			}
			return fmt.Errorf("%w: %s %q: %w", ErrBadRequest, c.option, c.selector, err)
		}
		if found == c.failWhen {
			return fmt.Errorf("%w: %s %q", c.sentinel, c.option, c.selector)
		}
	}
	if r.req.FailIfCaptcha {
		return failIfCaptcha(ctx)
	}
	return nil
}
