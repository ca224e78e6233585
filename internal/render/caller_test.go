package render

import (
	"errors"
	"testing"
)

// TestAuthorizeByCaller: only a token holder may queue a render; only a
// token holder or a signed link (whose signer chose it) may set a
// webhook_url; the zero Caller is anonymous and gets neither.
func TestAuthorizeByCaller(t *testing.T) {
	for _, c := range []struct {
		caller      Caller
		async, hook bool
		want        error
	}{
		{CallerToken, true, true, nil},
		{CallerSignedLink, false, true, nil},
		{CallerGetToken, false, false, nil},
		{CallerAnonymous, false, false, nil},
		{CallerSignedLink, true, false, ErrTokenRequired},
		{CallerGetToken, true, false, ErrTokenRequired},
		{CallerAnonymous, true, false, ErrTokenRequired},
		{CallerGetToken, false, true, ErrInvalidInput},
		{CallerAnonymous, false, true, ErrInvalidInput},
		{Caller(0), false, true, ErrInvalidInput},
	} {
		o := &Options{}
		if c.hook {
			o.WebhookURL = "https://example.com/hook"
		}
		err := Request{Caller: c.caller, Options: o}.authorize(c.async)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("caller %d async %v webhook %v: %v, want %v", c.caller, c.async, c.hook, err, c.want)
		}
	}
}
