package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/ui"
)

// marker is in the names and HTML of space A's objects, so a response that
// carries A's data to anyone else is caught even when no id is in it.
const marker = "A-MARKER-7f3c"

// authRow is one route's row of the authorization matrix: the request the
// route is tried with, and what the right credential gets.
type authRow struct {
	// body is the request body for the route (JSON, or url.Values for a
	// console form, to which the matrix adds the CSRF token).
	body func(f *fixture) any
	// right is the status with the right credential.
	right int
	// other is the status with another space's credential when the route
	// addresses an object of space A though its pattern names none (a
	// pageId in the body). 0: a pattern with a {wildcard} answers 404, one
	// without answers anything below 500, neither carrying A's data.
	other int
}

// apiRows are the rows of the API's route table (api.Server.Routes). A
// route without a row fails TestAuthorizationMatrix, and so does a row
// without a route.
var apiRows = map[string]authRow{
	"GET /healthz":        {right: 200},
	"GET /openapi.json":   {right: 200},
	"GET /docs":           {right: 200},
	"GET /files/{key...}": {right: 200},
	"ANY /":               {right: 404},

	"GET /api/render/{pageId}": {right: 200},
	"POST /api/render": {right: 200, other: 404, body: func(f *fixture) any {
		return map[string]any{"pageId": f.page, "output": "json"}
	}},
	"GET /api/renders/{renderId}": {right: 200},

	"POST /v1/render/sync":                 {right: 200, body: v1Body},
	"POST /v1/render/async":                {right: 201, body: v1Body},
	"POST /v1/render":                      {right: 201, body: v1Body},
	"GET /v1/render/{renderId}":            {right: 200},
	"POST /v1/render/{renderId}":           {right: 200},
	"GET /v1/{renderKey}/{token}/{format}": {right: 200},

	"POST /api/webhooks": {right: 201, body: func(*fixture) any {
		return map[string]any{"url": "https://hooks.example.com/new", "description": "new"}
	}},
	"GET /api/webhooks":      {right: 200},
	"GET /api/webhooks/{id}": {right: 200},
	"PATCH /api/webhooks/{id}": {right: 200, body: func(*fixture) any {
		return map[string]any{"description": "patched", "enabled": false}
	}},
	"DELETE /api/webhooks/{id}":                   {right: 204},
	"POST /api/webhooks/{id}/rotate-secret":       {right: 200},
	"POST /api/webhooks/{id}/test":                {right: 202},
	"POST /api/webhook-secret/rotate":             {right: 200},
	"POST /api/render-secret/rotate":              {right: 200},
	"POST /api/get-render-token/rotate":           {right: 200},
	"GET /api/webhook-deliveries":                 {right: 200},
	"GET /api/webhook-deliveries/{id}":            {right: 200},
	"POST /api/webhook-deliveries/{id}/redeliver": {right: 202},

	"GET /api/logs":             {right: 200},
	"GET /api/logs/{requestId}": {right: 200},
	"GET /api/usage":            {right: 200},

	// PUT runs (with the right credential) before GET and DELETE: routes
	// are tried in the table's order.
	"PUT /api/storage": {right: 200, body: func(*fixture) any {
		return map[string]any{"bucket": "bucket-of-a", "endpoint": "https://s3.example.com", "region": "eu-west-2"}
	}},
	"GET /api/storage":    {right: 200},
	"DELETE /api/storage": {right: 204},

	"POST /api/templates":     {right: 201, body: func(*fixture) any { return templateBody("new", true) }},
	"GET /api/templates":      {right: 200},
	"GET /api/templates/{id}": {right: 200},
	"PUT /api/templates/{id}": {right: 200, body: func(*fixture) any {
		return map[string]any{"name": "renamed"}
	}},
	"DELETE /api/templates/{id}": {right: 204},

	"POST /api/pages": {right: 201, other: 404, body: func(f *fixture) any {
		return map[string]any{"templateId": f.template, "name": "new page"}
	}},
	"GET /api/pages":      {right: 200},
	"GET /api/pages/{id}": {right: 200},
	"PUT /api/pages/{id}": {right: 200, body: func(*fixture) any {
		return map[string]any{"name": "renamed", "values": map[string]any{"title": "changed"}}
	}},
	"DELETE /api/pages/{id}":       {right: 204},
	"POST /api/pages/{id}/publish": {right: 200},
}

