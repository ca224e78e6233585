package api_test

import (
	"slices"
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
// bytes, its log entry, its follow-up job (store, log, credits) and the
// delivery to A's one endpoint with its job.
var renderEffects = map[string]int{
	"renders": 1, "render_spool": 1, "request_logs": 1, "webhook_deliveries": 1,
	"job:render.followup": 1, "job:webhook.deliver": 1,
}

// A render answered as JSON is stored before the answer: no spool.
var jsonRenderEffects = map[string]int{
	"renders": 1, "request_logs": 1, "webhook_deliveries": 1,
	"job:render.followup": 1, "job:webhook.deliver": 1,
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
	{name: "openapi document", method: "GET", url: "/openapi.json", status: 200,
		contains: []string{`"openapi": "3.1`, `"/api/render/{pageId}"`, `"/v1/render/sync"`},
		headers:  map[string]string{"Content-Type": "application/json"}},
	{name: "openapi document takes no token, and ignores a bad one", method: "GET", url: "/openapi.json", auth: asMalformed, status: 200,
		contains: []string{`"openapi": "3.1`}},
	{name: "openapi document by POST", method: "POST", url: "/openapi.json", status: 404,
		code: "not_found", message: "no route for POST /openapi.json"},
	{name: "reference page", method: "GET", url: "/docs", status: 200,
		contains: []string{"/api/render/{pageId}"}, notContains: []string{"<script", "<link", "src=\"http"},
		headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": "default-src 'none'*"}},
	{name: "reference page by POST", method: "POST", url: "/docs", status: 404,
		code: "not_found", message: "no route for POST /docs"},
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
		headers:  map[string]string{"Content-Type": "application/json", "Cache-Control": "-", "X-Render-Id": "*"},
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
	{name: "render status of no render", method: "GET", url: "/api/renders/rnd_nope", auth: asA, status: 404,
		code: "not_found", message: msgNotFound},
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
		{"v1", v1Scenarios},
		{"webhooks", webhookScenarios},
		{"deliveries listing", listingScenarios("deliveries", "/api/webhook-deliveries", "requestId")},
		{"logs listing", listingScenarios("logs", "/api/logs", "renderId")},
		{"secrets", secretScenarios},
		{"storage", storageScenarios},
		{"logs", logScenarios},
		{"resources", resourceScenarios},
		{"refusals", refusalScenarios},
	} {
		t.Run(table.name, func(t *testing.T) { runScenarios(t, f, table.rows) })
	}
}

// A v1 render, synchronous: stored before the answer.
var v1Effects = map[string]int{
	"renders": 1, "request_logs": 1, "webhook_deliveries": 1,
	"job:render.followup": 1, "job:webhook.deliver": 1,
}

// v1Scenarios: the Urlbox-compatible API, in its own error dialect.
var v1Scenarios = []scenario{
	{name: "sync render", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>sync</p>","format":"png"}`, status: 200,
		contains: []string{`"renderUrl":"http://renderhook.test/files/`, `"size":`, `"renderTime":`},
		headers:  map[string]string{"X-Render-Id": "*", "X-Renderhook-Cache": "miss", "Content-Type": "application/json"},
		effects:  v1Effects},
	{name: "sync render, skip_webhooks", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>skip</p>","skip_webhooks":true}`, status: 200,
		contains: []string{`"renderUrl":"http://renderhook.test/files/`},
		// Stored, logged and billed as any render; no webhook delivery, no job to send one.
		effects: map[string]int{"renders": 1, "request_logs": 1, "job:render.followup": 1}},
	{name: "sync render, custom_id", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>id</p>","custom_id":"order-7"}`, status: 200,
		contains: []string{`"customId":"order-7"`}, effects: v1Effects},
	{name: "sync render, response_type none", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>none</p>","response_type":"none"}`, status: 200,
		headers: map[string]string{"Content-Length": "0", "X-Render-Id": "*"}, notContains: []string{"renderUrl"}, effects: v1Effects},
	{name: "sync render, bad response_type", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>x</p>","response_type":"xml"}`, status: 400,
		code: "InvalidOptions", message: `option "response_type" must be binary, base64, json, jsondebug or none`, effects: logOnly},
	{name: "sync render, a stay-out option", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>x</p>","gpu":true}`, status: 400,
		code: "InvalidOptions", message: `option "gpu" is a Urlbox option renderhook does not support: renderhook's Chromium composites on the CPU; there is no GPU to ask for`, effects: logOnly},
	{name: "sync render without token", method: "POST", url: "/v1/render/sync", body: `{"html":"<p>x</p>"}`, status: 401,
		code: "NoApiKeySupplied", message: "no API key was supplied: send Authorization: Bearer rh_…"},
	{name: "sync render with a revoked token", method: "POST", url: "/v1/render/sync", auth: asRevoked, body: `{"html":"<p>x</p>"}`, status: 401,
		code: "ApiKeyNotFound", message: "the API key was not found (or is revoked)"},
	{name: "sync render with a malformed token", method: "POST", url: "/v1/render/sync", auth: asMalformed, body: `{"html":"<p>x</p>"}`, status: 401,
		code: "ApiKeyNotFound", message: "the API key was not found (or is revoked)"},
	{name: "sync render, malformed JSON", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":`, status: 400,
		code: "InvalidOptions", message: "the body must be a JSON object of options: unexpected EOF", effects: logOnly},
	{name: "sync render, unknown option", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>x</p>","nope":1}`, status: 400,
		code: "InvalidOptions", message: `option "nope" is not a known option`, effects: logOnly},
	{name: "sync render, neither url nor html", method: "POST", url: "/v1/render/sync", auth: asA, body: `{}`, status: 400,
		code: "InvalidOptions", message: `option "url" or option "html" is required`, effects: logOnly},
	{name: "sync render, bad format", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"html":"<p>x</p>","format":"gif"}`, status: 400,
		code: "InvalidOptions", message: `option "format" "gif" is not one of png, jpeg, jpg, webp, avif, pdf, html, mhtml, md, mp4, webm`, effects: logOnly},
	{name: "sync render of a private URL", method: "POST", url: "/v1/render/sync", auth: asA, body: `{"url":"http://127.0.0.1/"}`, status: 400,
		code: "InvalidUrl", message: `option "url": forbidden address: 127.0.0.1 is loopback`, effects: logOnly},
	{name: "sync render, webhook_url to a private address", method: "POST", url: "/v1/render/sync", auth: asA,
		body: `{"html":"<p>x</p>","webhook_url":"http://127.0.0.1/hook"}`, status: 400,
		code: "InvalidOptions", message: `option "webhook_url": forbidden address: 127.0.0.1 is loopback`, effects: logOnly},
	{name: "sync render through a proxy at the metadata address", method: "POST", url: "/v1/render/sync", auth: asA,
		body: `{"html":"<p>x</p>","proxy":"http://user:pass@169.254.169.254:80"}`, status: 400,
		code: "InvalidOptions", message: `option "proxy": forbidden address: 169.254.169.254 is the cloud metadata address (link-local)`, effects: logOnly},
	{name: "sync render, too large", method: "POST", url: "/v1/render/sync", auth: asA, rawBody: tooLarge, status: 413,
		code: "body_too_large", message: msgTooLarge, effects: logOnly},
	{name: "sync render by GET", method: "GET", url: "/v1/render/sync", auth: asA, status: 404,
		code: "RenderNotFound", message: "no such render in this space"},

	{name: "async render", method: "POST", url: "/v1/render/async", auth: asA, body: `{"html":"<p>async</p>"}`, status: 201,
		contains:    []string{`"status":"waiting"`, `"statusUrl":"http://renderhook.test/v1/render/`},
		notContains: []string{`"renderUrl"`},
		headers:     map[string]string{"X-Render-Id": "*", "X-Renderhook-Cache": "miss"},
		effects:     map[string]int{"renders": 1, "request_logs": 1, "job:render.url": 1}},
	{name: "async render at /v1/render", method: "POST", url: "/v1/render", auth: asA, body: `{"html":"<p>async 2</p>"}`, status: 201,
		contains: []string{`"status":"waiting"`}, headers: map[string]string{"X-Renderhook-Cache": "miss"},
		effects: map[string]int{"renders": 1, "request_logs": 1, "job:render.url": 1}},
	{name: "async render, cache hit", method: "POST", url: "/v1/render/async", auth: asA, body: `{"html":"<p>sync</p>","format":"png","ttl":3600}`, status: 201,
		contains: []string{`"status":"succeeded"`, `"renderUrl":"http://renderhook.test/files/`},
		headers:  map[string]string{"X-Renderhook-Cache": "hit"},
		// Today an async cache hit notifies the space's endpoints (a sync
		// one, below, does not).
		effects: map[string]int{"request_logs": 1, "webhook_deliveries": 1, "job:webhook.deliver": 1}},
	{name: "async render, skip_webhooks and custom_id", method: "POST", url: "/v1/render/async", auth: asA,
		body: `{"html":"<p>skip</p>","format":"png","ttl":3600,"skip_webhooks":true,"custom_id":"order-9"}`, status: 201,
		contains: []string{`"status":"succeeded"`, `"customId":"order-9"`}, headers: map[string]string{"X-Renderhook-Cache": "hit"},
		// The same cache hit as above, without its webhook.
		effects: logOnly},
	{name: "async render, response_type binary", method: "POST", url: "/v1/render/async", auth: asA,
		body: `{"html":"<p>x</p>","response_type":"binary"}`, status: 400,
		code: "InvalidOptions", message: `option "response_type" must be json for an async render (its answer is the render's status)`, effects: logOnly},
	{name: "async render, download", method: "POST", url: "/v1/render", auth: asA, body: `{"html":"<p>x</p>","download":"a.png"}`, status: 400,
		code: "InvalidOptions", message: `option "download" applies to /v1/render/sync and render links, whose answer is the file`, effects: logOnly},
	{name: "async render without token", method: "POST", url: "/v1/render/async", body: `{"html":"<p>x</p>"}`, status: 401,
		code: "NoApiKeySupplied", message: "no API key was supplied: send Authorization: Bearer rh_…"},
	{name: "async render, unknown option", method: "POST", url: "/v1/render", auth: asA, body: `{"html":"<p>x</p>","nope":1}`, status: 400,
		code: "InvalidOptions", message: `option "nope" is not a known option`, effects: logOnly},
	{name: "async render, too large", method: "POST", url: "/v1/render", auth: asA, rawBody: tooLarge, status: 413,
		code: "body_too_large", message: msgTooLarge, effects: logOnly},

	{name: "render status", method: "GET", url: "/v1/render/{v1Render}", auth: asA, status: 200,
		contains: []string{`"renderId":"{v1Render}"`, `"status":"succeeded"`, `"renderUrl":"http://renderhook.test/files/`}},
	{name: "render status by POST (a sync render's 307, followed)", method: "POST", url: "/v1/render/{v1Render}", auth: asA,
		body: `{"html":"<p>the body is not read</p>"}`, status: 200,
		contains: []string{`"renderId":"{v1Render}"`, `"status":"succeeded"`}},
	{name: "render status by POST without token", method: "POST", url: "/v1/render/{v1Render}", status: 401,
		code: "NoApiKeySupplied", message: "no API key was supplied: send Authorization: Bearer rh_…"},
	{name: "render status of B's render", method: "GET", url: "/v1/render/{renderB}", auth: asA, status: 404,
		code: "RenderNotFound", message: "no such render in this space"},
	{name: "render status of A's render with B's token", method: "GET", url: "/v1/render/{v1Render}", auth: asB, status: 404,
		code: "RenderNotFound", message: "no such render in this space"},
	{name: "render status without token", method: "GET", url: "/v1/render/{v1Render}", status: 401,
		code: "NoApiKeySupplied", message: "no API key was supplied: send Authorization: Bearer rh_…"},

	{name: "signed link", method: "GET", url: "/v1/{renderKey}/{sigA}/png?html=%3Cp%3Esigned%3C%2Fp%3E", status: 200,
		headers: map[string]string{"Content-Type": "image/png", "Cache-Control": "public, max-age=2592000", "ETag": "*",
			"X-Render-Id": "*", "X-Renderhook-Cache": "miss"},
		effects: v1Effects},
	{name: "signed link, cached and not modified", method: "GET", url: "/v1/{renderKey}/{sigA}/png?html=%3Cp%3Esigned%3C%2Fp%3E",
		header: map[string]string{"If-None-Match": "*"}, status: 304,
		headers: map[string]string{"X-Renderhook-Cache": "hit", "ETag": "*", "Content-Type": "-"}, effects: logOnly},
	{name: "signed link, unknown render key", method: "GET", url: "/v1/rk_nope/{sigA}/png?html=x", status: 401,
		code: "ApiKeyNotFound", message: "the render key was not found"},
	{name: "signed link, bad signature", method: "GET", url: "/v1/{renderKey}/deadbeef/png?html=x", status: 403,
		code: "InvalidSignature", message: "the token does not match the query: sign the query string exactly as sent"},
	{name: "signed link, signed by B", method: "GET", url: "/v1/{renderKey}/{sigB}/png?html=x", status: 403,
		code: "InvalidSignature", message: "the token does not match the query: sign the query string exactly as sent"},
	{name: "signed link, malformed query", method: "GET", url: "/v1/{renderKey}/{sigA}/png?html=%zz", status: 400,
		code: "InvalidOptions", message: "the query string is malformed", effects: logOnly},
	{name: "signed link, bad format", method: "GET", url: "/v1/{renderKey}/{sigA}/gif?html=x", status: 400,
		code: "InvalidOptions", message: `option "format" "gif" is not one of png, jpeg, jpg, webp, avif, pdf, html, mhtml, md, mp4, webm`, effects: logOnly},
	{name: "signed link, private URL", method: "GET", url: "/v1/{renderKey}/{sigA}/png?url=http%3A%2F%2F127.0.0.1%2F", status: 400,
		code: "InvalidUrl", message: `option "url": forbidden address: 127.0.0.1 is loopback`, effects: logOnly},
}

