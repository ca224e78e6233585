package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The console's security headers, on every answer under /ui/.
var consoleHeaders = map[string]string{
	"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff",
	"Content-Security-Policy": "*",
}

// withHeaders adds the console's security headers to a scenario's.
func withHeaders(h map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range consoleHeaders {
		out[k] = v
	}
	for k, v := range h {
		out[k] = v
	}
	return out
}

const htmlType = "text/html; charset=utf-8"

// notInSpace is a console request from A's session for an object of B:
// the console's not-found page, and nothing changed.
func notInSpace(name, method, url string) scenario {
	return scenario{name: name, method: method, url: url, auth: sessionA, form: method == "POST", status: 404,
		contains: []string{"There is nothing here in this space."}, headers: withHeaders(map[string]string{"Content-Type": htmlType})}
}

// consoleScenarios: the console's routes (ui.Server.Routes), served
// through the API's handler as in production. Its answers are pages, so
// they are checked by status, headers, what the page says and what the
// request left behind.
var consoleScenarios = []scenario{
	{name: "root", method: "GET", url: "/ui/", status: 303, headers: withHeaders(map[string]string{"Location": "/ui/logs"})},
	{name: "asset", method: "GET", url: "/ui/static/app.css", status: 200,
		headers: withHeaders(map[string]string{"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=86400"})},
	{name: "no such asset", method: "GET", url: "/ui/static/nope.css", status: 404,
		contains: []string{"404 page not found"}, headers: withHeaders(nil)},
	{name: "sign-in form", method: "GET", url: "/ui/login", status: 200,
		contains: []string{`name="token"`}, headers: withHeaders(map[string]string{"Content-Type": htmlType})},
	{name: "sign-in form when signed in", method: "GET", url: "/ui/login", auth: sessionA, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/logs"})},
	{name: "sign in", method: "POST", url: "/ui/login", form: true, body: "token={tokA}",
		header: map[string]string{"Origin": "http://renderhook.test"}, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/logs", "Set-Cookie": "*"})},
	{name: "sign in with a revoked token", method: "POST", url: "/ui/login", form: true, body: "token={tokRev}",
		header: map[string]string{"Origin": "http://renderhook.test"}, status: 401,
		contains: []string{"That token is not valid, or it has been revoked."}, headers: withHeaders(map[string]string{"Set-Cookie": "-"})},
	{name: "sign in from another origin", method: "POST", url: "/ui/login", form: true, body: "token={tokA}",
		header: map[string]string{"Origin": "https://evil.example"}, status: 403,
		contains: []string{"This request did not come from a page of this console."}, headers: withHeaders(map[string]string{"Set-Cookie": "-"})},
	{name: "sign out without CSRF token", method: "POST", url: "/ui/logout", auth: sessionANoCSRF, form: true, status: 403,
		contains: []string{"The form&#39;s security token is missing or stale."}, headers: withHeaders(map[string]string{"Set-Cookie": "-"})},
	{name: "sign out", method: "POST", url: "/ui/logout", auth: sessionB, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login", "Set-Cookie": "*"})},

	{name: "logs", method: "GET", url: "/ui/logs", auth: sessionA, status: 200,
		contains: []string{"{requestId}"}, notContains: []string{"{requestIdB}"},
		headers: withHeaders(map[string]string{"Content-Type": htmlType})},
	{name: "logs without session", method: "GET", url: "/ui/logs", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "logs, bad status filter", method: "GET", url: "/ui/logs?status=nope", auth: sessionA, status: 400,
		contains: []string{"The status filter must be a code (404), a class (4xx), succeeded or failed."}},
	{name: "log entry", method: "GET", url: "/ui/logs/{requestId}", auth: sessionA, status: 200,
		contains: []string{"{requestId}", "{render}"}},
	notInSpace("B's log entry", "GET", "/ui/logs/{requestIdB}"),

	{name: "usage", method: "GET", url: "/ui/usage", auth: sessionA, status: 200,
		contains: []string{"<h1>Usage</h1>", "<h2>Credits</h2>"}},
	{name: "templates", method: "GET", url: "/ui/templates", auth: sessionA, status: 200,
		contains: []string{"{page}"}, notContains: []string{"{pageB}"}},
	{name: "set a template's renderer", method: "POST", url: "/ui/templates/{tpl}/render-type", auth: sessionA, form: true, body: "renderType=html",
		status: 303, headers: withHeaders(map[string]string{"Location": "/ui/templates?done=render-type"}), changed: []string{"templates"}},
	{name: "set a renderer that does not exist", method: "POST", url: "/ui/templates/{tpl}/render-type", auth: sessionA, form: true, body: "renderType=gpu",
		status: 422, contains: []string{"The renderer must be html, takumi or auto; nothing was changed."}, notContains: []string{"gpu"}},
	notInSpace("set B's template's renderer", "POST", "/ui/templates/{tplB}/render-type"),
	{name: "page", method: "GET", url: "/ui/pages/{page}", auth: sessionA, status: 200, contains: []string{"{page}"}},
	notInSpace("B's page", "GET", "/ui/pages/{pageB}"),
	// A preview is a render of the draft, recorded as any other (before
	// the endpoint scenarios, so it makes one delivery).
	{name: "preview", method: "GET", url: "/ui/preview/{page}", auth: sessionA, status: 200,
		headers: withHeaders(map[string]string{"Content-Type": "image/png"}), effects: renderEffects},
	{name: "preview of B's page", method: "GET", url: "/ui/preview/{pageB}", auth: sessionA, status: 404,
		// Today a preview answers its errors in plain text, and logs
		// them in the session's space.
		contains: []string{"page not found: {pageB} (request req_"},
		headers:  withHeaders(map[string]string{"Content-Type": "text/plain; charset=utf-8"}), effects: logOnly},

	{name: "endpoints", method: "GET", url: "/ui/webhooks", auth: sessionA, status: 200,
		contains: []string{"https://hooks.example.com/a"}, notContains: []string{"https://hooks.example.com/b"}},
	{name: "create endpoint", method: "POST", url: "/ui/webhooks", auth: sessionA, form: true,
		body: "url=https%3A%2F%2Fhooks.example.com%2Fconsole&description=from+the+console", status: 200,
		contains: []string{"Endpoint created. Copy its signing secret now: it is not shown again.", "whsec_"},
		effects:  map[string]int{"webhook_endpoints": 1}},
	{name: "create endpoint to a private address", method: "POST", url: "/ui/webhooks", auth: sessionA, form: true,
		body: "url=http%3A%2F%2F127.0.0.1%2Fhook", status: 422,
		contains: []string{"forbidden address: 127.0.0.1 is loopback"}},
	{name: "create endpoint without url", method: "POST", url: "/ui/webhooks", auth: sessionA, form: true,
		body: "description=x", status: 422, contains: []string{"a URL is required"}},
	{name: "create endpoint without CSRF token", method: "POST", url: "/ui/webhooks", auth: sessionANoCSRF, form: true,
		body: "url=https%3A%2F%2Fhooks.example.com%2Fcsrf", status: 403,
		contains: []string{"The form&#39;s security token is missing or stale."}},
	{name: "create endpoint without session", method: "POST", url: "/ui/webhooks", form: true,
		header: map[string]string{"Origin": "http://renderhook.test"},
		body:   "url=https%3A%2F%2Fhooks.example.com%2Fnosession", status: 403,
		contains: []string{"Your session has ended. Sign in again, then repeat the action."}},
	{name: "endpoint", method: "GET", url: "/ui/webhooks/{endpoint}", auth: sessionA, status: 200,
		contains: []string{"https://hooks.example.com/a"}, notContains: []string{"whsec_"}},
	notInSpace("B's endpoint", "GET", "/ui/webhooks/{endpointB}"),
	{name: "disable endpoint", method: "POST", url: "/ui/webhooks/{fresh-endpoint}/disable", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/webhooks/{fresh-endpoint}?done=disabled"}), changed: []string{"webhook_endpoints"}},
	{name: "enable endpoint", method: "POST", url: "/ui/webhooks/{fresh-disabled-endpoint}/enable", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/webhooks/{fresh-disabled-endpoint}?done=enabled"}),
		changed: []string{"webhook_endpoints"}},
	notInSpace("disable B's endpoint", "POST", "/ui/webhooks/{endpointB}/disable"),
	notInSpace("rotate B's endpoint secret", "POST", "/ui/webhooks/{endpointB}/rotate"),
	notInSpace("test B's endpoint", "POST", "/ui/webhooks/{endpointB}/test"),
	notInSpace("redeliver B's delivery", "POST", "/ui/webhooks/deliveries/{deliveryB}/redeliver"),
	notInSpace("enable B's endpoint", "POST", "/ui/webhooks/{endpointB}/enable"),
	{name: "rotate endpoint secret", method: "POST", url: "/ui/webhooks/{fresh-endpoint}/rotate", auth: sessionA, form: true, status: 200,
		contains: []string{"whsec_"}, changed: []string{"webhook_endpoints"}},
	{name: "test endpoint", method: "POST", url: "/ui/webhooks/{endpoint}/test", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/webhooks/deliveries/msg_*"}),
		effects: map[string]int{"webhook_deliveries": 1, "job:webhook.deliver": 1}},
	{name: "delete endpoint", method: "POST", url: "/ui/webhooks/{fresh-endpoint}/delete", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/webhooks?done=deleted"}),
		effects: map[string]int{"webhook_endpoints": -1}},
	notInSpace("delete B's endpoint", "POST", "/ui/webhooks/{endpointB}/delete"),
	{name: "deliveries", method: "GET", url: "/ui/webhooks/deliveries", auth: sessionA, status: 200,
		contains: []string{"{delivery}"}, notContains: []string{"{deliveryB}"}},
	{name: "delivery", method: "GET", url: "/ui/webhooks/deliveries/{delivery}", auth: sessionA, status: 200,
		contains: []string{"{delivery}", "render.succeeded"}},
	notInSpace("B's delivery", "GET", "/ui/webhooks/deliveries/{deliveryB}"),
	{name: "redeliver", method: "POST", url: "/ui/webhooks/deliveries/{delivery}/redeliver", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/webhooks/deliveries/{delivery}?done=redelivered"}),
		effects: map[string]int{"job:webhook.deliver": 1}, changed: []string{"webhook_deliveries"}},

	{name: "tokens", method: "GET", url: "/ui/tokens", auth: sessionA, status: 200, contains: []string{`name="_csrf"`}},
	{name: "create token without session", method: "POST", url: "/ui/tokens", form: true,
		header: map[string]string{"Origin": "http://renderhook.test"}, status: 403,
		contains: []string{"Your session has ended. Sign in again, then repeat the action."}},
	{name: "create token", method: "POST", url: "/ui/tokens", auth: sessionA, form: true, status: 200,
		contains: []string{"rh_"}, effects: map[string]int{"tokens": 1}},
	{name: "revoke token", method: "POST", url: "/ui/tokens/{fresh-token}/revoke", auth: sessionA, form: true, status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/tokens?done=revoked"}), changed: []string{"tokens"}},
	notInSpace("revoke B's token", "POST", "/ui/tokens/{tokenB}/revoke"),
	{name: "rotate render secret", method: "POST", url: "/ui/render-secret/rotate", auth: sessionA, form: true, status: 200,
		changed: []string{"spaces"}},
	{name: "rotate render secret without CSRF token", method: "POST", url: "/ui/render-secret/rotate", auth: sessionANoCSRF, form: true,
		status: 403, contains: []string{"The form&#39;s security token is missing or stale."}},
	{name: "rotate GET-render token", method: "POST", url: "/ui/get-render-token/rotate", auth: sessionA, form: true, status: 200,
		changed: []string{"spaces"}},
	{name: "rotate GET-render token from another origin", method: "POST", url: "/ui/get-render-token/rotate", auth: sessionA, form: true,
		header: map[string]string{"Origin": "https://evil.example"}, status: 403,
		contains: []string{"This request did not come from a page of this console."}},

	{name: "ui templates without session", method: "GET", url: "/ui/templates", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "ui tokens without session", method: "GET", url: "/ui/tokens", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "ui usage without session", method: "GET", url: "/ui/usage", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "ui webhooks without session", method: "GET", url: "/ui/webhooks", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "ui webhooks deliveries without session", method: "GET", url: "/ui/webhooks/deliveries", status: 303,
		headers: withHeaders(map[string]string{"Location": "/ui/login"})},
	{name: "no such page", method: "GET", url: "/ui/nope", auth: sessionA, status: 404,
		contains: []string{"There is nothing here in this space."}},
	{name: "tokens by PUT", method: "PUT", url: "/ui/tokens", auth: sessionA, status: 404,
		contains: []string{"There is nothing here in this space."}},
}

func TestConsoleScenarios(t *testing.T) {
	f := newScenarioFixture(t)
	runScenarios(t, f, consoleScenarios)
}

// TestConsolePreviewRateLimited: a preview over the space's rate limit
// answers as the API does, 429 with when to retry, in the console's plain
// text, and is logged as refused; it is not an internal error.
func TestConsolePreviewRateLimited(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	sp, tok := e.newSpace("limited")
	if err := e.st.SetRateLimit(ctx, sp.ID, 1); err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.session(tok)
	tpl := e.call(201, "POST", "/api/templates", tok, templateBody("limited", true)).JSON(t)["id"].(string)
	pg := e.call(201, "POST", "/api/pages", tok, map[string]any{"templateId": tpl, "publish": true}).JSON(t)["id"].(string)
	preview := func() response {
		return e.do(request{method: "GET", target: "/ui/preview/" + pg, header: http.Header{"Cookie": {"rh_ui_session=" + cookie}}})
	}
	if res := preview(); res.Status != http.StatusOK {
		t.Fatalf("first preview: %d %s", res.Status, res.Body)
	}
	res := preview()
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("second preview: %d, want 429: %s", res.Status, res.Body)
	}
	if !strings.Contains(string(res.Body), "the space may make 1 render requests a minute") {
		t.Errorf("body %q", res.Body)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if res.Header.Get("X-RateLimit-Limit") != "1" || res.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("X-RateLimit headers: %v", res.Header)
	}
	var status int
	var code string
	if err := e.db.QueryRowContext(ctx, `SELECT status, error_code FROM request_logs WHERE space_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
		sp.ID).Scan(&status, &code); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusTooManyRequests || code != "rate_limited" {
		t.Errorf("logged %d %s, want 429 rate_limited", status, code)
	}
}