// consoleRows are the rows of the console's route table (ui.Server.Routes).
var consoleRows = map[string]authRow{
	"GET /ui/{$}":           {right: 303},
	"GET /ui/static/{name}": {right: 200},
	"GET /ui/login":         {right: 303},
	"POST /ui/login":        {right: 303},
	"POST /ui/logout":       {right: 303, body: form},
	"ANY /ui/":              {right: 404},

	"GET /ui/logs":             {right: 200},
	"GET /ui/logs/{requestId}": {right: 200},

	"GET /ui/webhooks": {right: 200},
	"POST /ui/webhooks": {right: 200, body: func(*fixture) any {
		return url.Values{"url": {"https://hooks.example.com/console"}, "description": {"new"}}
	}},
	"GET /ui/webhooks/{id}":                       {right: 200},
	"POST /ui/webhooks/{id}/enable":               {right: 303, body: form},
	"POST /ui/webhooks/{id}/disable":              {right: 303, body: form},
	"POST /ui/webhooks/{id}/rotate":               {right: 200, body: form},
	"POST /ui/webhooks/{id}/test":                 {right: 303, body: form},
	"POST /ui/webhooks/{id}/delete":               {right: 303, body: form},
	"GET /ui/webhooks/deliveries":                 {right: 200},
	"GET /ui/webhooks/deliveries/{id}":            {right: 200},
	"POST /ui/webhooks/deliveries/{id}/redeliver": {right: 303, body: form},

	"GET /ui/usage":     {right: 200},
	"GET /ui/templates": {right: 200},
	"POST /ui/templates/{id}/render-type": {right: 303, body: func(*fixture) any {
		return url.Values{"renderType": {"auto"}}
	}},
	"GET /ui/pages/{id}":       {right: 200},
	"GET /ui/preview/{pageId}": {right: 200},

	"GET /ui/tokens":              {right: 200},
	"POST /ui/tokens":             {right: 200, body: form},
	"POST /ui/tokens/{id}/revoke": {right: 303, body: form},

	"POST /ui/render-secret/rotate":    {right: 200, body: form},
	"POST /ui/get-render-token/rotate": {right: 200, body: form},
}

func form(*fixture) any { return url.Values{} }

func v1Body(*fixture) any { return map[string]any{"html": "<p>hello</p>", "format": "png"} }

// templateBody is a template; A's carry the marker in their HTML.
func templateBody(name string, tokenOnly bool) map[string]any {
	html := "<p>{{.title}}</p>"
	if strings.Contains(name, marker) {
		html = "<p>" + marker + " {{.title}}</p>"
	}
	return map[string]any{
		"name": name, "html": html, "width": 100, "height": 100,
		"requireGetRenderToken": tokenOnly,
		"variables":             []map[string]any{{"name": "title", "type": "string", "default": "Hello"}},
	}
}

// fixture is what the matrix works on: spaces A and B, A's objects (real
// rows, so another space's credential is tried against objects that
// exist), and credentials of both.
type fixture struct {
	e      *env
	a, b   *store.Space
	tokA   string // A's API token
	tokB   string
	tokRev string // a revoked token of A

	// A's session, B's, and one of a token of A revoked after sign-in.
	cookieA, csrfA     string
	cookieB, csrfB     string
	cookieRev, csrfRev string

	template, page string // A's token-only template and its published page
	v1Render       string // A's v1 render
	render         string // A's page render (stored as a file)
	requestID      string // its log entry
	delivery       string // its delivery to A's endpoint
	fileKey        string // its file
	fileSigB       string // B's file: key and its valid sig
	fileKeyB       string
	page2          string // another page of A, of the same template

	// sentByB is every request sent with B's credential: B may see in its
	// own logs the ids of A it sent, so those are no leak.
	sentByB strings.Builder

	// Pages of A whose versions differ in requireGetRenderToken:
	// draftOnly's published version is public and its draft token-only;
	// publishedOnly's the other way round.
	draftOnly, publishedOnly string
}