// listingScenarios are the refusals the paged listings (logs and
// deliveries) share: limit and cursor, parameters they do not know (one a
// filter of another listing), and no token.
func listingScenarios(what, path, otherFilter string) []scenario {
	bad := func(name, query, message string) scenario {
		return scenario{name: what + ", " + name, method: "GET", url: path + "?" + query, auth: asA, status: 400,
			code: "invalid_request", message: message}
	}
	return []scenario{
		bad("limit 0", "limit=0", "limit must be from 1 to 200"),
		bad("limit over 200", "limit=201", "limit must be from 1 to 200"),
		bad("limit not a number", "limit=ten", "limit must be from 1 to 200"),
		bad("cursor not base64", "cursor=%25", "cursor is not one this API returned"),
		bad("cursor without id", "cursor=MTIz", "cursor is not one this API returned"),
		bad("unknown parameter", "nope=1", `unknown query parameter "nope"`),
		bad("a filter it does not have", otherFilter+"=x", `unknown query parameter "`+otherFilter+`"`),
		{name: what + " without token", method: "GET", url: path, status: 401, code: "unauthorized", message: msgToken},
	}
}

// webhookScenarios: endpoints, the space's secrets, deliveries. They run
// after the renders (which deliver to A's one endpoint) and add
// endpoints of their own.
var webhookScenarios = []scenario{
	{name: "create endpoint", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":" https://hooks.example.com/created ","description":"created","events":["render.failed"]}`, status: 201,
		contains: []string{`"url":"https://hooks.example.com/created"`, `"description":"created"`, `"events":["render.failed"]`,
			`"enabled":true`, `"secret":"whsec_`,
			// Created and patched endpoints carry no traffic stats.
			`"breaker":"","inFlight":0,"capped":0,"parked":0}`},
		notContains: []string{`"disabledReason"`},
		headers:     map[string]string{"Content-Type": "application/json"},
		effects:     map[string]int{"webhook_endpoints": 1}},
	{name: "create endpoint disabled", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/off","enabled":false}`, status: 201,
		contains: []string{`"enabled":false`, `"disabledReason":"disabled through the API"`, `"events":[]`},
		effects:  map[string]int{"webhook_endpoints": 1}},
	{name: "create endpoint, all events", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/all","events":["*"]}`, status: 201,
		contains: []string{`"events":["*"]`}, effects: map[string]int{"webhook_endpoints": 1}},
	{name: "create endpoint, malformed JSON", method: "POST", url: "/api/webhooks", auth: asA, body: `{"url":}`, status: 400,
		code: "invalid_json", message: "syntax error at byte 8"},
	{name: "create endpoint, empty body", method: "POST", url: "/api/webhooks", auth: asA, status: 400,
		code: "invalid_json", message: "empty body"},
	{name: "create endpoint, unknown field", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/x","nope":1}`, status: 400,
		code: "invalid_json", message: `json: unknown field "nope"`},
	{name: "create endpoint, wrong type", method: "POST", url: "/api/webhooks", auth: asA, body: `{"url":1}`, status: 400,
		code: "invalid_json", message: `field "url" must be string`},
	{name: "create endpoint, trailing data", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/x"} {}`, status: 400,
		code: "invalid_json", message: "trailing data after the JSON object"},
	{name: "create endpoint without url", method: "POST", url: "/api/webhooks", auth: asA, body: `{"description":"x"}`, status: 422,
		code: "validation_failed", message: "url is required"},
	{name: "create endpoint with a blank url", method: "POST", url: "/api/webhooks", auth: asA, body: `{"url":"  "}`, status: 422,
		code: "validation_failed", message: "url is required"},
	{name: "create endpoint to a private address", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"http://127.0.0.1/hook"}`, status: 422,
		code: "validation_failed", message: "url: forbidden address: 127.0.0.1 is loopback"},
	{name: "create endpoint, not http", method: "POST", url: "/api/webhooks", auth: asA, body: `{"url":"ftp://hooks.example.com/"}`, status: 422,
		code: "validation_failed", message: `url: invalid URL: scheme "ftp" is not http or https`},
	{name: "create endpoint, unknown event", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/x","events":["nope"]}`, status: 422,
		code: "validation_failed", message: `unknown event "nope" (known: render.succeeded, render.failed, webhook.test)`},
	{name: "create endpoint, description too long", method: "POST", url: "/api/webhooks", auth: asA,
		body: `{"url":"https://hooks.example.com/x","description":"` + strings.Repeat("d", 501) + `"}`, status: 422,
		code: "validation_failed", message: "description is at most 500 characters"},
	{name: "PUT endpoints", method: "PUT", url: "/api/webhooks", auth: asA, body: `{}`, status: 404,
		code: "not_found", message: "no route for PUT /api/webhooks"},

	{name: "list endpoints", method: "GET", url: "/api/webhooks", auth: asA, status: 200,
		contains:    []string{`"data":[`, `"id":"{endpoint}"`, `"breaker":"closed"`, `"inFlight":0`},
		notContains: []string{"{endpointB}", `"secret"`}},
	{name: "list endpoints of B", method: "GET", url: "/api/webhooks", auth: asB, status: 200,
		contains: []string{`"id":"{endpointB}"`}, notContains: []string{"{endpoint}", marker}},
	{name: "get endpoint", method: "GET", url: "/api/webhooks/{endpoint}", auth: asA, status: 200,
		contains: []string{`"id":"{endpoint}"`, `"url":"https://hooks.example.com/a"`, `"breaker":"closed"`}, notContains: []string{`"secret"`}},
	{name: "get no endpoint", method: "GET", url: "/api/webhooks/whe_nope", auth: asA, status: 404,
		code: "not_found", message: msgNotFound},
	{name: "patch endpoint", method: "PATCH", url: "/api/webhooks/{fresh-endpoint}", auth: asA,
		body: `{"description":"patched","enabled":false}`, status: 200,
		contains:    []string{`"description":"patched"`, `"enabled":false`, `"disabledReason":"disabled through the API"`, `"url":"https://hooks.example.com/fresh"`},
		notContains: []string{`"secret"`, `"breaker":"closed"`},
		changed:     []string{"webhook_endpoints"}},
	{name: "patch endpoint, bad url", method: "PATCH", url: "/api/webhooks/{endpoint}", auth: asA, body: `{"url":" "}`, status: 422,
		code: "validation_failed", message: "url is required"},
	{name: "patch endpoint, unknown event", method: "PATCH", url: "/api/webhooks/{endpoint}", auth: asA, body: `{"events":["nope"]}`, status: 422,
		code: "validation_failed", message: `unknown event "nope" (known: render.succeeded, render.failed, webhook.test)`},
	{name: "patch endpoint, unknown field", method: "PATCH", url: "/api/webhooks/{endpoint}", auth: asA, body: `{"secret":"x"}`, status: 400,
		code: "invalid_json", message: `json: unknown field "secret"`},
	{name: "patch endpoint, malformed JSON", method: "PATCH", url: "/api/webhooks/{endpoint}", auth: asA, body: `[`, status: 400,
		code: "invalid_json", message: "unexpected EOF"},
	{name: "delete endpoint", method: "DELETE", url: "/api/webhooks/{fresh-endpoint}", auth: asA, status: 204,
		headers: map[string]string{"Content-Type": "-"}, effects: map[string]int{"webhook_endpoints": -1}},
	{name: "rotate endpoint secret", method: "POST", url: "/api/webhooks/{fresh-endpoint}/rotate-secret", auth: asA, status: 200,
		contains: []string{`"secret":"whsec_`, `"url":"https://hooks.example.com/fresh"`},
		changed:  []string{"webhook_endpoints"}},
	{name: "rotate endpoint secret by GET", method: "GET", url: "/api/webhooks/{endpoint}/rotate-secret", auth: asA, status: 404,
		code: "not_found", message: "no route for GET /api/webhooks/{endpoint}/rotate-secret"},

	{name: "test endpoint", method: "POST", url: "/api/webhooks/{endpoint}/test", auth: asA, status: 202,
		contains: []string{`"deliveryId":"`, `"status":"pending"`},
		effects:  map[string]int{"webhook_deliveries": 1, "job:webhook.deliver": 1}},
	{name: "deliveries", method: "GET", url: "/api/webhook-deliveries", auth: asA, status: 200,
		contains: []string{`"data":[`, `"id":"{delivery}"`, `"nextCursor":null`}, notContains: []string{"{deliveryB}", `"payload"`}},
	{name: "deliveries, filtered", method: "GET", url: "/api/webhook-deliveries?renderId={render}&status=pending&limit=1", auth: asA, status: 200,
		contains: []string{`"id":"{delivery}"`, `"renderId":"{render}"`}},
	{name: "deliveries, a page of one", method: "GET", url: "/api/webhook-deliveries?limit=1", auth: asA, status: 200,
		contains: []string{`"nextCursor":"`}},
	{name: "deliveries, bad status", method: "GET", url: "/api/webhook-deliveries?status=nope", auth: asA, status: 400,
		code: "invalid_request", message: "status must be pending, succeeded, failed or exhausted"},
	{name: "delivery", method: "GET", url: "/api/webhook-deliveries/{delivery}", auth: asA, status: 200,
		contains: []string{`"id":"{delivery}"`, `"event":"render.succeeded"`, `"payload":{`, `"attempts":[]`, `"status":"pending"`}},
	{name: "redeliver", method: "POST", url: "/api/webhook-deliveries/{delivery}/redeliver", auth: asA, status: 202,
		contains: []string{`{"deliveryId":"{delivery}","status":"pending"}`},
		effects:  map[string]int{"job:webhook.deliver": 1}, changed: []string{"webhook_deliveries"}},
}

