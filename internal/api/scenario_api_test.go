package api_test

import (
	"strings"
	"testing"
)

// The messages of the errors most routes share.
const (
	msgToken    = "a valid API token is required: Authorization: Bearer rh_…"
	msgNotFound = "no such resource in this space"
	msgTooLarge = "request body is larger than 10485760 bytes"
)

// tooLarge is a JSON body one byte over the default body limit.
func tooLarge() []byte {
	const limit = 10 << 20
	head, tail := `{"name":"`, `"}`
	return []byte(head + strings.Repeat("a", limit+1-len(head)-len(tail)) + tail)
}

// A render of A's page, recorded and answered: the render row, its spooled
// bytes, its log entry, the store/log/credits callbacks and the delivery
// to A's one endpoint, each with its job.
var renderEffects = map[string]int{
	"renders": 1, "render_spool": 1, "request_logs": 1, "webhook_deliveries": 1,
	"job:render.store": 1, "job:render.log": 1, "job:render.credits": 1, "job:webhook.deliver": 1,
}

// A render answered as JSON is stored before the answer: no spool, no
// store job.
var jsonRenderEffects = map[string]int{
	"renders": 1, "request_logs": 1, "webhook_deliveries": 1,
	"job:render.log": 1, "job:render.credits": 1, "job:webhook.deliver": 1,
}

// A refused request of a logged route whose space is known writes its
// log entry, and nothing else.
var logOnly = map[string]int{"request_logs": 1}

// The JSON endpoints' input errors, tried on one route each kind of body
// decoding (decodeJSON, render.ParseBody, render.ParseV1Body).

// healthScenarios: /healthz, files, the not-found answer, wrong methods.
var healthScenarios = []scenario{
	{name: "healthz", method: "GET", url: "/healthz", status: 200,
		contains: []string{`{"sandbox":false,"status":"ok","version":""}`},
		headers:  map[string]string{"Content-Type": "application/json", "Cache-Control": "-"}},
	{name: "healthz takes no token, and ignores a bad one", method: "GET", url: "/healthz", auth: asMalformed, status: 200,
		contains: []string{`"status":"ok"`}},
	{name: "healthz by POST", method: "POST", url: "/healthz", status: 404,
		code: "not_found", message: "no route for POST /healthz"},
	{name: "unknown path", method: "GET", url: "/nope", auth: asA, status: 404,
		code: "not_found", message: "no route for GET /nope"},
	{name: "unknown API path", method: "GET", url: "/api/nope", auth: asA, status: 404,
		code: "not_found", message: "no route for GET /api/nope"},

	{name: "file with its signature", method: "GET", url: "/files/{fileKey}?sig={fileSig}", status: 200,
		headers: map[string]string{"Content-Type": "image/png", "Cache-Control": "private, max-age=31536000, immutable",
			"Content-Length": "*", "Accept-Ranges": "bytes"}},
	{name: "file without signature", method: "GET", url: "/files/{fileKey}", status: 404,
		code: "not_found", message: "no such file"},
	{name: "file with another file's signature", method: "GET", url: "/files/{fileKey}?sig={fileSigB}", status: 404,
		code: "not_found", message: "no such file"},
	{name: "file with a token instead of a signature", method: "GET", url: "/files/{fileKey}", auth: asA, status: 404,
		code: "not_found", message: "no such file"},
	{name: "file that does not exist", method: "GET", url: "/files/spc_x/nope.png?sig=00", status: 404,
		code: "not_found", message: "no such file"},
	{name: "file by POST", method: "POST", url: "/files/{fileKey}?sig={fileSig}", status: 404,
		code: "not_found", message: "no route for POST /files/{fileKey}"},
}

