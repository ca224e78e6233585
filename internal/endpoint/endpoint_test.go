package endpoint

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	s := New(nil, nil, func(u string) error {
		if strings.Contains(u, "10.0.0.1") {
			return errors.New("private address")
		}
		return nil
	})
	str := func(v string) *string { return &v }
	events := func(v ...string) *[]string { return &v }
	tests := []struct {
		name   string
		in     Input
		create bool
		rule   Rule
		msg    string
	}{
		{"create needs a url", Input{}, true, URLRequired, "validation failed: url is required"},
		{"blank url", Input{URL: str("  ")}, false, URLRequired, "validation failed: url is required"},
		{"refused url", Input{URL: str("http://10.0.0.1/")}, true, URLRefused, "validation failed: url: private address"},
		{"long description", Input{URL: str("https://x.test"), Description: str(strings.Repeat("d", MaxDescription+1))}, true, DescriptionTooLong,
			"validation failed: description is at most 500 characters"},
		{"unknown event", Input{Events: events("render.succeeded", "render.exploded")}, false, UnknownEvent, `validation failed: unknown event "render.exploded"`},
		{"patch without url", Input{Events: events("*")}, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(&tt.in, tt.create)
			var ie *InvalidError
			switch {
			case tt.rule == 0 && err != nil:
				t.Fatalf("Check = %v", err)
			case tt.rule == 0:
			case !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Rule != tt.rule || !strings.HasPrefix(err.Error(), tt.msg):
				t.Fatalf("Check = %v, want rule %d %q", err, tt.rule, tt.msg)
			}
		})
	}
	in := Input{URL: str("  https://x.test/hook ")}
	if err := s.Check(&in, true); err != nil || *in.URL != "https://x.test/hook" {
		t.Errorf("Check trims the URL: %q, %v", *in.URL, err)
	}
}