// secretScenarios: rotations of the space's secrets. They run after the
// renders and links signed with A's first secrets.
var secretScenarios = []scenario{
	{name: "rotate webhook secret", method: "POST", url: "/api/webhook-secret/rotate", auth: asA, status: 200,
		contains: []string{`"webhookSecret":"whsec_`, `"previousValidUntil":"`}, changed: []string{"spaces"}},
	{name: "rotate webhook secret by GET", method: "GET", url: "/api/webhook-secret/rotate", auth: asA, status: 404,
		code: "not_found", message: "no route for GET /api/webhook-secret/rotate"},
	{name: "rotate render secret", method: "POST", url: "/api/render-secret/rotate", auth: asA, status: 200,
		contains: []string{`"renderSecret":"`, `"previousValidUntil":"`}, changed: []string{"spaces"}},
	{name: "rotate render secret, revokePrevious not a bool", method: "POST", url: "/api/render-secret/rotate?revokePrevious=maybe", auth: asA, status: 400,
		code: "invalid_request", message: "revokePrevious must be true or false"},
	{name: "rotate GET-render token", method: "POST", url: "/api/get-render-token/rotate?revokePrevious=false", auth: asA, status: 200,
		contains: []string{`"getRenderToken":"`, `"previousValidUntil":"`}, changed: []string{"spaces"}},
	{name: "rotate GET-render token, revokePrevious not a bool", method: "POST", url: "/api/get-render-token/rotate?revokePrevious=2", auth: asA, status: 400,
		code: "invalid_request", message: "revokePrevious must be true or false"},
}

