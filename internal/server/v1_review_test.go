package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// The tests of this file come from an attacker's review of the Urlbox
// options (session 8): each failed before its fix.

// putReceiver stands for a client's bucket behind a presigned PUT URL, on
// the address the v1 test servers may reach; it keeps what was PUT.
type putReceiver struct {
	url  string
	mu   sync.Mutex
	puts map[string][]byte
}

func newPutReceiver(t *testing.T) *putReceiver {
	t.Helper()
	p := &putReceiver{puts: map[string][]byte{}}
	srv := serveAllowed(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "PUT only", http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.puts[r.URL.Path] = body
		p.mu.Unlock()
	}))
	p.url = srv.URL
	return p
}

func (p *putReceiver) got(path string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.puts[path]
}

// TestV1ClientBucketHTMLSandboxed: a sync html render kept in the client's
// bucket (its file is not in renderhook's, so it has no blob key) and
// answered as the file itself is served from renderhook's origin with the
// sandbox, as every page's own text is: without it, an attacker's page
// (any space may render any page, or sign a render link anyone can open)
// would run as renderhook's origin, the console's.
func TestV1ClientBucketHTMLSandboxed(t *testing.T) {
	e, _ := v1Server(t)
	bucket := newPutReceiver(t)
	page := `<html><body><script>document.title = "pwned"</script><p>hostile</p></body></html>`
	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"html": page, "format": "html", "response_type": "binary",
		"s3_presigned_url": bucket.url + "/shots/page.html?X-Amz-Signature=abc",
	})
	if !strings.Contains(string(r.Body), "hostile") || bucket.got("/shots/page.html") == nil {
		t.Fatalf("render: body %q, uploaded %v", r.Body, bucket.got("/shots/page.html") != nil)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Fatalf("the page's HTML was served from renderhook's origin without the sandbox: Content-Type %q, CSP %q",
			r.Header.Get("Content-Type"), csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("no nosniff: %v", r.Header)
	}
}
