package render_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/sealed"
)

// The tests of this file come from an attacker's review of the Urlbox
// options (session 8): each failed before its fix.

// seenBrowser is fakeBrowser that hands every URL request it gets to the
// test; with hold set, it answers only once hold is closed.
type seenBrowser struct {
	fakeBrowser
	seen chan browser.URLRequest
	hold chan struct{}
}

func (b seenBrowser) RenderURL(ctx context.Context, req browser.URLRequest) (*browser.URLResult, error) {
	b.seen <- req
	if b.hold != nil {
		<-b.hold
	}
	return b.fakeBrowser.RenderURL(ctx, req)
}

// proxyPassword is the password of the proxy option in these tests.
const proxyPassword = "pr0xy-s3cret"

// TestV1ProxyCredentialsNotStored: a render's proxy option carries the
// client's user and password for its proxy; the render's row (which
// lives until retention, in backups too) never holds them in the clear.
// A sync render keeps the proxy's address only; an async render keeps
// them sealed for its job, which still renders through the proxy with
// them; a server without a storage credentials key refuses the async
// render (400) rather than store them.
func TestV1ProxyCredentialsNotStored(t *testing.T) {
	ctx := context.Background()
	ring, err := sealed.New(bytes.Repeat([]byte{3}, sealed.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan browser.URLRequest, 4)
	p := setupPipelineWith(t, true, func(c *render.Config) {
		c.URLBrowser = seenBrowser{seen: seen}
		c.Sealer = ring
	})
	proxy := "http://alice:" + proxyPassword + "@proxy.example:3128"
	body := `{"html":"<p>x</p>","proxy":"` + proxy + `"}`

	out, err := p.svc.RenderURL(ctx, p.urlRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got.Proxy != proxy {
		t.Fatalf("sync render's proxy %q", got.Proxy)
	}
	p.checkRowClean(t, out.Render.ID)

	rec, _, err := p.svc.EnqueueURL(ctx, p.urlRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	p.checkRowClean(t, rec.ID)
	select {
	case got := <-seen:
		if got.Proxy != proxy {
			t.Fatalf("the async job rendered with proxy %q, want the client's with its credentials", got.Proxy)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the async render never reached the browser")
	}

	// A sync render handed off while capturing is recorded for its rescue
	// job as an async render is: the credentials sealed.
	hold := make(chan struct{})
	slow := setupPipelineWith(t, false, func(c *render.Config) {
		c.URLBrowser = seenBrowser{seen: seen, hold: hold}
		c.Sealer = ring
	})
	req := slow.urlRequest(t, body)
	req.HandOffAfter = time.Millisecond
	hout, err := slow.svc.RenderURL(ctx, req)
	if err != nil || !hout.HandedOff {
		t.Fatalf("hand-off: %+v, %v", hout, err)
	}
	<-seen
	slow.checkRowClean(t, hout.Render.ID)
	close(hold)
	if err := slow.svc.WaitHandedOff(ctx); err != nil {
		t.Fatal(err)
	}

	// Without a key to seal them with, an async render with proxy
	// credentials is refused; one without credentials is not.
	noKey := setupPipelineWith(t, false, nil)
	if _, _, err := noKey.svc.EnqueueURL(ctx, noKey.urlRequest(t, body)); err == nil || !strings.Contains(err.Error(), `"proxy"`) {
		t.Fatalf("async proxy credentials without a key: %v", err)
	}
	if _, _, err := noKey.svc.EnqueueURL(ctx, noKey.urlRequest(t, `{"html":"<p>x</p>","proxy":"http://proxy.example:3128"}`)); err != nil {
		t.Fatalf("async proxy without credentials: %v", err)
	}
}

// checkRowClean fails when the render's row holds the proxy's password.
func (p *pipeline) checkRowClean(t *testing.T, id string) {
	t.Helper()
	rec, err := p.st.FindRender(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Options == "" {
		t.Fatalf("render %s has no options", id)
	}
	if strings.Contains(rec.Options, proxyPassword) || strings.Contains(rec.Options, "alice") {
		t.Fatalf("render %s (%s) stored the proxy's credentials: %s", id, rec.Status, rec.Options)
	}
}

// clientBucket is a presigned-URL stand-in for a client's bucket on
// loopback, and a pipeline whose uploads may reach it.
func clientBucket(t *testing.T) (*pipeline, string, *atomic.Int32) {
	t.Helper()
	var puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	guard, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	p := setupPipelineWith(t, false, func(c *render.Config) { c.Egress = guard })
	return p, srv.URL + "/shots/a.png?X-Amz-Signature=abc", &puts
}

// TestV1ClientBucketArtifacts: a render kept in the client's bucket keeps
// its artifacts in renderhook's (save_html and the rest); its status
// answer and a cached answer name the same artifact URLs as its own
// answer did, under its space. (They named a key of no render, the same
// for every space's such renders: ".html".)
func TestV1ClientBucketArtifacts(t *testing.T) {
	ctx := context.Background()
	p, presigned, puts := clientBucket(t)
	body := strings.Replace(extractBody, `{`, `{"s3_presigned_url":"`+presigned+`",`, 1)
	req := p.urlRequest(t, body)
	out, err := p.svc.RenderURL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if puts.Load() != 1 || out.Render.FileURL == "" {
		t.Fatalf("not uploaded to the client's bucket: %d puts, file URL %q", puts.Load(), out.Render.FileURL)
	}
	p.checkArtifacts(t, out.Artifacts)
	rec, err := p.st.FindRender(ctx, out.Render.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.svc.RenderArtifacts(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if a == nil || a.HTMLURL != out.Artifacts.HTMLURL {
		t.Fatalf("status answer's html URL %v, the render's %s", a, out.Artifacts.HTMLURL)
	}
	p.checkArtifacts(t, a)

	again := p.urlRequest(t, body)
	again.CacheTTL = time.Hour
	hit, err := p.svc.RenderURL(ctx, again)
	if err != nil || !hit.CacheHit {
		t.Fatalf("cached answer: %+v, %v", hit, err)
	}
	p.checkArtifacts(t, hit.Artifacts)
}

// TestV1ClientBucketBase64NotCached: a request answered with the file's
// base64 is not answered from a cached render kept in the client's
// bucket, whose bytes renderhook does not have (the API read its own
// bucket for them and failed): it renders afresh.
func TestV1ClientBucketBase64NotCached(t *testing.T) {
	ctx := context.Background()
	p, presigned, puts := clientBucket(t)
	body := `{"html":"<p>x</p>","response_type":"base64","s3_presigned_url":"` + presigned + `"}`
	if _, err := p.svc.RenderURL(ctx, p.urlRequest(t, body)); err != nil {
		t.Fatal(err)
	}
	again := p.urlRequest(t, body)
	again.CacheTTL = time.Hour
	out, err := p.svc.RenderURL(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if out.CacheHit || !bytes.Equal(out.Data, tinyPNG) || puts.Load() != 2 {
		t.Fatalf("base64 answer: cache hit %v, %d bytes, %d uploads", out.CacheHit, len(out.Data), puts.Load())
	}
	// A binary or json answer may still come from the cache (a redirect
	// to the client's bucket, or its URL).
	json := p.urlRequest(t, strings.Replace(body, "base64", "json", 1))
	json.CacheTTL = time.Hour
	if out, err := p.svc.RenderURL(ctx, json); err != nil || !out.CacheHit {
		t.Fatalf("json answer: %+v, %v", out, err)
	}
}