func newFixture(t *testing.T) *fixture {
	e := setup(t)
	f := &fixture{e: e}
	f.a, f.tokA = e.newSpace("Space A " + marker)
	f.b, f.tokB = e.newSpace("Space B")
	var rev *store.Token
	f.tokRev, rev = e.newToken(f.a.ID)
	if err := e.st.RevokeToken(context.Background(), f.a.ID, rev.ID); err != nil {
		t.Fatal(err)
	}
	if f.a.GetRenderToken == "" || f.b.GetRenderToken == "" || f.a.RenderSecret == "" {
		t.Fatal("spaces were created without render capabilities")
	}
	f.cookieA, f.csrfA = e.session(f.tokA)
	f.cookieB, f.csrfB = e.session(f.tokB)
	raw, tok := e.newToken(f.a.ID)
	f.cookieRev, f.csrfRev = e.session(raw)
	if err := e.st.RevokeToken(context.Background(), f.a.ID, tok.ID); err != nil {
		t.Fatal(err)
	}

	e.call(201, "POST", "/api/webhooks", f.tokA, map[string]any{"url": "https://hooks.example.com/a", "description": marker})
	f.template = e.call(201, "POST", "/api/templates", f.tokA, templateBody("card "+marker, true)).JSON(t)["id"].(string)
	f.page = e.call(201, "POST", "/api/pages", f.tokA, map[string]any{
		"templateId": f.template, "name": "page " + marker, "values": map[string]any{"title": marker}, "publish": true,
	}).JSON(t)["id"].(string)
	out := e.call(200, "POST", "/api/render", f.tokA, map[string]any{"pageId": f.page, "output": "json"}).JSON(t)
	f.render, f.requestID = out["renderId"].(string), out["requestId"].(string)
	f.fileKey = fileKey(t, out["file"].(map[string]any)["url"].(string))
	ds, err := e.st.ListDeliveries(context.Background(), store.ListDeliveriesParams{SpaceID: f.a.ID, Limit: 10})
	if err != nil || len(ds) == 0 {
		t.Fatalf("render made no delivery: %v", err)
	}
	f.delivery = ds[0].ID
	f.page2 = e.call(201, "POST", "/api/pages", f.tokA, map[string]any{
		"templateId": f.template, "name": "page 2 " + marker, "publish": true,
	}).JSON(t)["id"].(string)
	public := e.call(201, "POST", "/api/templates", f.tokA, templateBody("public "+marker, false)).JSON(t)["id"].(string)
	mixed := func(first, then string) string {
		id := e.call(201, "POST", "/api/pages", f.tokA, map[string]any{
			"templateId": first, "name": "mixed " + marker, "publish": true,
		}).JSON(t)["id"].(string)
		e.call(200, "PUT", "/api/pages/"+id, f.tokA, map[string]any{"templateId": then})
		return id
	}
	f.draftOnly, f.publishedOnly = mixed(public, f.template), mixed(f.template, public)
	f.v1Render = e.call(200, "POST", "/v1/render/sync", f.tokA, v1Body(nil)).Header.Get("X-Render-Id")

	tplB := e.call(201, "POST", "/api/templates", f.tokB, templateBody("card of B", true)).JSON(t)["id"].(string)
	pgB := e.call(201, "POST", "/api/pages", f.tokB, map[string]any{"templateId": tplB, "name": "page of B", "publish": true}).JSON(t)["id"].(string)
	outB := e.call(200, "POST", "/api/render", f.tokB, map[string]any{"pageId": pgB, "output": "json"}).JSON(t)
	u, err := url.Parse(outB["file"].(map[string]any)["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	f.fileKeyB, f.fileSigB = fileKey(t, u.String()), u.Query().Get("sig")
	return f
}

// fileKey is the bucket key of a signed /files/ URL.
func fileKey(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(u.Path, "/files/") {
		t.Fatalf("not a /files/ URL: %q", raw)
	}
	return strings.TrimPrefix(u.Path, "/files/")
}

// fill replaces a pattern's wildcards with real objects of space A. Objects
// a route may delete or change (templates, pages, endpoints, tokens) are
// made fresh for the route, so each route is tried on an intact one.
func (f *fixture) fill(t *testing.T, pattern string) string {
	t.Helper()
	e := f.e
	var out []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if !strings.HasPrefix(seg, "{") {
			out = append(out, seg)
			continue
		}
		var v string
		switch prefix := strings.Join(out, "/"); {
		case seg == "{$}":
			v = ""
		case seg == "{name}" && prefix == "/ui/static":
			v = "app.css"
		case seg == "{pageId}":
			v = f.page
		case seg == "{renderId}" && strings.HasPrefix(prefix, "/v1"):
			v = f.v1Render
		case seg == "{renderId}":
			v = f.render
		case seg == "{requestId}":
			v = f.requestID
		case seg == "{key...}":
			v = f.fileKey
		case seg == "{id}" && (prefix == "/api/webhook-deliveries" || prefix == "/ui/webhooks/deliveries"):
			v = f.delivery
		case seg == "{id}" && (prefix == "/api/webhooks" || prefix == "/ui/webhooks"):
			v = e.call(201, "POST", "/api/webhooks", f.tokA, map[string]any{"url": "https://hooks.example.com/fresh", "description": marker}).JSON(t)["id"].(string)
		case seg == "{id}" && (prefix == "/api/templates" || prefix == "/ui/templates"):
			v = e.call(201, "POST", "/api/templates", f.tokA, templateBody("fresh "+marker, true)).JSON(t)["id"].(string)
		case seg == "{id}" && (prefix == "/api/pages" || prefix == "/ui/pages"):
			v = e.call(201, "POST", "/api/pages", f.tokA, map[string]any{
				"templateId": f.template, "name": "fresh " + marker, "publish": true,
			}).JSON(t)["id"].(string)
		case seg == "{id}" && prefix == "/ui/tokens":
			_, tok := e.newToken(f.a.ID)
			v = tok.ID
		case seg == "{renderKey}", seg == "{token}", seg == "{format}":
			v = seg // the credential fills these (signedLink)
		default:
			t.Fatalf("route %s: the authorization matrix cannot fill %s after %s; teach fixture.fill which object of space A it names", pattern, seg, prefix)
		}
		out = append(out, v)
	}
	return strings.Join(out, "/")
}

// cred is one credential the matrix tries on a route. The standard five
// (none, malformed, revoked, other space, right) are tried on every route,
// spelled as the route's kind of authentication takes them; some kinds
// add their own forgeries.
type cred struct {
	name string
	// right is the one credential of A that must work; other is B's valid
	// credential, tried on A's objects.
	right, other bool
	// asA: the caller is signed in as A (a CSRF forgery), so the answer
	// may show A's own data; it must still change nothing.
	asA bool
	// want is the status a bad credential gets; 0 means decided by the row
	// (other) or anything below 500 (AuthNone routes).
	want int
	// apply sets the credential on the request.
	apply func(r *request)
}

func bearer(tok string) func(r *request) {
	return func(r *request) {
		if tok != "" {
			r.header.Set("Authorization", "Bearer "+tok)
		}
	}
}

// wrongTokens are the four standard bad token credentials (none,
// malformed, revoked, other space's), each sent as send sends a token;
// the first three must get bad, the other space's is decided by the row.
func (f *fixture) wrongTokens(bad int, send func(tok string) func(r *request)) []cred {
	return []cred{
		{name: "no token", want: bad, apply: send("")},
		{name: "malformed token", want: bad, apply: send("rh_not-a-token")},
		{name: "revoked token", want: bad, apply: send(f.tokRev)},
		{name: "other space's token", other: true, apply: send(f.tokB)},
	}
}

// creds lists the credentials of a kind of authentication, with the status
// each bad one must get.
func (f *fixture) creds(kind string) []cred {
	switch kind {
	case string(api.AuthToken), string(api.AuthV1Token), string(api.AuthNone):
		bad := 401
		if kind == string(api.AuthNone) {
			bad = 0
		}
		return append(f.wrongTokens(bad, bearer), cred{name: "right token", right: true, apply: bearer(f.tokA)})
	case string(api.AuthPageRender):
		q := func(raw string) func(r *request) {
			return func(r *request) { r.target += sep(r.target) + raw }
		}
		return append(f.wrongTokens(401, bearer), []cred{
			{name: "garbled sig", want: 403, apply: q("sig=deadbeef")},
			{name: "sig by other space's secret", want: 403, apply: q("sig=" + capability.V1LinkToken(f.b.RenderSecret, ""))},
			{name: "garbled gt", want: 401, apply: q("gt=nope")},
			{name: "other space's gt", want: 401, apply: q("gt=" + url.QueryEscape(f.b.GetRenderToken))},
			{name: "A's sig made for another page", want: 403, apply: q("sig=" + capability.PageSig(f.a.RenderSecret, f.draftOnly, ""))},
			{name: "A's sig of the old construction (query only)", want: 403, apply: q("sig=" + capability.V1LinkToken(f.a.RenderSecret, ""))},
			{name: "no token, a malformed query on a token-only page (no 400 telling it exists)", want: 401, apply: q("nope=1")},
			{name: "no token, a stray exp on a token-only page", want: 401, apply: q("exp=1")},
			{name: "no token, draft=1 of a token-only draft", want: 401, apply: func(r *request) {
				r.target = strings.Replace(r.target, f.page, f.draftOnly, 1) + sep(r.target) + "draft=1"
			}},
			{name: "no token, draft of a token-only draft", want: 401, apply: func(r *request) {
				r.target = strings.Replace(r.target, f.page, f.draftOnly, 1) + sep(r.target) + "draft"
			}},
			{name: "no token, draft=false of a token-only published version", want: 401, apply: func(r *request) {
				r.target = strings.Replace(r.target, f.page, f.publishedOnly, 1) + sep(r.target) + "draft=false"
			}},
			{name: "right token", right: true, apply: bearer(f.tokA)},
			{name: "right gt", right: true, apply: q("gt=" + url.QueryEscape(f.a.GetRenderToken))},
		}...)
	case string(api.AuthV1Signed):
		const query = "html=%3Cp%3Ehi%3C%2Fp%3E"
		link := func(key, token string) func(r *request) {
			return func(r *request) {
				r.target = strings.NewReplacer("{renderKey}", key, "{token}", token, "{format}", "png").Replace(r.target) + "?" + query
			}
		}
		withBearer := func(tok string, inner func(r *request)) func(r *request) {
			return func(r *request) { inner(r); bearer(tok)(r) }
		}
		return []cred{
			{name: "no signature", want: 403, apply: link(f.a.RenderKey, "-")},
			{name: "malformed signature", want: 403, apply: link(f.a.RenderKey, "not-hex")},
			{name: "A's token instead of a signature", want: 403, apply: withBearer(f.tokA, link(f.a.RenderKey, "-"))},
			{name: "signed by other space's secret", want: 403, apply: link(f.a.RenderKey, capability.V1LinkToken(f.b.RenderSecret, query))},
			{name: "A's signature under other space's key", want: 403, apply: link(f.b.RenderKey, capability.V1LinkToken(f.a.RenderSecret, query))},
			{name: "right signature", right: true, apply: link(f.a.RenderKey, capability.V1LinkToken(f.a.RenderSecret, query))},
		}
	case string(api.AuthFileSignature):
		sig := func(s string) func(r *request) {
			return func(r *request) {
				if s != "" {
					r.target += "?sig=" + url.QueryEscape(s)
				}
			}
		}
		return []cred{
			{name: "no signature", want: 404, apply: sig("")},
			{name: "malformed signature", want: 404, apply: sig("garbled")},
			{name: "A's token instead of a signature", want: 404, apply: bearer(f.tokA)},
			{name: "other file's signature", want: 404, apply: sig(f.fileSigB)},
			{name: "right signature", right: true, apply: sig(f.e.signerSig(f.fileKey))},
		}
	case uiKind(ui.AuthNone), uiKind(ui.AuthSession), uiKind(ui.AuthAction):
		bad := map[string]int{uiKind(ui.AuthNone): 0, uiKind(ui.AuthSession): 303, uiKind(ui.AuthAction): 403}[kind]
		cs := []cred{
			{name: "no session", want: bad, apply: f.cookie("", "")},
			{name: "garbled session cookie", want: bad, apply: f.cookie("garbage", f.csrfA)},
			{name: "forged session cookie", want: bad, apply: f.cookie(forge(f.cookieA), f.csrfA)},
			{name: "session of a revoked token", want: bad, apply: f.cookie(f.cookieRev, f.csrfRev)},
			{name: "other space's session", other: true, apply: f.cookie(f.cookieB, f.csrfB)},
			{name: "right session", right: true, apply: f.cookie(f.cookieA, f.csrfA)},
		}
		if kind == uiKind(ui.AuthAction) {
			cs = append(cs,
				cred{name: "right session without CSRF token", want: 403, asA: true, apply: f.cookie(f.cookieA, "")},
				cred{name: "right session with other session's CSRF token", want: 403, asA: true, apply: f.cookie(f.cookieA, f.csrfB)},
				cred{name: "right session from another origin", want: 403, asA: true, apply: func(r *request) {
					f.cookie(f.cookieA, f.csrfA)(r)
					r.header.Set("Origin", "https://evil.example")
				}},
				cred{name: "right session without Origin or Referer", want: 403, asA: true, apply: func(r *request) {
					f.cookie(f.cookieA, f.csrfA)(r)
					r.header.Del("Origin")
				}},
			)
		}
		return cs
	case uiKind(ui.AuthOrigin):
		login := func(tok, origin string) func(r *request) {
			return func(r *request) {
				r.body = url.Values{"token": {tok}}
				r.header.Set("Origin", origin)
			}
		}
		self := "http://" + host
		fromSelf := func(tok string) func(r *request) { return login(tok, self) }
		return append(f.wrongTokens(401, fromSelf),
			cred{name: "right token from another origin", want: 403, apply: login(f.tokA, "https://evil.example")},
			cred{name: "right token", right: true, apply: fromSelf(f.tokA)},
		)
	}
	return nil
}

// uiKind names a console route's kind of authentication apart from the
// API's (both have a "none").
func uiKind(a ui.Auth) string { return "ui-" + string(a) }

// cookie sets a console session cookie, the Origin of this host, and (on
// form posts) the CSRF token.
func (f *fixture) cookie(value, csrf string) func(r *request) {
	return func(r *request) {
		if value != "" {
			r.header.Set("Cookie", "rh_ui_session="+value)
		}
		if r.method == "POST" {
			r.header.Set("Origin", "http://"+host)
			if v, ok := r.body.(url.Values); ok && csrf != "" {
				v.Set("_csrf", csrf)
			}
		}
	}
}

// forge keeps a cookie's MAC but moves its expiry a year on.
func forge(cookie string) string {
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 {
		return cookie + "x"
	}
	return parts[0] + ".9999999999." + parts[2]
}

func sep(target string) string {
	if strings.Contains(target, "?") {
		return "&"
	}
	return "?"
}

// signerSig is the file URL signature of key, as the server makes it.
func (e *env) signerSig(key string) string {
	u, err := url.Parse(e.signer.URL(key))
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query().Get("sig")
}

// state is everything of space A a request could change, read through the
// store: the space (secrets, credits), tokens, templates, pages, webhook
// endpoints, deliveries, log entries, usage (renders succeeded and failed)
// and credit status (renders pending).
type state struct {
	Space      *store.Space
	Tokens     []*store.Token
	Templates  []*store.Template
	Pages      []*store.Page
	Endpoints  []*store.WebhookEndpoint
	Deliveries []*store.Delivery
	Logs       []*store.RequestLog
	Usage      store.Usage
	Credits    store.CreditStatus
}

func (f *fixture) state(t *testing.T) (string, *state) {
	t.Helper()
	ctx := context.Background()
	st, id := f.e.st, f.a.ID
	var s state
	var errs [9]error
	s.Space, errs[0] = st.GetSpace(ctx, id)
	s.Tokens, errs[1] = st.ListTokens(ctx, id)
	s.Templates, errs[2] = st.ListTemplates(ctx, id)
	s.Pages, errs[3] = st.ListPages(ctx, id)
	s.Endpoints, errs[4] = st.ListWebhookEndpoints(ctx, id)
	s.Deliveries, errs[5] = st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: id, Limit: 10000})
	s.Logs, errs[6] = st.ListRequestLogs(ctx, store.ListLogsParams{SpaceID: id, Limit: 10000})
	s.Usage, errs[7] = st.Usage(ctx, id)
	s.Credits, errs[8] = st.CreditStatus(ctx, id)
	for _, err := range errs {
		if err != nil {
			t.Fatalf("read state of space A: %v", err)
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), &s
}