// storageScenarios: the space's own bucket (PUT/GET/DELETE /api/storage).
// The test server has no storage credentials key, so a secret key is
// refused and nothing is written.
var storageScenarios = []scenario{
	{name: "storage, none yet", method: "GET", url: "/api/storage", auth: asA, status: 404,
		code: "not_found", message: msgNotFound},
	{name: "storage set", method: "PUT", url: "/api/storage", auth: asA, status: 200,
		body:     `{"bucket":"bucket-of-a","endpoint":"s3.example.com","region":"eu-west-2","forcePathStyle":true}`,
		contains: []string{`"bucket":"bucket-of-a"`, `"endpoint":"https://s3.example.com"`, `"hasSecret":false`, `"accessKeyHint":""`},
		effects:  map[string]int{"space_storage": 1}},
	{name: "storage read", method: "GET", url: "/api/storage", auth: asA, status: 200,
		contains: []string{`"bucket":"bucket-of-a"`, `"region":"eu-west-2"`, `"forcePathStyle":true`}},
	{name: "storage with a secret, and no key to seal it", method: "PUT", url: "/api/storage", auth: asA, status: 409,
		body: `{"bucket":"bucket-of-a","accessKey":"AKIAEXAMPLE","secretKey":"wJalrXUtnFEMI"}`,
		code: "storage_key_missing", message: "this server keeps no storage secrets: its operator has set no --storage-credentials-key",
		notContains: []string{"wJalrXUtnFEMI"}},
	{name: "storage, a bad bucket", method: "PUT", url: "/api/storage", auth: asA, status: 422, body: `{"bucket":"Not_A_Bucket"}`,
		code: "validation_failed", message: "bucket must be an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens"},
	{name: "storage, a private endpoint", method: "PUT", url: "/api/storage", auth: asA, status: 422,
		body: `{"bucket":"bucket-of-a","endpoint":"http://10.0.0.1:9000"}`, code: "validation_failed",
		message: "endpoint is not allowed: forbidden address: 10.0.0.1 is private (RFC 1918)"},
	{name: "storage, a key without its secret", method: "PUT", url: "/api/storage", auth: asA, status: 422,
		body: `{"bucket":"bucket-of-a","accessKey":"AKIAEXAMPLE"}`, code: "validation_failed", message: "accessKey and secretKey go together"},
	{name: "storage delete without a token", method: "DELETE", url: "/api/storage", status: 401,
		code: "unauthorized", message: msgToken},
	{name: "storage deleted", method: "DELETE", url: "/api/storage", auth: asA, status: 204, effects: map[string]int{"space_storage": -1}},
	{name: "storage by POST", method: "POST", url: "/api/storage", auth: asA, status: 404,
		code: "not_found", message: "no route for POST /api/storage"},
}

