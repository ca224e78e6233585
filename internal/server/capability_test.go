package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/server"
)

// mixedPages makes the two pages of issue 14: pub's published version uses
// a public template and its draft a token-only one; tok's the other way
// round.
func (e *env) mixedPages() (pubTpl, tokTpl, pub, tok string) {
	e.t.Helper()
	pubTpl, pub = e.cardPage(e.token, map[string]any{"requireGetRenderToken": false})
	tokTpl, tok = e.cardPage(e.token, nil)
	e.mustDo(200, "PUT", "/api/pages/"+pub, e.token, map[string]any{"templateId": tokTpl})
	e.mustDo(200, "PUT", "/api/pages/"+tok, e.token, map[string]any{"templateId": pubTpl})
	return pubTpl, tokTpl, pub, tok
}

// TestTokenlessRenderDecidedOnVersionRendered: a GET without a token or a
// capability renders only what is public in the version it renders,
// however draft is spelled; everything else answers 401 as an unknown page
// does, and nothing is rendered.
func TestTokenlessRenderDecidedOnVersionRendered(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	pubTpl, tokTpl, pub, tok := e.mixedPages()

	// A page public in every version, for what a tokenless caller may do.
	open := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": pubTpl, "publish": true}).JSON(t)["id"].(string)

	refused := []string{
		// pub's draft is token-only: whichever version is asked for, a
		// tokenless caller gets neither (every version must be public).
		pub, pub + "?draft", pub + "?draft=1", pub + "?draft=true", pub + "?draft=TRUE", pub + "?draft=t", pub + "?draft=false",
		pub + "?draft&templateId=" + tokTpl, pub + "?draft=1&templateId=" + pubTpl, pub + "?draft=0&draft=1",
		// tok's published version is token-only.
		tok, tok + "?draft", tok + "?draft=1", tok + "?draft=false", tok + "?draft=0", tok + "?draft=f", tok + "?templateId=" + pubTpl, tok + "?draft=1&draft=0",
		"pg_doesnotexist", "pg_doesnotexist?draft",
	}
	for _, p := range refused {
		r := e.get("/api/render/" + p)
		if r.Status != 401 || r.errCode(t) != "unauthorized" {
			t.Errorf("tokenless %s: %d %.200q, want 401 unauthorized", p, r.Status, r.Body)
		}
	}
	if _, _, succeeded, _ := e.usage(); succeeded != 0 {
		t.Fatalf("%d renders recorded for refused requests", succeeded)
	}
	// A page public in every version renders, in every spelling.
	for _, p := range []string{open, open + "?draft", open + "?draft=false", open + "?draft=1"} {
		if r := e.get("/api/render/" + p); r.Status != 200 {
			t.Errorf("tokenless %s: %d %s, want 200", p, r.Status, r.Body)
		}
	}
	// A public page may not send webhooks or be queued without a token.
	if r := e.get("/api/render/" + open + "?webhook_url=" + url.QueryEscape("https://example.com/hook")); r.Status != 400 || !strings.Contains(string(r.Body), "webhook_url") {
		t.Errorf("tokenless webhook_url: %d %s", r.Status, r.Body)
	}
	// With the token, every version renders.
	for _, p := range []string{pub + "?draft", pub, tok, tok + "?draft"} {
		e.mustDo(200, "GET", "/api/render/"+p, e.token, nil)
	}
	if _, _, succeeded, _ := e.usage(); succeeded != 8 {
		t.Fatalf("renders recorded %d, want 8", succeeded)
	}
}