// secrets are the strings of A's state that must never reach a response
// to anyone but A: ids, secrets, and the marker in its names and HTML.
func (s *state) secrets() []string {
	out := []string{marker, s.Space.ID, s.Space.WebhookSecret, s.Space.RenderSecret, s.Space.GetRenderToken}
	out = appendEach(out, s.Tokens, func(t *store.Token) []string { return []string{t.ID, t.Prefix} })
	out = appendEach(out, s.Templates, func(t *store.Template) []string { return []string{t.ID} })
	out = appendEach(out, s.Pages, func(p *store.Page) []string { return []string{p.ID} })
	out = appendEach(out, s.Endpoints, func(e *store.WebhookEndpoint) []string { return []string{e.ID, e.Secret} })
	out = appendEach(out, s.Deliveries, func(d *store.Delivery) []string { return []string{d.ID} })
	out = appendEach(out, s.Logs, func(l *store.RequestLog) []string { return []string{l.ID, l.RenderID} })
	return slices.DeleteFunc(out, func(v string) bool { return v == "" })
}

// appendEach appends the strings f gives of each item.
func appendEach[T any](out []string, items []T, f func(T) []string) []string {
	for _, it := range items {
		out = append(out, f(it)...)
	}
	return out
}

// knownFailing names the cells the matrix shows failing today that another
// change of issue 14 fixes; each is skipped by name, so the lead removes
// the entry when that change lands. Keep it empty otherwise.
var knownFailing = map[string]string{}