// renderScenarios: page renders (GET and POST) and their status. They run
// before the webhook scenarios add endpoints to space A, so each render
// makes one delivery, and before the rotations, so A's first render
// secret and GET-render token are the current ones.
var renderScenarios = []scenario{
	{name: "GET render with A's token", method: "GET", url: "/api/render/{page}", auth: asA, status: 200,
		headers: map[string]string{"Content-Type": "image/png", "Cache-Control": "no-store", "X-Render-Id": "*",
			"X-Render-Time-Ms": "*", "Content-Length": "*", "Content-Disposition": "*"},
		effects: renderEffects},
	{name: "GET render with A's gt", method: "GET", url: "/api/render/{page}?gt={gt}", status: 200,
		headers: map[string]string{"Content-Type": "image/png"}, effects: renderEffects},
	{name: "GET render with A's sig", method: "GET", url: "/api/render/{page}?sig={pageSig}", status: 200,
		headers: map[string]string{"Content-Type": "image/png"}, effects: renderEffects},
	{name: "GET render as JSON", method: "GET", url: "/api/render/{page}?output=json&format=pdf", auth: asA, status: 200,
		contains: []string{`"pageId":"{page}"`, `"templateId":"{tpl}"`, `"format":"pdf"`, `"status":"succeeded"`, `"file":{"url":"http://renderhook.test/files/`},
		headers:  map[string]string{"Content-Type": "application/json", "X-Render-Id": "*"},
		effects:  jsonRenderEffects},
	{name: "GET render without token of a token-only page", method: "GET", url: "/api/render/{page}", status: 401,
		code: "unauthorized", message: msgToken},
	{name: "GET render without token of an unknown page", method: "GET", url: "/api/render/pg_nope", status: 401,
		code: "unauthorized", message: msgToken},
	{name: "GET render with a revoked token", method: "GET", url: "/api/render/{page}", auth: asRevoked, status: 401,
		code: "unauthorized", message: msgToken},
	{name: "GET render with a malformed token", method: "GET", url: "/api/render/{page}", auth: asMalformed, status: 401,
		code: "unauthorized", message: msgToken},
	{name: "GET render of A's page with B's token", method: "GET", url: "/api/render/{page}", auth: asB, status: 404,
		code: "page_not_found", message: "page not found: {page}", effects: logOnly},
	{name: "GET render with a garbled sig", method: "GET", url: "/api/render/{page}?sig=deadbeef", status: 403,
		code: "invalid_signature", message: "bad signature: the sig does not match this page and query: sign the page id and the query string without sig, exactly as sent"},
	{name: "GET render with a garbled gt", method: "GET", url: "/api/render/{page}?gt=nope", status: 401,
		code: "unauthorized", message: msgToken},
	{name: "GET render with an unknown parameter", method: "GET", url: "/api/render/{page}?nope=1", auth: asA, status: 400,
		code: "invalid_request", message: `unknown query parameter "nope"`, effects: logOnly},
	{name: "GET render with a bad format", method: "GET", url: "/api/render/{page}?format=gif", auth: asA, status: 400,
		code: "invalid_request", message: `format "gif" is not one of png, jpeg, webp, pdf`, effects: logOnly},
	{name: "GET render with a bad quality", method: "GET", url: "/api/render/{page}?format=jpeg&quality=0", auth: asA, status: 400,
		code: "invalid_request", message: "quality must be an integer from 1 to 100", effects: logOnly},
	{name: "GET render of an unpublished page", method: "GET", url: "/api/render/{unpublished}", auth: asA, status: 422,
		code: "page_not_published", message: "page is not published: page {unpublished} has no published version; publish it or pass draft=true", effects: logOnly},
	{name: "GET render of a page that does not exist", method: "GET", url: "/api/render/pg_nope", auth: asA, status: 404,
		code: "page_not_found", message: "page not found: pg_nope", effects: logOnly},
	{name: "GET render with a tweak of the wrong type", method: "GET", url: "/api/render/{page}?nope=x", auth: asA, status: 400,
		code: "invalid_request", message: `unknown query parameter "nope"`, effects: logOnly},
	{name: "PUT render", method: "PUT", url: "/api/render/{page}", auth: asA, status: 404,
		code: "not_found", message: "no route for PUT /api/render/{page}"},

	{name: "POST render answers JSON by default", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":"{page}"}`, status: 200,
		headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "-", "X-Render-Id": "*"},
		contains: []string{`"requestId":"req_`, `"renderId":"`, `"file":{"url":"http://renderhook.test/files/`},
		effects:  jsonRenderEffects},
	{name: "POST render, binary", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":"{page}","binary":true}`, status: 200,
		headers: map[string]string{"Content-Type": "image/png", "Cache-Control": "no-store", "X-Render-Id": "*"},
		effects: renderEffects},
	{name: "POST render, JSON", method: "POST", url: "/api/render", auth: asA,
		body: `{"pageId":"{page}","output":"json","tweaks":{"title":"tweaked"}}`, status: 200,
		contains: []string{`"pageId":"{page}"`, `"format":"png"`, `"width":100`, `"height":100`, `"status":"succeeded"`},
		effects:  jsonRenderEffects},
	{name: "POST render, async", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":"{page}","async":true}`, status: 202,
		contains: []string{`"status":"queued"`, `"statusUrl":"http://renderhook.test/api/renders/`},
		headers:  map[string]string{"X-Render-Id": "*", "Content-Type": "application/json"},
		effects:  map[string]int{"renders": 1, "request_logs": 1, "job:render.async": 1}},
	{name: "POST render without token", method: "POST", url: "/api/render", body: `{"pageId":"{page}"}`, status: 401,
		code: "unauthorized", message: msgToken},
	{name: "POST render with a revoked token", method: "POST", url: "/api/render", auth: asRevoked, body: `{"pageId":"{page}"}`, status: 401,
		code: "unauthorized", message: msgToken},
	{name: "POST render of A's page with B's token", method: "POST", url: "/api/render", auth: asB, body: `{"pageId":"{page}"}`, status: 404,
		code: "page_not_found", message: "page not found: {page}", effects: logOnly},
	{name: "POST render, malformed JSON", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":`, status: 400,
		code: "invalid_request", message: "malformed JSON body: unexpected EOF", effects: logOnly},
	{name: "POST render, unknown field", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":"{page}","nope":1}`, status: 400,
		code: "invalid_request", message: `malformed JSON body: json: unknown field "nope"`, effects: logOnly},
	{name: "POST render, wrong type", method: "POST", url: "/api/render", auth: asA, body: `{"pageId":7}`, status: 400,
		code: "invalid_request", message: `malformed JSON body: field "pageId" must be string`, effects: logOnly},
	{name: "POST render, no pageId", method: "POST", url: "/api/render", auth: asA, body: `{}`, status: 400,
		code: "invalid_request", message: "pageId is required", effects: logOnly},
	{name: "POST render, async with output", method: "POST", url: "/api/render", auth: asA,
		body: `{"pageId":"{page}","async":true,"output":"binary"}`, status: 400,
		code: "invalid_request", message: "an async render answers with its status, not the file: drop binary/output", effects: logOnly},
	{name: "POST render, webhook_url to a private address", method: "POST", url: "/api/render", auth: asA,
		body: `{"pageId":"{page}","webhook_url":"http://127.0.0.1/hook"}`, status: 400,
		code: "invalid_request", message: "webhook_url: forbidden address: 127.0.0.1 is loopback", effects: logOnly},
	{name: "POST render, too large", method: "POST", url: "/api/render", auth: asA, rawBody: tooLarge, status: 413,
		code: "body_too_large", message: msgTooLarge, effects: logOnly},
	{name: "GET /api/render", method: "GET", url: "/api/render", auth: asA, status: 404,
		code: "not_found", message: "no route for GET /api/render"},

	{name: "render status", method: "GET", url: "/api/renders/{render}", auth: asA, status: 200,
		contains: []string{`"renderId":"{render}"`, `"status":"succeeded"`, `"renderUrl":"http://renderhook.test/files/`, `"error":null`, `"meta":{"endTime":`}},
	{name: "render status of B's render", method: "GET", url: "/api/renders/{renderB}", auth: asA, status: 404,
		code: "not_found", message: msgNotFound},
	{name: "render status of no render", method: "GET", url: "/api/renders/rnd_nope", auth: asA, status: 404,
		code: "not_found", message: msgNotFound},
	{name: "render status without token", method: "GET", url: "/api/renders/{render}", status: 401,
		code: "unauthorized", message: msgToken},
	{name: "render status by DELETE", method: "DELETE", url: "/api/renders/{render}", auth: asA, status: 404,
		code: "not_found", message: "no route for DELETE /api/renders/{render}"},
}

func TestScenarios(t *testing.T) {
	f := newScenarioFixture(t)
	for _, table := range []struct {
		name string
		rows []scenario
	}{
		{"health", healthScenarios},
		{"render", renderScenarios},
	} {
		t.Run(table.name, func(t *testing.T) { runScenarios(t, f, table.rows) })
	}
}
