package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/testkit"
)

// webhookIDs are the webhook-id headers of hooks, in order.
func webhookIDs(hooks []servertest.Hook) []string {
	ids := make([]string, 0, len(hooks))
	for _, h := range hooks {
		ids = append(ids, h.Header.Get("webhook-id"))
	}
	return ids
}

func consoleServer(t *testing.T) *env {
	return setup(t, server.Config{
		Browser: browser.Config{MaxTabs: 2, RenderTimeout: 10 * time.Second},
		// Loopback is allowed so the receiver can be reached; one attempt
		// per delivery, so a failed one is exhausted at once and the test
		// redelivers it by hand.
		Egress:   egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Webhooks: delivery.Config{Schedule: []time.Duration{0}},
	})
}

// TestConsole drives the console in a real headless Chromium against a
// real server: sign-in, logs, webhooks and deliveries, usage, templates
// with live previews, tokens, and screenshots of every page at a laptop
// and a phone size.
func TestConsole(t *testing.T) {
	e := consoleServer(t)
	_, pageID := e.cardPage(t, e.token, nil)
	_, publicPageID := e.cardPage(t, e.token, map[string]any{"name": "Public badge", "requireGetRenderToken": false})

	// A stored render (JSON output uploads before answering, so its log
	// entry has the file at once) and a failed request.
	okRender := e.api(t, 200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID}).JSON(t)
	okReq := okRender["requestId"].(string)
	bad := e.api(t, 400, "GET", "/api/render/"+pageID+"?tweak:background=%23nope", e.token, nil)
	badReq := bad.Header.Get("X-Request-Id")
	pdfReq := e.api(t, 200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "format": "pdf"}).JSON(t)["requestId"].(string)

	b := newTab(t)
	rc := servertest.NewReceiver(t, 500) // the first webhook fails, the rest succeed

	t.Run("sign in", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/logs", "login") // no session: sent to sign in
		b.screenshots("login")
		b.setValue("#token", "rh_not-a-real-token")
		b.click(`form[action="/ui/login"] button[type=submit]`)
		b.wait(`document.querySelector('.error') !== null`)
		if msg := b.text(`document.querySelector('.error').innerText`); !strings.Contains(msg, "not valid") {
			t.Fatalf("bad token message %q", msg)
		}
		b.login(e.base, e.token)
		if name := b.text(`document.querySelector('.space').innerText`); name != "Acme marketing" {
			t.Fatalf("header shows space %q", name)
		}
	})

	t.Run("logs and detail with image preview", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/logs", "logs")
		b.wait(`document.querySelector('a[href="/ui/logs/` + okReq + `"]') !== null`)
		// The thumbnail of the stored render loads.
		b.wait(`(() => { const i = document.querySelector('img.thumb'); return i && i.complete && i.naturalWidth > 0 })()`)
		b.screenshots("logs")

		// The status filter keeps failed requests only.
		b.open(e.base, "/ui/logs?status=failed", "logs")
		var rows []string
		b.eval(`Array.from(document.querySelectorAll('tbody tr td:nth-child(2)')).map(td => td.innerText)`, &rows)
		if len(rows) != 1 || rows[0] != badReq {
			t.Fatalf("failed filter shows %v, want only %s", rows, badReq)
		}

		b.open(e.base, "/ui/logs", "logs")
		b.click(`a[href="/ui/logs/` + okReq + `"]`)
		b.waitPage("log")
		b.wait(`(() => { const i = document.querySelector('#file-preview'); return i && i.complete && i.naturalWidth > 0 })()`)
		var w int
		b.eval(`document.querySelector('#file-preview').naturalWidth`, &w)
		if w != 1200 {
			t.Fatalf("preview naturalWidth %d, want 1200", w)
		}
		if px := b.pixel("#file-preview", 1100, 600); !near(px, 0, 0, 255) {
			t.Fatalf("preview pixel %v, want the card's blue", px)
		}
		body := b.text(`document.body.innerText`)
		for _, want := range []string{okRender["renderId"].(string), "store", "log", "credits", "pageId"} {
			if !strings.Contains(body, want) {
				t.Errorf("log detail lacks %q", want)
			}
		}
		b.screenshots("log-detail")

		// A PDF gets an icon linking to the file, and an embed on its page.
		b.open(e.base, "/ui/logs", "logs")
		pdfLink := b.text(`(() => { const a = document.querySelector('a[href="/ui/logs/` + pdfReq + `"]').closest('tr').querySelector('a.pdf'); return a ? a.href : "" })()`)
		if !e.isFileURL(pdfLink, ".pdf") {
			t.Fatalf("PDF row links to %q", pdfLink)
		}
		b.open(e.base, "/ui/logs/"+pdfReq, "log")
		if src := b.text(`(() => { const e = document.querySelector('embed.pdf-view'); return e ? e.getAttribute('src') : "" })()`); !e.sameFile(src, pdfLink) {
			t.Fatalf("PDF embed src %q, want %q", src, pdfLink)
		}

		b.open(e.base, "/ui/logs/"+badReq, "log")
		if body := b.text(`document.body.innerText`); !strings.Contains(body, "invalid_request") || !strings.Contains(body, "#nope") {
			t.Fatalf("failed request's detail lacks its error and query:\n%s", body)
		}
	})

	var endpointID, deliveryID string
	t.Run("webhook endpoint, test event, attempt, redeliver", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/webhooks", "webhooks")
		b.screenshots("webhooks-empty")

		// The API's URL check applies: a URL the egress guard refuses (a
		// metadata address) is shown as an error on the form.
		b.setValue("#url", "http://169.254.169.254/latest")
		b.click(`form[action="/ui/webhooks"] button[type=submit]`)
		b.wait(`document.querySelector('#new .error') !== null`)

		b.setValue("#url", rc.URL+"/hooks")
		b.setValue("#description", "Receiver in the test")
		b.click(`form[action="/ui/webhooks"] button[type=submit]`)
		b.waitPage("webhook")
		secret := b.text(`document.querySelector('#secret').value`)
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("secret shown %q", secret)
		}
		b.screenshots("webhook-created")
		endpointID = b.text(`document.querySelector('.crumbs .mono').innerText`)
		ep := e.api(t, 200, "GET", "/api/webhooks/"+endpointID, e.token, nil).JSON(t)
		if ep["url"] != rc.URL+"/hooks" || ep["enabled"] != true {
			t.Fatalf("endpoint via the API: %v", ep)
		}
		// Reloading the endpoint page never shows the secret again.
		b.open(e.base, "/ui/webhooks/"+endpointID, "webhook")
		if b.text(`document.querySelector('#secret') ? "shown" : ""`) != "" {
			t.Fatal("secret shown again")
		}

		// Rotating shows a new secret once (the confirm dialog is accepted).
		b.click(`form[action="/ui/webhooks/` + endpointID + `/rotate"] button`)
		b.wait(`document.querySelector('#secret') !== null`)
		if s2 := b.text(`document.querySelector('#secret').value`); s2 == secret || !strings.HasPrefix(s2, "whsec_") {
			t.Fatalf("rotated secret %q (was %q)", s2, secret)
		}

		// Disable and enable again.
		b.open(e.base, "/ui/webhooks/"+endpointID, "webhook")
		b.click(`form[action="/ui/webhooks/` + endpointID + `/disable"] button`)
		b.wait(`document.querySelector('.flash') && document.body.innerText.includes('disabled in the console')`)
		if e.api(t, 200, "GET", "/api/webhooks/"+endpointID, e.token, nil).JSON(t)["enabled"] != false {
			t.Fatal("endpoint still enabled")
		}
		b.click(`form[action="/ui/webhooks/` + endpointID + `/enable"] button`)
		b.wait(`document.querySelector('.flash') !== null && document.querySelector('form[action$="/disable"]') !== null`)

		// Send a test event: the receiver answers 500, the one attempt is
		// recorded, and the delivery is exhausted.
		b.click(`form[action="/ui/webhooks/` + endpointID + `/test"] button`)
		b.waitPage("delivery")
		deliveryID = b.text(`document.querySelector('.crumbs .mono').innerText`)
		b.wait(`document.querySelector('#delivery-status') && document.querySelector('#delivery-status').innerText === 'exhausted'`)
		attempt := b.text(`document.querySelector('#attempts tbody').innerText`)
		if !strings.Contains(attempt, "500") || !strings.Contains(attempt, servertest.ReceiverAnswer(500)) {
			t.Fatalf("attempt row %q lacks the 500 and the response body", attempt)
		}
		b.screenshots("delivery-failed")

		// Redeliver: the second attempt gets a 200, as the same message.
		b.click(`#redeliver`)
		b.wait(`document.querySelector('#delivery-status') && document.querySelector('#delivery-status').innerText === 'succeeded'`)
		var n int
		b.eval(`document.querySelectorAll('#attempts tbody tr').length`, &n)
		if n != 2 {
			t.Fatalf("%d attempts after redelivery, want 2", n)
		}
		if ids := webhookIDs(rc.Got()); len(ids) != 2 || ids[0] != deliveryID || ids[1] != deliveryID {
			t.Fatalf("receiver got webhook-ids %v, want %s twice", ids, deliveryID)
		}
		b.screenshots("delivery")

		// The deliveries list, filtered.
		b.open(e.base, "/ui/webhooks/deliveries?status=succeeded&endpointId="+endpointID, "deliveries")
		b.wait(`document.querySelector('a[href="/ui/webhooks/deliveries/` + deliveryID + `"]') !== null`)
		b.screenshots("deliveries")
		b.open(e.base, "/ui/webhooks/deliveries?status=exhausted", "deliveries")
		if b.text(`document.querySelector('a[href="/ui/webhooks/deliveries/`+deliveryID+`"]') ? "listed" : ""`) != "" {
			t.Fatal("a succeeded delivery is listed as exhausted")
		}
		b.open(e.base, "/ui/webhooks", "webhooks")
		b.screenshots("webhooks")
	})

	t.Run("templates and live preview with tweaks", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/templates", "templates")
		b.screenshots("templates")
		b.click(`a[href="/ui/pages/` + pageID + `"]`)
		b.waitPage("page")
		loaded := `(() => { const i = document.querySelector('#preview'); return i && i.complete && i.naturalWidth > 0 })()`
		b.wait(loaded)
		if px := b.pixel("#preview", 1100, 600); !near(px, 0, 0, 255) {
			t.Fatalf("preview pixel %v, want blue", px)
		}
		src1 := b.text(`document.querySelector('#preview').getAttribute('src')`)
		if !strings.Contains(b.text(`document.body.innerText`), "Each preview is a billed render") {
			t.Fatal("the preview is not labelled as billed")
		}
		// A token-only template's page offers a signed link, which
		// renders without a token.
		signed := b.text(`document.querySelector('#signed-link').value`)
		if !strings.HasPrefix(signed, e.base+"/api/render/"+pageID+"?") || !strings.Contains(signed, "sig=") {
			t.Fatalf("signed link %q", signed)
		}
		if res, err := http.Get(signed); err != nil || res.StatusCode != 200 {
			t.Fatalf("signed link answered %v %v", res, err)
		} else {
			res.Body.Close()
		}
		b.screenshots("page")

		b.setValue("#f-background", "#ff0000")
		b.click("#rerender")
		b.wait(`document.querySelector('#preview') && document.querySelector('#preview').getAttribute('src') !== ` + jsString(src1))
		b.wait(loaded)
		src2 := b.text(`document.querySelector('#preview').getAttribute('src')`)
		if !strings.Contains(src2, "tweak%3Abackground=%23ff0000") {
			t.Fatalf("tweaked preview src %q", src2)
		}
		if px := b.pixel("#preview", 1100, 600); !near(px, 255, 0, 0) {
			t.Fatalf("tweaked preview pixel %v, want red", px)
		}
		if b.text(`document.querySelector('#f-background').value`) != "#ff0000" {
			t.Fatal("the form does not keep the tweak")
		}

		// Previews went through the render path: logged (with the
		// session's token), and fanned out to the webhook endpoint.
		logs := e.api(t, 200, "GET", "/api/logs?status=200&limit=10", e.token, nil).JSON(t)["data"].([]any)
		var previews []map[string]any
		for _, l := range logs {
			m := l.(map[string]any)
			if strings.HasPrefix(m["path"].(string), "/ui/preview/"+pageID) {
				previews = append(previews, m)
			}
		}
		if len(previews) != 2 || previews[0]["renderId"] == "" || !strings.HasPrefix(previews[0]["tokenPrefix"].(string), "rh_") {
			t.Fatalf("want 2 logged previews with render and token, got %v", previews)
		}
		b.open(e.base, "/ui/logs/"+previews[0]["requestId"].(string), "log")
		b.wait(`document.body.innerText.includes('render.succeeded')`)

		// A public template's page offers its tokenless link, and it works.
		b.open(e.base, "/ui/pages/"+publicPageID+"?tweak:title=Copied", "page")
		link := b.text(`document.querySelector('#public-link').value`)
		if want := e.base + "/api/render/" + publicPageID + "?tweak%3Atitle=Copied"; link != want {
			t.Fatalf("public link %q, want %q", link, want)
		}
		res, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("public link answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})

	t.Run("usage chart has today's bar", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/usage", "usage")
		today := time.Now().UTC().Format("2006-01-02")
		var h float64
		b.eval(`(() => { const r = document.querySelector('#renders-chart rect[data-kind="succeeded"][data-day="`+today+`"]'); return r ? r.getBBox().height : -1 })()`, &h)
		if h <= 0 {
			t.Fatalf("no succeeded bar for today (%s): height %v", today, h)
		}
		var failed float64
		b.eval(`(() => { const r = document.querySelector('#renders-chart rect[data-kind="failed"][data-day="`+today+`"]'); return r ? r.getBBox().height : -1 })()`, &failed)
		if failed <= 0 {
			t.Fatalf("no failed bar for today: %v", failed)
		}
		var dots int
		b.eval(`document.querySelectorAll('#times-chart circle').length`, &dots)
		if dots != 2 {
			t.Fatalf("%d p50/p95 points, want 2 (today only)", dots)
		}
		used := b.text(`document.querySelector('#credits-used').innerText`)
		if used == "" {
			t.Fatal("no credits shown")
		}
		b.screenshots("usage")
	})

	t.Run("tokens", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/tokens", "tokens")
		b.click("#create-token")
		b.wait(`document.querySelector('#new-token') !== null`)
		tok := b.text(`document.querySelector('#new-token').value`)
		if !strings.HasPrefix(tok, "rh_") {
			t.Fatalf("new token %q", tok)
		}
		e.api(t, 200, "GET", "/api/usage", tok, nil)
		b.screenshots("tokens")
		// Revoke the new token (the newest row; confirm accepted).
		b.open(e.base, "/ui/tokens", "tokens")
		b.click(`tbody tr:first-child form[action$="/revoke"] button`)
		b.wait(`document.querySelector('.flash') !== null`)
		e.api(t, 401, "GET", "/api/usage", tok, nil)
		// Rotate the GET-render token: the new one is shown once and works.
		b.click("#rotate-get-render-token")
		b.wait(`document.querySelector('#rotated-value') !== null`)
		gt := b.text(`document.querySelector('#rotated-value').value`)
		if sp, err := e.srv.Store.GetSpace(context.Background(), e.space); err != nil || sp.GetRenderToken != gt {
			t.Fatalf("shown %q, stored %+v %v", gt, sp, err)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		b.t = t
		b.open(e.base, "/ui/logs", "logs")
		b.click(`form[action="/ui/logout"] button`)
		b.waitPage("login")
		b.open(e.base, "/ui/usage", "login")
	})

	b.t = t
	if p := b.problems.Take(); len(p) > 0 {
		t.Errorf("the browser reported problems (CSP violations, script errors):\n%s", strings.Join(p, "\n"))
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestConsoleHTTP checks, with a plain HTTP client, space scoping, CSRF
// and Origin checks, session cookies and headers, log pagination, and
// previews' billing and logging.
func TestConsoleHTTP(t *testing.T) {
	e := consoleServer(t)
	_, pageID := e.cardPage(t, e.token, nil)
	okReq := e.api(t, 200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID}).JSON(t)["requestId"].(string)
	rc := servertest.NewReceiver(t)
	ep := e.api(t, 201, "POST", "/api/webhooks", e.token, map[string]any{"url": rc.URL, "events": []string{"webhook.test"}}).JSON(t)
	epID := ep["id"].(string)
	dlvID := e.api(t, 202, "POST", "/api/webhooks/"+epID+"/test", e.token, nil).JSON(t)["deliveryId"].(string)

	a := e.client(t)
	a.login(t, e.token)

	t.Run("headers and cookie", func(t *testing.T) {
		r := a.get(t, "/ui/logs")
		if r.Status != 200 {
			t.Fatalf("logs: %d", r.Status)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "default-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP allows inline: %q", csp)
		}
		if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("headers: X-Frame-Options %q Referrer-Policy %q", r.Header.Get("X-Frame-Options"), r.Header.Get("Referrer-Policy"))
		}
		if strings.Contains(string(r.Body), "<script>") || strings.Contains(string(r.Body), " style=") {
			t.Error("page has inline script or style")
		}

		c := e.client(t)
		plain := c.post(t, "/ui/login", url.Values{"token": {e.token}})
		sc := plain.Header.Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age="} {
			if !strings.Contains(sc, want) {
				t.Errorf("cookie %q lacks %s", sc, want)
			}
		}
		if strings.Contains(sc, "Secure") {
			t.Errorf("cookie over plain http is Secure: %q", sc)
		}
		viaProxy := c.do(t, "POST", "/ui/login", url.Values{"token": {e.token}}, map[string]string{"Origin": e.base, "X-Forwarded-Proto": "https"})
		if !strings.Contains(viaProxy.Header.Get("Set-Cookie"), "Secure") {
			t.Errorf("cookie behind https proxy is not Secure: %q", viaProxy.Header.Get("Set-Cookie"))
		}
		if strings.Contains(sc, strings.TrimPrefix(e.token, "rh_")) {
			t.Error("the cookie carries the token itself")
		}
	})

	t.Run("another space gets 404", func(t *testing.T) {
		_, tokenB := e.newSpace("Other space")
		bc := e.client(t)
		bc.login(t, tokenB)
		for _, p := range []string{
			"/ui/logs/" + okReq,
			"/ui/webhooks/deliveries/" + dlvID,
			"/ui/webhooks/" + epID,
			"/ui/pages/" + pageID,
			"/ui/preview/" + pageID,
		} {
			if r := bc.get(t, p); r.Status != 404 {
				t.Errorf("GET %s from another space: %d, want 404", p, r.Status)
			}
			if r := a.get(t, p); r.Status != 200 {
				t.Errorf("GET %s from its own space: %d, want 200", p, r.Status)
			}
		}
		csrfB := bc.csrf(t)
		for _, p := range []string{
			"/ui/webhooks/" + epID + "/disable",
			"/ui/webhooks/" + epID + "/rotate",
			"/ui/webhooks/" + epID + "/test",
			"/ui/webhooks/" + epID + "/delete",
			"/ui/webhooks/deliveries/" + dlvID + "/redeliver",
		} {
			if r := bc.post(t, p, url.Values{"_csrf": {csrfB}}); r.Status != 404 {
				t.Errorf("POST %s from another space: %d, want 404", p, r.Status)
			}
		}
		got := e.api(t, 200, "GET", "/api/webhooks/"+epID, e.token, nil).JSON(t)
		if got["enabled"] != true {
			t.Fatal("another space's session changed the endpoint")
		}
		// Lists show only the session's own space.
		if r := bc.get(t, "/ui/logs"); strings.Contains(string(r.Body), okReq) {
			t.Error("another space's log list shows the entry")
		}
		if r := bc.get(t, "/ui/webhooks"); strings.Contains(string(r.Body), epID) {
			t.Error("another space's webhook list shows the endpoint")
		}
		// Revoking another space's token id is a 404 too.
		toks, err := e.srv.Store.ListTokens(context.Background(), e.space)
		if err != nil {
			t.Fatal(err)
		}
		if r := bc.post(t, "/ui/tokens/"+toks[0].ID+"/revoke", url.Values{"_csrf": {csrfB}}); r.Status != 404 {
			t.Errorf("revoking another space's token: %d, want 404", r.Status)
		}
	})

	t.Run("render secret and GET-render token rotate", func(t *testing.T) {
		ctx := context.Background()
		old, err := e.srv.Store.GetSpace(ctx, e.space)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/ui/render-secret/rotate", "/ui/get-render-token/rotate"} {
			if r := a.do(t, "POST", p, url.Values{"_csrf": {"AAAA"}}, map[string]string{"Origin": e.base}); r.Status != 403 {
				t.Errorf("%s without the csrf token: %d, want 403", p, r.Status)
			}
			if r := a.do(t, "POST", p, url.Values{"_csrf": {a.csrf(t)}}, map[string]string{"Origin": "https://evil.example"}); r.Status != 403 {
				t.Errorf("%s from another origin: %d, want 403", p, r.Status)
			}
		}
		if sp, _ := e.srv.Store.GetSpace(ctx, e.space); sp.RenderSecret != old.RenderSecret || sp.GetRenderToken != old.GetRenderToken {
			t.Fatal("a refused POST rotated")
		}
		rs := a.post(t, "/ui/render-secret/rotate", url.Values{"_csrf": {a.csrf(t)}})
		gt := a.post(t, "/ui/get-render-token/rotate", url.Values{"_csrf": {a.csrf(t)}})
		sp, err := e.srv.Store.GetSpace(ctx, e.space)
		if err != nil || rs.Status != 200 || gt.Status != 200 {
			t.Fatalf("rotate: %d %d %v", rs.Status, gt.Status, err)
		}
		if sp.RenderSecret == old.RenderSecret || sp.RenderSecretPrev != old.RenderSecret || sp.RenderSecretPrevUntil == nil ||
			!sp.RenderSecretPrevUntil.After(time.Now().Add(23*time.Hour)) ||
			sp.GetRenderToken == old.GetRenderToken || sp.GetRenderTokenPrev != old.GetRenderToken {
			t.Fatalf("after rotation: %+v", sp)
		}
		// Each new value is shown once, on the page the form answered.
		if !strings.Contains(string(rs.Body), sp.RenderSecret) || !strings.Contains(string(gt.Body), sp.GetRenderToken) {
			t.Error("the new values are not shown")
		}
		if r := a.get(t, "/ui/tokens"); strings.Contains(string(r.Body), sp.RenderSecret) || strings.Contains(string(r.Body), sp.GetRenderToken) {
			t.Error("the tokens page shows a secret again")
		}
	})

	t.Run("csrf and origin", func(t *testing.T) {
		csrf := a.csrf(t)
		count := func() int {
			ts, err := e.srv.Store.ListTokens(context.Background(), e.space)
			if err != nil {
				t.Fatal(err)
			}
			return len(ts)
		}
		before := count()
		cases := []struct {
			name   string
			form   url.Values
			header map[string]string
		}{
			{"no csrf token", url.Values{}, map[string]string{"Origin": e.base}},
			{"wrong csrf token", url.Values{"_csrf": {"AAAA"}}, map[string]string{"Origin": e.base}},
			{"foreign origin", url.Values{"_csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}},
			{"foreign referer", url.Values{"_csrf": {csrf}}, map[string]string{"Referer": "https://evil.example/page"}},
			{"null origin", url.Values{"_csrf": {csrf}}, map[string]string{"Origin": "null"}},
			{"neither origin nor referer", url.Values{"_csrf": {csrf}}, nil},
		}
		for _, tc := range cases {
			if r := a.do(t, "POST", "/ui/tokens", tc.form, tc.header); r.Status != 403 {
				t.Errorf("%s: %d, want 403", tc.name, r.Status)
			}
		}
		if count() != before {
			t.Fatal("a refused POST created a token")
		}
		// Another session's CSRF token does not work in this one.
		otherToken, _, err := auth.CreateToken(context.Background(), e.srv.Store, e.space)
		if err != nil {
			t.Fatal(err)
		}
		before++
		other := e.client(t)
		other.login(t, otherToken)
		if r := a.post(t, "/ui/tokens", url.Values{"_csrf": {other.csrf(t)}}); r.Status != 403 {
			t.Errorf("another session's csrf token: %d, want 403", r.Status)
		}
		// The same-origin Referer alone is enough (no Origin header).
		if r := a.do(t, "POST", "/ui/tokens", url.Values{"_csrf": {csrf}}, map[string]string{"Referer": e.base + "/ui/tokens"}); r.Status != 200 {
			t.Errorf("same-origin referer: %d, want 200", r.Status)
		}
		if r := a.post(t, "/ui/tokens", url.Values{"_csrf": {csrf}}); r.Status != 200 {
			t.Errorf("valid POST: %d, want 200", r.Status)
		}
		if count() != before+2 {
			t.Fatalf("tokens %d, want %d", count(), before+2)
		}
		// Sign-in from another site is refused too (login CSRF).
		c := e.client(t)
		if r := c.do(t, "POST", "/ui/login", url.Values{"token": {e.token}}, map[string]string{"Origin": "https://evil.example"}); r.Status != 403 {
			t.Errorf("cross-site login: %d, want 403", r.Status)
		}
	})

	t.Run("revoked token ends the session", func(t *testing.T) {
		ctx := context.Background()
		tok, rec, err := auth.CreateToken(ctx, e.srv.Store, e.space)
		if err != nil {
			t.Fatal(err)
		}
		c := e.client(t)
		c.login(t, tok)
		if r := c.get(t, "/ui/logs"); r.Status != 200 {
			t.Fatalf("before revoke: %d", r.Status)
		}
		if err := e.srv.Store.RevokeToken(ctx, e.space, rec.ID); err != nil {
			t.Fatal(err)
		}
		if r := c.get(t, "/ui/logs"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
			t.Fatalf("after revoke: %d %s, want a redirect to sign in", r.Status, r.Header.Get("Location"))
		}
		if servertest.FormToken(c.get(t, "/ui/login").Body) != "" {
			t.Fatal("the sign-in page of an ended session carries a form token")
		}
	})

	t.Run("tampered cookie is no session", func(t *testing.T) {
		u, _ := url.Parse(e.base + "/ui/")
		var val string
		for _, ck := range a.jar.Cookies(u) {
			if ck.Name == "rh_ui_session" {
				val = ck.Value
			}
		}
		if val == "" {
			t.Fatal("no session cookie in the jar")
		}
		// Push the expiry out by a day without re-signing.
		parts := strings.Split(val, ".")
		parts[1] = parts[1][:len(parts[1])-1] + string("0123456789"[(int(parts[1][len(parts[1])-1]-'0')+1)%10])
		c := e.client(t)
		c.jar.SetCookies(u, []*http.Cookie{{Name: "rh_ui_session", Value: strings.Join(parts, "."), Path: "/ui"}})
		if r := c.get(t, "/ui/logs"); r.Status != http.StatusSeeOther {
			t.Fatalf("tampered cookie: %d, want a redirect to sign in", r.Status)
		}
	})

	t.Run("logs paginate with the filter kept", func(t *testing.T) {
		ctx := context.Background()
		base := time.Now().Add(-time.Hour)
		for i := range 55 {
			l := &store.RequestLog{ID: store.NewID("req"), SpaceID: e.space, CreatedAt: base.Add(time.Duration(i) * time.Second),
				Method: "GET", Path: "/api/render/pg_gone", Status: 404, ErrorCode: "page_not_found", Error: "page not found"}
			if err := e.srv.Store.CreateRequestLog(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		rowRE := regexp.MustCompile(`<a class="mono" href="/ui/logs/(req_[a-z0-9]+)">`)
		nextRE := regexp.MustCompile(`<a href="(/ui/logs\?[^"]+)">Older`)
		r := a.get(t, "/ui/logs?status=404")
		first := rowRE.FindAllSubmatch(r.Body, -1)
		next := nextRE.FindSubmatch(r.Body)
		if len(first) != 50 || next == nil {
			t.Fatalf("first page: %d rows, next link %q", len(first), next)
		}
		nextURL := html.UnescapeString(string(next[1]))
		if !strings.Contains(nextURL, "status=404") || !strings.Contains(nextURL, "cursor=") {
			t.Fatalf("next link %q does not keep the filter", nextURL)
		}
		r = a.get(t, nextURL)
		second := rowRE.FindAllSubmatch(r.Body, -1)
		if len(second) != 5 || nextRE.Match(r.Body) || !strings.Contains(string(r.Body), "Newest") {
			t.Fatalf("second page: %d rows, want the last 5 and no further page", len(second))
		}
		seen := map[string]bool{}
		for _, m := range append(first, second...) {
			if seen[string(m[1])] {
				t.Fatalf("%s on both pages", m[1])
			}
			seen[string(m[1])] = true
		}
		if strings.Contains(string(r.Body), okReq) {
			t.Errorf("the 404 filter's pages show the 200 render %s", okReq)
		}
		ids := func(ms [][][]byte) (out []string) {
			for _, m := range ms {
				out = append(out, string(m[1]))
			}
			return out
		}
		nu, err := url.Parse(nextURL)
		if err != nil {
			t.Fatal(err)
		}
		// A page link that is not one shows the newest entries of the
		// same filter, saying so; what is not the console's is ignored.
		for _, q := range []string{"status=404&cursor=bm90LWEtY3Vyc29y", "status=404&cursor=%25", "status=404&limit=5&utm_source=x"} {
			r := a.get(t, "/ui/logs?"+q)
			body := string(r.Body)
			stale := strings.Contains(body, "That page link is not valid; showing the newest entries.")
			rows := ids(rowRE.FindAllSubmatch(r.Body, -1))
			if r.Status != 200 || !slices.Equal(rows, ids(first)) || stale != strings.Contains(q, "cursor") ||
				strings.Contains(body, "Newest") || !nextRE.Match(r.Body) {
				t.Errorf("?%s: %d, %d rows, notice %v; want the first page of the filter", q, r.Status, len(rows), stale)
			}
		}
		for _, q := range []string{"status=teapot", "status=teapot&cursor=%25", "status=600&cursor=" + url.QueryEscape(nu.Query().Get("cursor"))} {
			r := a.get(t, "/ui/logs?"+q)
			if r.Status != 400 || !strings.Contains(string(r.Body), "The status filter must be a code (404), a class (4xx), succeeded or failed.") ||
				rowRE.Match(r.Body) {
				t.Errorf("bad status filter ?%s: %d, want 400 saying what a filter is, and no rows", q, r.Status)
			}
		}
	})

	t.Run("deliveries filter by the API's rule", func(t *testing.T) {
		row := `href="/ui/webhooks/deliveries/` + dlvID + `"`
		for _, c := range []struct {
			q, want string
			status  int
			shown   bool
		}{
			{"endpointId=" + epID, "", 200, true},
			{"endpointId=wh_other", "", 200, false},
			{"endpointId=" + epID + "&cursor=%25", "That page link is not valid; showing the newest deliveries.", 200, true},
			{"status=teapot&endpointId=" + epID, "The status filter must be pending, succeeded, failed or exhausted.", 400, false},
		} {
			r := a.get(t, "/ui/webhooks/deliveries?"+c.q)
			body := string(r.Body)
			if r.Status != c.status || strings.Contains(body, row) != c.shown || (c.want != "" && !strings.Contains(body, c.want)) {
				t.Errorf("?%s: %d, delivery shown %v; want %d, shown %v, saying %q", c.q, r.Status, strings.Contains(body, row), c.status, c.shown, c.want)
			}
		}
	})

	t.Run("filter forms show the filters asked for", func(t *testing.T) {
		formRE := regexp.MustCompile(`(?s)<form method="get" action="([^"]+)" class="filters">(.*?)<button type="submit">Filter</button>\s*</form>`)
		selectRE := regexp.MustCompile(`(?s)<label>(\w+)\s*<select name="(\w+)" data-autosubmit>(.*?)</select>`)
		optionRE := regexp.MustCompile(`<option value="([^"]*)"( selected)?>([^<]*)</option>`)
		// form reads a page's filter form: its action, then each select's
		// label, name and options (value=label, * when selected).
		form := func(path string) []string {
			m := formRE.FindSubmatch(a.get(t, path).Body)
			if m == nil {
				t.Fatalf("%s: no filter form", path)
			}
			out := []string{string(m[1])}
			for _, sel := range selectRE.FindAllSubmatch(m[2], -1) {
				line := string(sel[1]) + " " + string(sel[2]) + ":"
				for _, o := range optionRE.FindAllSubmatch(sel[3], -1) {
					line += " " + string(o[1]) + "=" + html.UnescapeString(string(o[3]))
					if len(o[2]) > 0 {
						line += "*"
					}
				}
				out = append(out, line)
			}
			return out
		}
		// options lists a select's options with the i-th selected (-1: none).
		options := func(label string, i int, opts ...string) string {
			opts = slices.Clone(opts)
			if i >= 0 {
				opts[i] += "*"
			}
			return label + ": " + strings.Join(opts, " ")
		}
		logStatuses := []string{"=All", "succeeded=Succeeded (2xx–3xx)", "failed=Failed (4xx–5xx)", "2xx=2xx", "4xx=4xx", "5xx=5xx",
			"400=400", "401=401", "402=402", "404=404", "422=422", "503=503"}
		statuses := []string{"=All", "pending=pending", "succeeded=succeeded", "failed=failed", "exhausted=exhausted"}
		endpoints := []string{"=All", epID + "=" + rc.URL}
		for _, c := range []struct {
			path string
			want []string
		}{
			{"/ui/logs", []string{"/ui/logs", options("Status status", 0, logStatuses...)}},
			{"/ui/logs?status=404", []string{"/ui/logs", options("Status status", 9, logStatuses...)}},
			{"/ui/logs?status=teapot", []string{"/ui/logs", options("Status status", -1, logStatuses...)}},
			{"/ui/webhooks/deliveries", []string{"/ui/webhooks/deliveries",
				options("Status status", -1, statuses...), options("Endpoint endpointId", -1, endpoints...)}},
			{"/ui/webhooks/deliveries?status=failed&endpointId=" + epID, []string{"/ui/webhooks/deliveries",
				options("Status status", 3, statuses...), options("Endpoint endpointId", 1, endpoints...)}},
			{"/ui/webhooks/deliveries?endpointId=wh_other", []string{"/ui/webhooks/deliveries",
				options("Status status", -1, statuses...), options("Endpoint endpointId", -1, endpoints...)}},
		} {
			if got := form(c.path); !slices.Equal(got, c.want) {
				t.Errorf("%s: filter form\n%s\nwant\n%s", c.path, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		}
	})

	t.Run("preview is billed and logged like a render", func(t *testing.T) {
		before := e.api(t, 200, "GET", "/api/usage", e.token, nil).JSON(t)
		r := a.get(t, "/ui/preview/"+pageID+"?tweak:title=Billed")
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Render-Id") == "" {
			t.Fatalf("preview: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		reqID := r.Header.Get("X-Request-Id")
		testkit.Eventually(t, 30*time.Second, fmt.Sprintf("the preview's credit (%v used before)", before["creditsUsed"]), func() bool {
			after := e.api(t, 200, "GET", "/api/usage", e.token, nil).JSON(t)
			return after["creditsUsed"].(float64) == before["creditsUsed"].(float64)+1
		})
		l := e.api(t, 200, "GET", "/api/logs/"+reqID, e.token, nil).JSON(t)
		if l["status"] != 200.0 || l["renderId"] == "" || !strings.Contains(l["query"].(string), "Billed") {
			t.Fatalf("preview log entry %v", l)
		}
		// A failed preview is logged with its error, like the API does.
		r = a.get(t, "/ui/preview/"+pageID+"?tweak:background=%23nope")
		if r.Status != 400 {
			t.Fatalf("bad tweak preview: %d", r.Status)
		}
		l = e.api(t, 200, "GET", "/api/logs/"+r.Header.Get("X-Request-Id"), e.token, nil).JSON(t)
		if l["status"] != 400.0 || l["error"].(map[string]any)["code"] != "invalid_request" {
			t.Fatalf("failed preview log entry %v", l)
		}
		// A preview cannot send webhooks of its own.
		if r := a.get(t, "/ui/preview/"+pageID+"?webhook_url="+url.QueryEscape(rc.URL)); r.Status != 400 {
			t.Fatalf("preview with webhook_url: %d, want 400", r.Status)
		}
	})
}
