package requestlog

import (
	"net/url"
	"strings"
	"testing"
)

func TestSanitizeRedactsRenderCapabilities(t *testing.T) {
	q := url.Values{"gt": {"s3cr3t"}, "header": {"Authorization: Bearer abc"}, "tweak:title": {"Hi"}, "sig": {"ab12"}}
	got := SanitizeQuery(q)
	if strings.Contains(got, "s3cr3t") || strings.Contains(got, "abc") || !strings.Contains(got, "tweak%3Atitle=Hi") || !strings.Contains(got, "sig=ab12") {
		t.Fatalf("query %q", got)
	}
	body := SanitizeBody([]byte(`{"url":"https://a.example","header":["X-Api: k3y"],"cookie":"sid=v4l","proxy":"http://u:pr0xypw@p.example:3128"}`))
	if strings.Contains(body, "k3y") || strings.Contains(body, "v4l") || strings.Contains(body, "pr0xypw") || !strings.Contains(body, "a.example") {
		t.Fatalf("body %q", body)
	}
}