// TestPageLinkBoundToTarget: a page sig opens only the page and query it
// was made for, until its exp; file-URL and page signatures are not
// interchangeable.
func TestPageLinkBoundToTarget(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	_, card := e.cardPage(e.token, nil)
	_, invoice := e.cardPage(e.token, nil)
	sp := e.space1()
	q := "tweak:title=Hi"
	link := capability.SignPageQuery(sp.RenderSecret, card, q, time.Time{})
	if r := e.get("/api/render/" + card + "?" + link); r.Status != 200 {
		t.Fatalf("card's own link: %d %s", r.Status, r.Body)
	}
	empty := capability.SignPageQuery(sp.RenderSecret, card, "", time.Time{})
	for name, path := range map[string]string{
		"card's sig on the invoice":             invoice + "?" + link,
		"card's empty-query sig on the invoice": invoice + "?" + empty,
		"unbound (old) sig":                     card + "?" + q + "&sig=" + capability.V1LinkToken(sp.RenderSecret, q),
		"expired":                               card + "?" + capability.SignPageQuery(sp.RenderSecret, card, q, time.Now().Add(-time.Second)),
		"exp moved":                             card + "?" + strings.Replace(capability.SignPageQuery(sp.RenderSecret, card, q, time.Now().Add(-time.Second)), "exp=", "exp=9", 1),
		"unknown page":                          "pg_unknown?" + link,
	} {
		if r := e.get("/api/render/" + path); r.Status != 403 || r.errCode(t) != "invalid_signature" {
			t.Errorf("%s: %d %s, want 403 invalid_signature", name, r.Status, r.Body)
		}
	}
	if r := e.get("/api/render/" + card + "?" + capability.SignPageQuery(sp.RenderSecret, card, q, time.Now().Add(time.Hour))); r.Status != 200 {
		t.Fatalf("unexpired link: %d %s", r.Status, r.Body)
	}
	// gt opens every page, but sets no webhook_url; a signed link may
	// carry one, since the signer chose it.
	hook := "webhook_url=" + url.QueryEscape("http://127.0.0.1:9/hook")
	if r := e.get("/api/render/" + card + "?" + hook + "&gt=" + sp.GetRenderToken); r.Status != 400 || !strings.Contains(string(r.Body), "webhook_url") {
		t.Errorf("gt with webhook_url: %d %s", r.Status, r.Body)
	}
	if r := e.get("/api/render/" + card + "?" + capability.SignPageQuery(sp.RenderSecret, card, hook, time.Time{})); r.Status == 401 || r.Status == 403 {
		t.Errorf("signed link with webhook_url: %d %s", r.Status, r.Body)
	}

	// The file URL of a render: its sig is no page sig, and a page sig
	// opens no file.
	out := e.mustDo(200, "GET", "/api/render/"+card+"?output=json", e.token, nil).JSON(t)
	rec, err := e.srv.Store.GetRender(context.Background(), e.space, out["renderId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// renderhook's own signed URL (with S3 storage file.url is the
	// bucket's presigned one, but /files/ serves the file all the same).
	fileURL := e.srv.Signer.SignedURL(rec.BlobKey)
	u, err := url.Parse(fileURL)
	if err != nil || u.Query().Get("sig") == "" {
		t.Fatalf("file url %q: %v", fileURL, err)
	}
	key := strings.TrimPrefix(u.Path, "/files/")
	if r := e.get("/api/render/" + card + "?sig=" + u.Query().Get("sig")); r.Status != 403 {
		t.Errorf("file sig as a page sig: %d %s", r.Status, r.Body)
	}
	pageSig := capability.PageSig(sp.RenderSecret, key, "")
	if r := e.get("/files/" + key + "?sig=" + pageSig); r.Status != 404 {
		t.Errorf("page-link MAC as a file sig: %d %s", r.Status, r.Body)
	}
	if r := e.get(u.Path + "?" + u.RawQuery); r.Status != 200 {
		t.Errorf("file URL itself: %d", r.Status)
	}
}

// TestRenderSecretAndGetTokenRotation: after a rotation the old sig and gt
// work within the overlap and not after it; the new ones work at once.
func TestRenderSecretAndGetTokenRotation(t *testing.T) {
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1}, RenderSecretOverlap: time.Hour})
	_, card := e.cardPage(e.token, nil)
	old := e.space1()
	q := "tweak:title=Hi"
	oldLink := "/api/render/" + card + "?" + capability.SignPageQuery(old.RenderSecret, card, q, time.Time{})

	// Rotation needs the space's token, and changes nothing without it.
	e.mustDo(401, "POST", "/api/render-secret/rotate", "", nil)
	e.mustDo(401, "POST", "/api/get-render-token/rotate", "rh_notatoken", nil)
	if sp := e.space1(); sp.RenderSecret != old.RenderSecret || sp.GetRenderToken != old.GetRenderToken {
		t.Fatal("refused rotation changed the space")
	}

	before := time.Now()
	rs := e.mustDo(200, "POST", "/api/render-secret/rotate", e.token, nil).JSON(t)
	gt := e.mustDo(200, "POST", "/api/get-render-token/rotate", e.token, nil).JSON(t)
	newSecret, _ := rs["renderSecret"].(string)
	newGT, _ := gt["getRenderToken"].(string)
	until, err := time.Parse(time.RFC3339Nano, rs["previousValidUntil"].(string))
	if err != nil || newSecret == "" || newSecret == old.RenderSecret || newGT == "" || newGT == old.GetRenderToken ||
		until.Before(before.Add(time.Hour-time.Second)) || until.After(time.Now().Add(time.Hour)) {
		t.Fatalf("rotation answers %v %v (%v)", rs, gt, err)
	}
	newLink := "/api/render/" + card + "?" + capability.SignPageQuery(newSecret, card, q, time.Time{})
	for name, path := range map[string]string{
		"old sig": oldLink, "new sig": newLink,
		"old gt": "/api/render/" + card + "?gt=" + old.GetRenderToken, "new gt": "/api/render/" + card + "?gt=" + newGT,
	} {
		if r := e.get(path); r.Status != 200 {
			t.Errorf("%s within the overlap: %d %s", name, r.Status, r.Body)
		}
	}
	// v1 links (Urlbox's construction) follow the same overlap: the old
	// secret's token passes the signature check (then the option is bad).
	if r := e.get("/v1/" + old.RenderKey + "/" + capability.V1LinkToken(old.RenderSecret, "url=x") + "/png?url=x"); r.Status == 403 {
		t.Errorf("v1 link with the old secret within the overlap: %d %s", r.Status, r.Body)
	}

	// The overlap has ended: rotate once more with the previous value's
	// expiry in the past (the stored expiry is what is checked).
	ctx := context.Background()
	past := time.Now().Add(-time.Second)
	if err := e.srv.Store.RotateRenderSecret(ctx, e.space, "secret3", past); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Store.RotateGetRenderToken(ctx, e.space, "gt3", past); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		path   string
		status int
	}{
		"first sig":       {oldLink, 403},
		"second sig":      {newLink, 403},
		"first gt":        {"/api/render/" + card + "?gt=" + old.GetRenderToken, 401},
		"second gt":       {"/api/render/" + card + "?gt=" + newGT, 401},
		"current sig":     {"/api/render/" + card + "?" + capability.SignPageQuery("secret3", card, q, time.Time{}), 200},
		"current gt":      {"/api/render/" + card + "?gt=gt3", 200},
		"v1 link, second": {"/v1/" + old.RenderKey + "/" + capability.V1LinkToken(newSecret, "url=x") + "/png?url=x", 403},
	} {
		if r := e.get(c.path); r.Status != c.status {
			t.Errorf("%s after the overlap: %d %s, want %d", name, r.Status, r.Body, c.status)
		}
	}

	// After a leak: revokePrevious ends the previous value at once.
	e.mustDo(400, "POST", "/api/render-secret/rotate?revokePrevious=maybe", e.token, nil)
	if sp := e.space1(); sp.RenderSecret != "secret3" {
		t.Fatal("a refused rotation changed the secret")
	}
	rs = e.mustDo(200, "POST", "/api/render-secret/rotate?revokePrevious=true", e.token, nil).JSON(t)
	gt = e.mustDo(200, "POST", "/api/get-render-token/rotate?revokePrevious=true", e.token, nil).JSON(t)
	for name, c := range map[string]struct {
		path   string
		status int
	}{
		"revoked sig": {"/api/render/" + card + "?" + capability.SignPageQuery("secret3", card, q, time.Time{}), 403},
		"revoked gt":  {"/api/render/" + card + "?gt=gt3", 401},
		"new sig":     {"/api/render/" + card + "?" + capability.SignPageQuery(rs["renderSecret"].(string), card, q, time.Time{}), 200},
		"new gt":      {"/api/render/" + card + "?gt=" + gt["getRenderToken"].(string), 200},
	} {
		if r := e.get(c.path); r.Status != c.status {
			t.Errorf("%s after a rotation with revokePrevious: %d %s, want %d", name, r.Status, r.Body, c.status)
		}
	}
}
