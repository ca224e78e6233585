package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
)

// This file applies URLRequest's navigation options: retrying or going on
// after a failed navigation, an upstream proxy, the platform reported.

// navRetries is how many times RetryOnNavError retries a navigation;
// navRetryDelay, times the attempt, is the wait before each retry.
const (
	navRetries    = 2
	navRetryDelay = 250 * time.Millisecond
	// errorPageWait bounds ContinueOnNavError's wait for the browser's
	// error page to load.
	errorPageWait = 5 * time.Second
	// maxPlatformLen bounds Platform.
	maxPlatformLen = 100
)

// navNetError is a navigation's failure as Chromium reports it
// (net::ERR_...), which navigate wraps in ErrNavigation.
type navNetError struct{ text string }

func (e *navNetError) Error() string { return e.text }

// isNetError tells whether err is a navigation's network failure (not a
// refusal, a download, a status or a timeout).
func isNetError(err error) bool {
	var ne *navNetError
	return errors.As(err, &ne) && strings.HasPrefix(ne.text, "net::")
}

// navigateURL navigates to the request's URL, retrying network failures
// with RetryOnNavError and capturing the error page with
// ContinueOnNavError.
func (r *urlRun) navigateURL(ctx context.Context) error {
	err := r.navigate(ctx)
	for attempt := 1; attempt <= navRetries && r.req.RetryOnNavError && isNetError(err); attempt++ {
		select {
		case <-ctx.Done():
			return fmt.Errorf("retry navigation: %w", ctx.Err())
		case <-time.After(time.Duration(attempt) * navRetryDelay):
		}
		r.ur.log.Debug("retry navigation", "url", r.req.URL, "attempt", attempt, "err", err)
		err = r.navigate(ctx)
	}
	if err == nil || !r.req.ContinueOnNavError || !isNetError(err) {
		return err
	}
	// The tab shows the browser's error page; capture that once loaded.
	wctx, cancel := context.WithTimeout(ctx, errorPageWait)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var ready bool
		if evaluate(wctx, `document.readyState === "complete"`, &ready) == nil && ready {
			return nil
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("wait for the error page: %w", ctx.Err())
			}
			return nil // capture whatever is there
		case <-tick.C:
		}
	}
}

// ParseProxy reads a proxy option: "http://[user:pass@]host:port" (the
// port may be left out: 80), nothing after the address. It is the one
// check of the format, for the v1 parser and RenderURL alike.
func ParseProxy(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("must look like http://user:pass@host:port")
	case u.Scheme != "http":
		return nil, errors.New("must be an http:// proxy (like http://user:pass@host:port)")
	case u.Hostname() == "" || u.Opaque != "":
		return nil, errors.New("has no host")
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("must be only the proxy's address, without a path or query")
	case strings.ContainsAny(raw, "\r\n\x00 "):
		return nil, errors.New("must be one line without spaces")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is out of range", p)
		}
	}
	u.Path = ""
	return u, nil
}

// ProxyAddress is the proxy's address as a URL without its credentials,
// for the egress guard's CheckURL; "" when raw does not parse.
func ProxyAddress(raw string) string {
	u, err := ParseProxy(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}

// checkProxy refuses a request's Proxy (already validated) whose address
// the egress guard refuses, as the connect-time check would.
func (u *URLRenderer) checkProxy(raw string) error {
	if raw == "" {
		return nil
	}
	if u.cfg.Egress == nil {
		return fmt.Errorf("%w: no egress guard is configured for URL renders", ErrBlockedURL)
	}
	if err := u.cfg.Egress.CheckURL(ProxyAddress(raw)); err != nil {
		return fmt.Errorf("%w: proxy: %w", ErrBadRequest, err)
	}
	return nil
}

// upstream is the render's proxy for the egress proxy to chain to, or nil.
func (r *urlRun) upstream() *url.URL {
	r.mu.Lock()
	raw := r.req.Proxy
	r.mu.Unlock()
	if raw == "" {
		return nil
	}
	u, err := ParseProxy(raw) // checked before the render queued
	if err != nil {
		return nil
	}
	return u
}

// userAgent is the User-Agent a render with UserAgent or Platform sends:
// the request's, else the browser's own.
func (r *urlRun) userAgent(ctx context.Context) (string, error) {
	if r.req.UserAgent != "" {
		return r.req.UserAgent, nil
	}
	_, _, _, ua, _, err := browser.GetVersion().Do(cdp.WithExecutor(ctx, r.in.browser))
	if err != nil {
		return "", fmt.Errorf("get user agent: %w", err)
	}
	return ua, nil
}

// validateNav checks the options of this file.
func (r URLRequest) validateNav() error {
	if r.Proxy != "" {
		if _, err := ParseProxy(r.Proxy); err != nil {
			return fmt.Errorf("%w: proxy %w", ErrBadRequest, err)
		}
	}
	if len(r.Platform) > maxPlatformLen || strings.ContainsAny(r.Platform, "\r\n\x00") {
		return fmt.Errorf("%w: platform must be one line of at most %d bytes", ErrBadRequest, maxPlatformLen)
	}
	return nil
}