// logScenarios: the request log and usage.
var logScenarios = []scenario{
	{name: "logs", method: "GET", url: "/api/logs", auth: asA, status: 200,
		contains: []string{`"data":[`, `"requestId":"{requestId}"`, `"nextCursor":null`}, notContains: []string{"{requestIdB}"}},
	{name: "logs, failed only", method: "GET", url: "/api/logs?status=4xx&limit=2", auth: asA, status: 200,
		contains: []string{`"status":4`, `"nextCursor":"`}, notContains: []string{`"status":200`}},
	{name: "logs, succeeded", method: "GET", url: "/api/logs?status=succeeded", auth: asA, status: 200,
		contains: []string{`"requestId":"{requestId}"`}},
	{name: "logs, bad status", method: "GET", url: "/api/logs?status=nope", auth: asA, status: 400,
		code: "invalid_request", message: "status must be an HTTP status (404), a class (4xx), succeeded or failed"},
	{name: "logs, status out of range", method: "GET", url: "/api/logs?status=600", auth: asA, status: 400,
		code: "invalid_request", message: "status must be an HTTP status (404), a class (4xx), succeeded or failed"},
	{name: "log entry", method: "GET", url: "/api/logs/{requestId}", auth: asA, status: 200,
		contains: []string{`"requestId":"{requestId}"`, `"status":200`, `"renderId":"{render}"`, `"deliveries":[`, `"callbacks":{`, `"cacheHit":false`}},
	{name: "usage", method: "GET", url: "/api/usage", auth: asA, status: 200,
		contains: []string{`"creditsUsed":0`, `"creditLimit":0`, `"renders":{"failed":0,"succeeded":`}},
	{name: "usage by POST", method: "POST", url: "/api/usage", auth: asA, status: 404,
		code: "not_found", message: "no route for POST /api/usage"},
}