// TestAuthorizationMatrix tries every route of the API's and the
// console's route tables with every credential of its kind of
// authentication, and checks the status, that nothing of space A changed
// (read through the store before and after) and that no response to
// anyone but A carries A's ids, secrets or data.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	apiRoutes := f.e.api.Routes()
	consoleRoutes := f.e.console.Routes()

	type entry struct {
		key, pattern, method, auth string
		row                        authRow
	}
	var routes []entry
	seen := map[string]bool{}
	consoleMounts := 0
	for _, r := range apiRoutes {
		if r.Auth == api.AuthConsole {
			consoleMounts++
			if r.Pattern != "/ui/" {
				t.Errorf("console mounted at %q, want /ui/", r.Pattern)
			}
			continue
		}
		routes = append(routes, entry{key: routeKey(r.Method, r.Pattern), pattern: r.Pattern, method: r.Method, auth: string(r.Auth)})
	}
	if consoleMounts != 1 {
		t.Errorf("the API mounts the console %d times, want once", consoleMounts)
	}
	for _, r := range consoleRoutes {
		routes = append(routes, entry{key: routeKey(r.Method, r.Pattern), pattern: r.Pattern, method: r.Method, auth: uiKind(r.Auth)})
	}
	for i := range routes {
		rows := apiRows
		if strings.HasPrefix(routes[i].auth, "ui-") {
			rows = consoleRows
		}
		row, ok := rows[routes[i].key]
		if !ok {
			t.Errorf("route %s has no row in the authorization matrix (add one to apiRows or consoleRows)", routes[i].key)
			continue
		}
		seen[routes[i].key] = true
		routes[i].row = row
	}
	for _, rows := range []map[string]authRow{apiRows, consoleRows} {
		for k := range rows {
			if !seen[k] {
				t.Errorf("the authorization matrix has a row for %s, which is no route", k)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	cells, skipped := 0, 0
	named := map[string]bool{}
	for _, r := range routes {
		if r.row.right == 0 {
			t.Errorf("route %s: its row gives no status for the right credential", r.key)
			continue
		}
		creds := f.creds(r.auth)
		if len(creds) == 0 {
			t.Fatalf("route %s: auth %q has no credentials in the matrix", r.key, r.auth)
		}
		for _, c := range creds {
			cells++
			name := r.key + "/" + c.name
			named[name] = true
			t.Run(name, func(t *testing.T) {
				if why, ok := knownFailing[name]; ok {
					skipped++
					t.Skip(why)
				}
				f.e.t = t
				f.try(t, r.method, r.pattern, r.row, c)
			})
		}
	}
	for name := range knownFailing {
		if !named[name] {
			t.Errorf("knownFailing names %q, which is no cell of the matrix", name)
		}
	}
	t.Logf("authorization matrix: %d routes (%d API, %d console), %d cells, %d skipped as known failing",
		len(routes), len(apiRoutes)-consoleMounts, len(consoleRoutes), cells, skipped)
}

func routeKey(method, pattern string) string {
	return cmp.Or(method, "ANY") + " " + pattern
}

// try sends one cell's request and checks it.
func (f *fixture) try(t *testing.T, method, pattern string, row authRow, c cred) {
	target := f.fill(t, pattern)
	req := request{method: cmp.Or(method, "GET"), target: target, header: http.Header{}}
	if pattern == "/" || pattern == "/ui/" {
		req.target = strings.TrimSuffix(pattern, "/") + "/no-such-route"
	}
	if row.body != nil {
		req.body = row.body(f)
	}
	c.apply(&req)

	sent := req.target + fmt.Sprint(req.body)
	if c.other {
		f.sentByB.WriteString(sent + "\n")
	}
	before, st := f.state(t)
	renders, urlRenders := f.e.browser.renders.Load(), f.e.browser.urlRenders.Load()
	res := f.e.do(req)
	after, _ := f.state(t)

	if c.right {
		if res.Status != row.right {
			t.Fatalf("%s %s with the right credential: %d, want %d: %.300s", req.method, req.target, res.Status, row.right, res.Body)
		}
		return
	}
	want := c.want
	if c.other {
		want = row.other
		if want == 0 && strings.Contains(pattern, "{") && !strings.HasPrefix(pattern, "/ui/static/") && pattern != "/ui/{$}" {
			want = 404
		}
	}
	switch {
	case want != 0 && res.Status != want:
		t.Errorf("%s %s: %d, want %d: %.300s", req.method, req.target, res.Status, want, res.Body)
	case want == 0 && res.Status >= 500:
		t.Errorf("%s %s: %d: %.300s", req.method, req.target, res.Status, res.Body)
	}
	if res.Status == 303 && !c.other && want == 303 {
		if loc := res.Header.Get("Location"); loc != "/ui/login" {
			t.Errorf("redirected to %q, want /ui/login", loc)
		}
	}
	if before != after {
		t.Errorf("%s %s (%d) changed space A:\nbefore %s\nafter  %s", req.method, req.target, res.Status, before, after)
	}
	if !c.other {
		if n := f.e.browser.renders.Load() - renders; n != 0 {
			t.Errorf("%s %s reached the browser (%d renders)", req.method, req.target, n)
		}
		if n := f.e.browser.urlRenders.Load() - urlRenders; n != 0 {
			t.Errorf("%s %s reached the browser (%d URL renders)", req.method, req.target, n)
		}
	}
	if c.asA {
		return
	}
	body := string(res.Body) + fmt.Sprint(res.Header)
	for _, s := range st.secrets() {
		if strings.Contains(sent, s) || strings.Contains(f.sentByB.String(), s) {
			continue
		}
		if strings.Contains(body, s) {
			t.Errorf("%s %s (%d) answered with space A's %q: %.300s", req.method, req.target, res.Status, s, res.Body)
		}
	}
}
