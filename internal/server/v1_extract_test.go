package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/capability"
)

// fetchFile gets a file URL of an answer and returns its body and headers.
func fetchFile(t *testing.T, u string) (string, http.Header) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", u, res.StatusCode, err)
	}
	return string(b), res.Header
}

// TestV1ExtractEndToEnd: an async render with save_html, save_markdown and
// metadata, through Chromium: the status answer and the webhook name the
// artifacts and the metadata beside the webhook_metadata echo; the HTML is
// served sandboxed, so the page's markup cannot run as renderhook's
// origin; a sync md render is the page's Markdown.
func TestV1ExtractEndToEnd(t *testing.T) {
	e, site := v1Server(t)
	r := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"url": site.URL + "/", "webhook_url": site.URL + "/hook", "save_html": true, "save_markdown": true,
		"metadata": true, "webhook_metadata": map[string]any{"orderId": "o-9"},
	})
	st := e.waitV1(r.JSON(t)["renderId"].(string))
	htmlURL, _ := st["htmlUrl"].(string)
	mdURL, _ := st["markdownUrl"].(string)
	md, _ := st["metadata"].(map[string]any)
	if st["status"] != "succeeded" || htmlURL == "" || mdURL == "" || md["urlResolved"] != site.URL+"/" || st["mhtmlUrl"] != nil {
		t.Fatalf("status %v", st)
	}
	body, h := fetchFile(t, htmlURL)
	if !strings.Contains(body, "<h1>v1</h1>") || h.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("html %q, headers %v", body, h)
	}
	if body, h = fetchFile(t, mdURL); strings.TrimSpace(body) != "# v1" || !strings.HasPrefix(h.Get("Content-Type"), "text/markdown") {
		t.Fatalf("markdown %q, headers %v", body, h)
	}

	var p struct {
		Result struct {
			HTMLURL     string         `json:"htmlUrl"`
			MarkdownURL string         `json:"markdownUrl"`
			Metadata    map[string]any `json:"metadata"`
		} `json:"result"`
		Metadata map[string]any `json:"metadata"`
	}
	hk := site.waitHook(t)
	if err := json.Unmarshal(hk.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Result.HTMLURL != htmlURL || p.Result.MarkdownURL != mdURL || p.Result.Metadata["urlResolved"] != site.URL+"/" || p.Metadata["orderId"] != "o-9" {
		t.Fatalf("webhook %s", hk.Body)
	}

	// A signed link to an html render answers the page sandboxed too.
	sp := e.space1()
	q := "url=" + url.QueryEscape(site.URL+"/")
	lr := e.get("/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, q) + "/html?" + q)
	if lr.Status != 200 || !strings.Contains(string(lr.Body), "<h1>v1</h1>") || lr.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.HasPrefix(lr.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("signed html link: %d %v %.200s", lr.Status, lr.Header, lr.Body)
	}

	r = e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"html": "<main><h1>Hello</h1><p>world</p></main>", "format": "md"})
	body, h = fetchFile(t, r.JSON(t)["renderUrl"].(string))
	if !strings.HasPrefix(body, "# Hello") || !strings.HasPrefix(h.Get("Content-Type"), "text/markdown") {
		t.Fatalf("md render %q, headers %v", body, h)
	}
}