// tpl is a valid template body with one field replaced or added.
func tpl(extra string) string {
	return `{"name":"made","html":"<p>{{.title}}</p>","width":300,"height":200,` +
		`"variables":[{"name":"title","default":"Hi"}]` + extra + `}`
}

// resourceScenarios: templates and pages.
var resourceScenarios = []scenario{
	{name: "create template", method: "POST", url: "/api/templates", auth: asA, body: tpl(""), status: 201,
		contains: []string{`"id":"tpl_`, `"name":"made"`, `"width":300`, `"height":200`,
			`"variables":[{"name":"title","type":"string","default":"Hi"}]`, `"requireGetRenderToken":true`},
		headers: map[string]string{"Content-Type": "application/json"},
		effects: map[string]int{"templates": 1}},
	{name: "create template with defaults", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"  bare  ","html":"<p>x</p>","requireGetRenderToken":false}`, status: 201,
		contains: []string{`"name":"bare"`, `"width":1200`, `"height":630`, `"variables":[]`, `"requireGetRenderToken":false`},
		effects:  map[string]int{"templates": 1}},
	{name: "create template, malformed JSON", method: "POST", url: "/api/templates", auth: asA, body: `{"name":"x",}`, status: 400,
		code: "invalid_json", message: "syntax error at byte 13"},
	{name: "create template, unknown field", method: "POST", url: "/api/templates", auth: asA, body: tpl(`,"css":"p{}"`), status: 400,
		code: "invalid_json", message: `json: unknown field "css"`},
	{name: "create template, wrong type", method: "POST", url: "/api/templates", auth: asA, body: tpl(`,"width":"wide"`), status: 400,
		code: "invalid_json", message: `field "width" must be int`},
	{name: "create template without name", method: "POST", url: "/api/templates", auth: asA, body: `{"html":"<p>x</p>"}`, status: 422,
		code: "validation_failed", message: "name is required (at most 200 characters)"},
	{name: "create template without html", method: "POST", url: "/api/templates", auth: asA, body: `{"name":"x","html":"  "}`, status: 422,
		code: "validation_failed", message: "html is required"},
	{name: "create template too wide", method: "POST", url: "/api/templates", auth: asA, body: tpl(`,"width":10001`), status: 422,
		code: "validation_failed", message: "width and height must be from 1 to 10000 pixels"},
	{name: "create template, bad variable name", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"x","html":"<p>x</p>","variables":[{"name":"1st"}]}`, status: 422,
		code: "validation_failed", message: `variables[0].name "1st" must be a letter or _ followed by letters, digits or _`},
	{name: "create template, variable twice", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"x","html":"<p>x</p>","variables":[{"name":"a"},{"name":"a"}]}`, status: 422,
		code: "validation_failed", message: `variable "a" is declared twice`},
	{name: "create template, bad variable type", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"x","html":"<p>x</p>","variables":[{"name":"a","type":"date"}]}`, status: 422,
		code: "validation_failed", message: `variables[0].type "date" is not one of string, number, boolean, color, image`},
	{name: "create template, default of the wrong type", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"x","html":"<p>x</p>","variables":[{"name":"a","type":"number","default":"many"}]}`, status: 422,
		code: "validation_failed", message: `variable "a" must be a number`},
	{name: "create template, bad template", method: "POST", url: "/api/templates", auth: asA,
		body: `{"name":"x","html":"<p>{{.title</p>"}`, status: 422,
		code: "validation_failed", message: "html: template error: template: page:1: bad character U+003C '<'"},
	{name: "PATCH templates", method: "PATCH", url: "/api/templates", auth: asA, body: `{}`, status: 404,
		code: "not_found", message: "no route for PATCH /api/templates"},

	{name: "list templates", method: "GET", url: "/api/templates", auth: asA, status: 200,
		contains: []string{`"data":[`, `"id":"{tpl}"`}, notContains: []string{"{tplB}"}},
	{name: "list templates of B", method: "GET", url: "/api/templates", auth: asB, status: 200,
		contains: []string{`"id":"{tplB}"`}, notContains: []string{"{tpl}", marker}},
	{name: "get template", method: "GET", url: "/api/templates/{tpl}", auth: asA, status: 200,
		contains: []string{`"id":"{tpl}"`, `"html":"<p>` + marker + ` {{.title}}</p>"`}},
	{name: "update template", method: "PUT", url: "/api/templates/{fresh-tpl}", auth: asA, body: `{"name":"renamed","width":640}`, status: 200,
		contains: []string{`"name":"renamed"`, `"width":640`, `"height":100`, `"html":"<p>` + marker + ` {{.title}}</p>"`},
		changed:  []string{"templates"}},
	{name: "update template, failed validation", method: "PUT", url: "/api/templates/{tpl}", auth: asA, body: `{"height":0}`, status: 422,
		code: "validation_failed", message: "width and height must be from 1 to 10000 pixels"},
	{name: "update template, unknown field", method: "PUT", url: "/api/templates/{tpl}", auth: asA, body: `{"id":"tpl_x"}`, status: 400,
		code: "invalid_json", message: `json: unknown field "id"`},
	{name: "delete template", method: "DELETE", url: "/api/templates/{fresh-tpl}", auth: asA, status: 204,
		effects: map[string]int{"templates": -1}},
	{name: "delete template in use", method: "DELETE", url: "/api/templates/{tpl}", auth: asA, status: 409,
		// Today the message is SQLite's own.
		code: "conflict", message: "constraint failed: FOREIGN KEY constraint failed (787)"},
	{name: "create page", method: "POST", url: "/api/pages", auth: asA,
		body: `{"templateId":"{tpl}","name":"  made  ","values":{"title":"v"}}`, status: 201,
		contains: []string{`"id":"pg_`, `"templateId":"{tpl}"`, `"name":"made"`, `"values":{"title":"v"}`, `"published":null`},
		effects:  map[string]int{"pages": 1}},
	{name: "create page, published, named after its template", method: "POST", url: "/api/pages", auth: asA,
		body: `{"templateId":"{tpl}","publish":true}`, status: 201,
		contains: []string{`"name":"card ` + marker + `"`, `"published":{"templateId":"{tpl}","name":"card ` + marker + `","values":{},"publishedAt":"`},
		effects:  map[string]int{"pages": 1}},
	{name: "create page, malformed JSON", method: "POST", url: "/api/pages", auth: asA, body: `{"templateId" "x"}`, status: 400,
		code: "invalid_json", message: "syntax error at byte 15"},
	{name: "create page, unknown field", method: "POST", url: "/api/pages", auth: asA, body: `{"templateId":"{tpl}","draft":true}`, status: 400,
		code: "invalid_json", message: `json: unknown field "draft"`},
	{name: "create page without template", method: "POST", url: "/api/pages", auth: asA, body: `{"name":"x"}`, status: 422,
		code: "validation_failed", message: "templateId is required"},
	{name: "create page, name too long", method: "POST", url: "/api/pages", auth: asA,
		body: `{"templateId":"{tpl}","name":"` + strings.Repeat("n", 201) + `"}`, status: 422,
		code: "validation_failed", message: "name is at most 200 characters"},
	{name: "create page of B's template", method: "POST", url: "/api/pages", auth: asA, body: `{"templateId":"{tplB}"}`, status: 404,
		code: "template_not_found", message: "template not found: {tplB}"},
	{name: "create page, an undeclared value is kept", method: "POST", url: "/api/pages", auth: asA,
		body: `{"templateId":"{tpl}","values":{"nope":"x"}}`, status: 201,
		contains: []string{`"values":{"nope":"x"}`}, effects: map[string]int{"pages": 1}},
	{name: "create page, value of the wrong type", method: "POST", url: "/api/pages", auth: asA,
		body: `{"templateId":"{tplNum}","values":{"n":"many"}}`, status: 422,
		code: "validation_failed", message: `values: variable "n" must be a number`},
	{name: "list pages", method: "GET", url: "/api/pages", auth: asA, status: 200,
		contains: []string{`"data":[`, `"id":"{page}"`, `"id":"{unpublished}"`}, notContains: []string{"{pageB}"}},
	{name: "get page", method: "GET", url: "/api/pages/{page}", auth: asA, status: 200,
		contains: []string{`"id":"{page}"`, `"values":{"title":"` + marker + `"}`, `"published":{"templateId":"{tpl}"`}},
	{name: "update page", method: "PUT", url: "/api/pages/{fresh-page}", auth: asA, body: `{"values":{"title":"changed"}}`, status: 200,
		contains: []string{`"values":{"title":"changed"}`, `"published":null`}, changed: []string{"pages"}},
	{name: "update page and publish", method: "PUT", url: "/api/pages/{fresh-page}", auth: asA, body: `{"name":"pub","publish":true}`, status: 200,
		contains: []string{`"name":"pub"`, `"published":{"templateId":"{tpl}","name":"pub"`}, changed: []string{"pages"}},
	{name: "update page to B's template", method: "PUT", url: "/api/pages/{page}", auth: asA, body: `{"templateId":"{tplB}"}`, status: 404,
		code: "template_not_found", message: "template not found: {tplB}"},
	{name: "update page, a number for a string variable", method: "PUT", url: "/api/pages/{fresh-page}", auth: asA,
		body: `{"values":{"title":7}}`, status: 200,
		contains: []string{`"values":{"title":7}`}, changed: []string{"pages"}},
	{name: "update page, value out of bounds", method: "PUT", url: "/api/pages/{pageNum}", auth: asA, body: `{"values":{"n":1000}}`, status: 422,
		code: "validation_failed", message: `values: value out of range: variable "n" must be from -1e+06 to 10, got 1000`},
	{name: "update page, malformed JSON", method: "PUT", url: "/api/pages/{page}", auth: asA, body: `nope`, status: 400,
		code: "invalid_json", message: "syntax error at byte 2"},
	{name: "publish page", method: "POST", url: "/api/pages/{fresh-page}/publish", auth: asA, status: 200,
		contains: []string{`"published":{"templateId":"{tpl}","name":"fresh ` + marker + `"`}, changed: []string{"pages"}},
	{name: "publish page by PUT", method: "PUT", url: "/api/pages/{page}/publish", auth: asA, status: 404,
		code: "not_found", message: "no route for PUT /api/pages/{page}/publish"},
	{name: "delete page", method: "DELETE", url: "/api/pages/{fresh-page}", auth: asA, status: 204,
		effects: map[string]int{"pages": -1}},
}

