package render

import (
	"reflect"
	"strings"
	"testing"
)

// TestV1EngineOptions: srgb and use_chromium true are renderhook's own
// behaviour (the browser tests TestRenderURLSRGB and TestRenderURLChromium
// show it) and change nothing of the request; false is refused, naming
// the option. fail_if_captcha reaches the browser request (its effect:
// TestRenderURLFailIfCaptcha).
func TestV1EngineOptions(t *testing.T) {
	plain, err := parseWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"srgb", "use_chromium"} {
		o, err := parseWith(t, map[string]any{name: true})
		if err != nil || !reflect.DeepEqual(o, plain) {
			t.Errorf("%s true: %v, or it changed the request", name, err)
		}
		if _, err := parseWith(t, map[string]any{name: "false"}); err == nil || !strings.Contains(err.Error(), `option "`+name+`" cannot be false`) {
			t.Errorf("%s false: %v", name, err)
		}
	}
	o, err := parseWith(t, map[string]any{"fail_if_captcha": true})
	if err != nil || !o.Request.FailIfCaptcha {
		t.Fatalf("fail_if_captcha: %v, %+v", err, o)
	}
	if o.CacheKey("s") == plain.CacheKey("s") {
		t.Error("fail_if_captcha is not in the cache key")
	}
}
