package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestV1WatermarkURLPrivate: a watermark_url at a private or metadata
// address is a 400 InvalidOptions naming the option, before any browser
// work.
func TestV1WatermarkURLPrivate(t *testing.T) {
	e := setup(t)
	_, tok := e.newSpace("wm")
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/x.png", "http://10.0.0.7/logo.png", "http://localhost/logo.png", "http://[::1]/logo.png"} {
		before := e.browser.urlRenders.Load()
		res := e.do(request{method: "POST", target: "/v1/render/sync", body: map[string]any{"html": "<p>x</p>", "watermark_url": u},
			header: http.Header{"Authorization": {"Bearer " + tok}}})
		if res.Status != 400 || !strings.Contains(string(res.Body), `"InvalidOptions"`) || !strings.Contains(string(res.Body), `option \"watermark_url\"`) {
			t.Errorf("%s: %d %s", u, res.Status, res.Body)
		}
		if e.browser.urlRenders.Load() != before {
			t.Errorf("%s: the browser was asked", u)
		}
	}
}