// refused are the refusals every token route shares, named after what:
// no, a malformed and a revoked token (401); when other is set, A's
// token on that object of space B, and B's token on A's object (404);
// when body is set, a body over the limit (413). None changes anything.
func refused(what, method, url, other, body string) []scenario {
	sc := func(name, auth, url string, status int, code, message string) scenario {
		return scenario{name: what + ", " + name, method: method, url: url, auth: auth, body: body, status: status,
			code: code, message: message}
	}
	out := []scenario{
		sc("no token", "", url, 401, "unauthorized", msgToken),
		sc("malformed token", asMalformed, url, 401, "unauthorized", msgToken),
		sc("revoked token", asRevoked, url, 401, "unauthorized", msgToken),
	}
	if other != "" {
		out = append(out,
			sc("B's object", asA, other, 404, "not_found", msgNotFound),
			sc("B's token", asB, url, 404, "not_found", msgNotFound))
	}
	if body != "" {
		tl := sc("too large", asA, url, 413, "body_too_large", msgTooLarge)
		tl.rawBody = tooLarge
		out = append(out, tl)
	}
	return out
}

// refusalScenarios: the shared refusals of every JSON route behind a
// token (the v1 API and page renders answer in their own words, above).
var refusalScenarios = slices.Concat(
	refused("render status", "GET", "/api/renders/{render}", "/api/renders/{renderB}", ""),
	refused("create endpoint", "POST", "/api/webhooks", "", `{"url":"https://hooks.example.com/x"}`),
	refused("list endpoints", "GET", "/api/webhooks", "", ""),
	refused("get endpoint", "GET", "/api/webhooks/{endpoint}", "/api/webhooks/{endpointB}", ""),
	refused("patch endpoint", "PATCH", "/api/webhooks/{endpoint}", "/api/webhooks/{endpointB}", `{"description":"x"}`),
	refused("delete endpoint", "DELETE", "/api/webhooks/{endpoint}", "/api/webhooks/{endpointB}", ""),
	refused("rotate endpoint secret", "POST", "/api/webhooks/{endpoint}/rotate-secret", "/api/webhooks/{endpointB}/rotate-secret", ""),
	refused("test endpoint", "POST", "/api/webhooks/{endpoint}/test", "/api/webhooks/{endpointB}/test", ""),
	refused("delivery", "GET", "/api/webhook-deliveries/{delivery}", "/api/webhook-deliveries/{deliveryB}", ""),
	refused("redeliver", "POST", "/api/webhook-deliveries/{delivery}/redeliver", "/api/webhook-deliveries/{deliveryB}/redeliver", ""),
	refused("rotate webhook secret", "POST", "/api/webhook-secret/rotate", "", ""),
	refused("rotate render secret", "POST", "/api/render-secret/rotate", "", ""),
	refused("rotate GET-render token", "POST", "/api/get-render-token/rotate", "", ""),
	refused("log entry", "GET", "/api/logs/{requestId}", "/api/logs/{requestIdB}", ""),
	refused("usage", "GET", "/api/usage", "", ""),
	refused("create template", "POST", "/api/templates", "", `{"name":"x","html":"<p>x</p>"}`),
	refused("list templates", "GET", "/api/templates", "", ""),
	refused("get template", "GET", "/api/templates/{tpl}", "/api/templates/{tplB}", ""),
	refused("update template", "PUT", "/api/templates/{tpl}", "/api/templates/{tplB}", `{"name":"x"}`),
	refused("delete template", "DELETE", "/api/templates/{tpl}", "/api/templates/{tplB}", ""),
	refused("create page", "POST", "/api/pages", "", `{"templateId":"{tpl}"}`),
	refused("list pages", "GET", "/api/pages", "", ""),
	refused("get page", "GET", "/api/pages/{page}", "/api/pages/{pageB}", ""),
	refused("update page", "PUT", "/api/pages/{page}", "/api/pages/{pageB}", `{"name":"x"}`),
	refused("delete page", "DELETE", "/api/pages/{page}", "/api/pages/{pageB}", ""),
	refused("publish page", "POST", "/api/pages/{page}/publish", "/api/pages/{pageB}/publish", ""),
)
