package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/renderhook/renderhook/internal/apidoc"
	"github.com/renderhook/renderhook/internal/space"
)

// This file describes the route table for the OpenAPI document served at
// /openapi.json and the reference page at /docs (package apidoc builds
// both). Every route of routes() has an operation here, found by method
// and pattern (openapi_test.go fails otherwise), except Undocumented.
// Response bodies are the handlers' own types where handlers have one;
// the answers handlers build as maps are described by the *Doc types
// below, and the recorded answers of openapi_test.go validate against
// every schema (objects allow no other property), so neither can drift.

// Undocumented are the routes of the table the document leaves out, by
// pattern, and why.
var Undocumented = map[string]string{
	"/ui/": "the web console: HTML pages for browsers, with their own route table (ui.Server.Routes)",
	"/":    "the not-found answer (404 not_found) of every path no route matches",
}

// ServerRoutes are routes the server mounts outside the API's table
// (internal/server) that the document describes too.
var ServerRoutes = []Route{
	{Method: "GET", Pattern: "/metrics", Auth: AuthNone},
}

// Security scheme names.
const (
	secBearer  = "bearerToken"
	secPageSig = "pageSignature"
	secGetTok  = "getRenderToken"
	secFileSig = "fileSignature"
)

var docCache sync.Map // version → *apidoc.Served

// apiDoc is the built document and page of this server's version.
func (s *Server) apiDoc() (*apidoc.Served, error) {
	if d, ok := docCache.Load(s.cfg.Version); ok {
		return d.(*apidoc.Served), nil
	}
	d, err := apidoc.New(Description(s.cfg.Version))
	if err != nil {
		return nil, err
	}
	docCache.Store(s.cfg.Version, d)
	return d, nil
}

// openAPI serves GET /openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	return s.serveDoc(w, r, (*apidoc.Served).ServeJSON)
}

// docsPage serves GET /docs.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) error {
	return s.serveDoc(w, r, (*apidoc.Served).ServeHTML)
}

func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, serve func(*apidoc.Served, http.ResponseWriter, *http.Request)) error {
	d, err := s.apiDoc()
	if err != nil {
		return err
	}
	serve(d, w, r)
	return nil
}

// Description is what the OpenAPI document of this API is built from.
func Description(version string) apidoc.Doc {
	var ops []apidoc.Operation
	for _, part := range [][]apidoc.Operation{healthOps(), renderOps(), v1Ops(), templateOps(), pageOps(), webhookOps(), logOps(), storageOps()} {
		ops = append(ops, part...)
	}
	return apidoc.Doc{
		Title: "renderhook", Version: version,
		Description: "Templates, HTML and URLs to PNG, JPEG, WebP and PDF with headless Chromium; " +
			"signed webhooks; a Urlbox-compatible v1 API. Every error answers {\"error\": {\"code\", \"message\", \"requestId\"}} " +
			"and every answer carries X-Request-Id.",
		Tags: []apidoc.Tag{
			{Name: "render", Description: "Rendering pages (a template with values) and reading renders and their files."},
			{Name: "v1", Description: "The Urlbox-compatible API: render a URL or HTML; signed render links."},
			{Name: "templates", Description: "Templates: Go html/template HTML with declared variables and a size."},
			{Name: "pages", Description: "Pages: a template with values, edited as a draft and published."},
			{Name: "webhooks", Description: "Webhook endpoints, deliveries and the space's signing secrets."},
			{Name: "logs", Description: "The request log of render endpoints, and usage."},
			{Name: "operations", Description: "Health, metrics and this description."},
		},
		SecuritySchemes: map[string]apidoc.Schema{
			secBearer: {"type": "http", "scheme": "bearer", "description": "An API token of the space: Authorization: Bearer rh_…"},
			secPageSig: {"type": "apiKey", "in": "query", "name": "sig",
				"description": "A page-render link's signature (renderhook link sign, or the console): a MAC of the page id and the query, exp included, under a key derived from the render secret."},
			secGetTok: {"type": "apiKey", "in": "query", "name": "gt", "description": "The space's GET-render token."},
			secFileSig: {"type": "apiKey", "in": "query", "name": "sig",
				"description": "The signature of a file URL as the API hands it out (renderUrl, file.url)."},
		},
		Operations: ops,
	}
}

// Shapes of the answers handlers build as maps.
type (
	healthDoc struct {
		Status  string `json:"status" enum:"ok"`
		Version string `json:"version"`
		Sandbox bool   `json:"sandbox" doc:"Whether Chromium runs with its sandbox on."`
	}
	messageDoc struct {
		Message string `json:"message"`
	}
	renderAcceptedDoc struct {
		RenderID  string `json:"renderId"`
		Status    string `json:"status" enum:"queued"`
		StatusURL string `json:"statusUrl"`
	}
	renderStatusDoc struct {
		RenderID  string      `json:"renderId"`
		Status    string      `json:"status" enum:"queued,rendering,succeeded,failed"`
		RenderURL *string     `json:"renderUrl" doc:"The file's URL once it is stored."`
		Size      *int64      `json:"size"`
		Error     *messageDoc `json:"error"`
		Meta      struct {
			StartTime *string `json:"startTime"`
			EndTime   *string `json:"endTime"`
		} `json:"meta"`
	}
	// v1ArtifactsDoc is what save_html, save_mhtml, save_markdown,
	// save_metadata and metadata add to a succeeded render's answer.
	v1ArtifactsDoc struct {
		HTMLURL     string            `json:"htmlUrl,omitempty" doc:"The page's HTML (save_html)."`
		MHTMLURL    string            `json:"mhtmlUrl,omitempty" doc:"The page as MHTML (save_mhtml)."`
		MarkdownURL string            `json:"markdownUrl,omitempty" doc:"Markdown of the page's main content (save_markdown)."`
		MetadataURL string            `json:"metadataUrl,omitempty" doc:"The page's metadata as JSON (save_metadata)."`
		Metadata    map[string]string `json:"metadata,omitempty" doc:"The page's metadata (metadata: true): title, description, ogTitle, twitterCard, favicon, …"`
	}
	v1SyncDoc struct {
		RenderURL  *string `json:"renderUrl" doc:"The file's URL; null when no_upload stored it nowhere."`
		Size       int64   `json:"size"`
		RenderTime int64   `json:"renderTime" doc:"Milliseconds."`
		CustomID   string  `json:"customId,omitempty" doc:"The request's custom_id."`
		v1ArtifactsDoc
	}
	v1AsyncDoc struct {
		Status    string `json:"status" enum:"waiting,active,delayed,succeeded,failed" doc:"succeeded when answered from the cache."`
		RenderID  string `json:"renderId"`
		StatusURL string `json:"statusUrl"`
		v1OutcomeDoc
	}
	v1StatusDoc struct {
		RenderID string `json:"renderId"`
		Status   string `json:"status" enum:"waiting,active,delayed,succeeded,failed" doc:"Urlbox's words: waiting (queued), active (rendering), delayed (queued again after a snoozed or failed attempt), succeeded, failed."`
		v1OutcomeDoc
	}
	// v1OutcomeDoc is what an async render's answer and its status say of
	// its outcome once there is one.
	v1OutcomeDoc struct {
		RenderURL string      `json:"renderUrl,omitempty"`
		Size      int64       `json:"size,omitempty"`
		Error     *messageDoc `json:"error,omitempty"`
		CustomID  string      `json:"customId,omitempty" doc:"The request's custom_id."`
		v1ArtifactsDoc
	}
	templateListDoc struct {
		Data []templateJSON `json:"data"`
	}
	pageListDoc struct {
		Data []pageJSON `json:"data"`
	}
	endpointListDoc struct {
		Data []endpointJSON `json:"data"`
	}
	deliveryPageDoc struct {
		Data       []deliveryJSON `json:"data"`
		NextCursor *string        `json:"nextCursor"`
	}
	logPageDoc struct {
		Data       []logJSON `json:"data"`
		NextCursor *string   `json:"nextCursor"`
	}
	deliveryAcceptedDoc struct {
		DeliveryID string `json:"deliveryId"`
		Status     string `json:"status" enum:"pending"`
	}
	usageDoc struct {
		CreditsUsed int64 `json:"creditsUsed"`
		CreditLimit int64 `json:"creditLimit" doc:"0: no limit."`
		Renders     struct {
			Succeeded int64 `json:"succeeded"`
			Failed    int64 `json:"failed"`
		} `json:"renders"`
	}
	renderSecretDoc struct {
		RenderSecret       string    `json:"renderSecret" doc:"Shown this once."`
		PreviousValidUntil time.Time `json:"previousValidUntil"`
	}
	getRenderTokenDoc struct {
		GetRenderToken     string    `json:"getRenderToken" doc:"Shown this once."`
		PreviousValidUntil time.Time `json:"previousValidUntil"`
	}
	webhookSecretDoc struct {
		WebhookSecret      string    `json:"webhookSecret" doc:"Shown this once."`
		PreviousValidUntil time.Time `json:"previousValidUntil"`
	}
	// renderBodyDoc is the body render.ParseBody reads (its postBody,
	// which is unexported; TestRenderBodyDocKnownToParser sends every
	// field through ParseBody, which refuses unknown fields).
	renderBodyDoc struct {
		PageID        string          `json:"pageId,omitempty" doc:"The page to render; or pageIds."`
		PageIDs       []string        `json:"pageIds,omitempty" doc:"Several pages, one PDF (at most 50)."`
		Format        string          `json:"format,omitempty" enum:"png,jpeg,jpg,webp,pdf"`
		Output        string          `json:"output,omitempty" enum:"json,binary" doc:"json (default): the render's record; binary: the file."`
		Binary        bool            `json:"binary,omitempty" doc:"Same as output binary."`
		Draft         bool            `json:"draft,omitempty" doc:"Render the draft rather than the published version."`
		TemplateID    string          `json:"templateId,omitempty" doc:"Render the page's values with another template."`
		Quality       int             `json:"quality,omitempty" doc:"1–100, jpeg and webp."`
		Tweaks        map[string]any  `json:"tweaks,omitempty" doc:"Values over the page's, for every page."`
		TweaksPerPage json.RawMessage `json:"tweaksPerPage,omitempty" doc:"An array aligned with pageIds, or an object keyed by page id."`
		Async         bool            `json:"async,omitempty" doc:"Queue the render and answer 202 at once."`
		WebhookURL    string          `json:"webhook_url,omitempty" doc:"Receives render.succeeded or render.failed."`
		RenderType    string          `json:"renderType,omitempty" enum:"html,takumi,auto" doc:"Overrides the template's renderType for this render: html (Chromium), takumi (no browser), auto. PDF and several pages always render with Chromium."`
	}
)

// errs are error answers with the one error shape, plus the default.
func errs(statuses ...int) []apidoc.Response {
	out := make([]apidoc.Response, 0, len(statuses)+1)
	for _, st := range statuses {
		out = append(out, apidoc.Response{Status: st, JSON: errorBody{}})
	}
	return append(out, apidoc.Response{Description: "Any other error, in the one error shape.", JSON: errorBody{}})
}

func ok(status int, body any, desc string) apidoc.Response {
	return apidoc.Response{Status: status, JSON: body, Description: desc}
}

// op is an operation answering JSON: its successful answer first, then
// the error answers.
func op(method, pattern, tag, summary string, sec [][]string, success apidoc.Response, errStatuses ...int) apidoc.Operation {
	return apidoc.Operation{Method: method, Pattern: pattern, Tag: tag, Summary: summary, Security: sec,
		Responses: append([]apidoc.Response{success}, errs(errStatuses...)...)}
}

var (
	token     = [][]string{{secBearer}}
	anyone    [][]string
	imageType = []string{"image/png", "image/jpeg", "image/webp", "application/pdf"}
)

func withBody(o apidoc.Operation, v any, desc string) apidoc.Operation {
	o.Body = &apidoc.Body{Schema: v, Description: desc, Required: true}
	return o
}

func withParams(o apidoc.Operation, ps ...apidoc.Param) apidoc.Operation {
	o.Params = append(o.Params, ps...)
	return o
}

func query(name, desc string) apidoc.Param {
	return apidoc.Param{Name: name, In: "query", Description: desc}
}

var pageQuery = []apidoc.Param{query("limit", "1–200, default 50."), query("cursor", "nextCursor of the previous page.")}

func healthOps() []apidoc.Operation {
	return []apidoc.Operation{
		op("GET", "/healthz", "operations", "Whether the server can render", anyone, ok(200, healthDoc{}, "Ready."), 503),
		{Method: "GET", Pattern: "/openapi.json", Tag: "operations", Summary: "This OpenAPI 3.1 document",
			Responses: []apidoc.Response{ok(200, apidoc.Schema{"type": "object"}, "The document.")}},
		{Method: "GET", Pattern: "/docs", Tag: "operations", Summary: "The API reference page (HTML rendered from this document)",
			Responses: []apidoc.Response{{Status: 200, Media: []string{"text/html"}}}},
		{Method: "GET", Pattern: "/metrics", Tag: "operations", Summary: "Prometheus metrics",
			Description: "Served by the server on the API listener unless --metrics-addr moves it to a listener of its own or metrics are off (see docs/operations.md).",
			Responses:   []apidoc.Response{{Status: 200, Media: []string{"text/plain"}, Description: "Prometheus text exposition format."}}},
	}
}

func renderOps() []apidoc.Operation {
	rendered := apidoc.Response{Status: 200, Media: imageType, JSON: renderResponse{},
		Description: "The file (output=binary, the GET default), or the render's record (output=json, the POST default).",
		Headers: map[string]string{"X-Render-Id": "The render's id.", "X-Render-Time-Ms": "Milliseconds the render took.",
			"X-Renderer": "Which renderer made the file: chromium or takumi."}}
	accepted := ok(202, renderAcceptedDoc{}, "Queued (async); poll statusUrl or wait for the webhook.")
	get := op("GET", "/api/render/{pageId}", "render", "Render a page", [][]string{{secBearer}, {secPageSig}, {secGetTok}, {}},
		rendered, 400, 401, 402, 403, 404, 422, 429, 503)
	get.Description = "An API token, a signed link (sig, with exp), the space's GET-render token (gt), or nothing for pages whose template does not require a token. " +
		"Query parameters tweak:<name>=<value> set one value each; parameters starting with _ are ignored (cache busters)."
	get.Responses = append(get.Responses, accepted)
	get = withParams(get,
		query("format", "png (default), jpeg, webp or pdf."), query("output", "binary (default) or json."),
		query("draft", "Render the draft."), query("templateId", "Render with another template."),
		query("quality", "1–100, jpeg and webp."), query("tweaks", "A JSON object of values."),
		query("renderType", "html, takumi or auto: overrides the template's renderType (PDF stays on Chromium)."),
		query("webhook_url", "Receives render.succeeded or render.failed (token or signed link only)."),
		query("exp", "A signed link's expiry, unix seconds (covered by sig)."))
	post := withBody(op("POST", "/api/render", "render", "Render one page or several (one PDF)", token, rendered, 400, 401, 402, 404, 422, 429, 503),
		renderBodyDoc{}, "")
	post.Responses = append(post.Responses, accepted)
	return []apidoc.Operation{get, post,
		{Method: "GET", Pattern: "/files/{key...}", Tag: "render", Summary: "A stored render, at its signed URL",
			Security: [][]string{{secFileSig}},
			Responses: append([]apidoc.Response{
				{Status: 200, Media: imageType, Headers: map[string]string{"Cache-Control": "private, max-age=31536000, immutable"}},
				{Status: 304, Description: "Not modified (conditional request)."},
			}, errs(404)...)},
		op("GET", "/api/renders/{renderId}", "render", "A render's status", token, ok(200, renderStatusDoc{}, ""), 401, 404),
	}
}

func v1Ops() []apidoc.Operation {
	v1 := [][]string{{secBearer}}
	cache := map[string]string{"X-Render-Id": "The render's id.", "X-Renderhook-Cache": "hit or miss."}
	sync := withBody(op("POST", "/v1/render/sync", "v1", "Render a URL or HTML and answer the file's URL (response_type json), the file (binary), its base64 (base64) or nothing (none)", v1,
		apidoc.Response{Status: 200, JSON: v1SyncDoc{}, Headers: cache}, 400, 401, 402, 422, 429, 503), apidoc.V1BodySchema(),
		"With use_s3 the file goes to your bucket and renderUrl points at it; a bucket that refuses it is a 422 S3UploadFailed, a failed render that costs no credit.")
	sync.Responses = append(sync.Responses, apidoc.Response{Status: 307, JSON: v1AsyncDoc{},
		Description: "The render outlasted --sync-redirect-after (95 s) and goes on as an async render: poll Location, its status URL.",
		Headers:     map[string]string{"Location": "The render's status URL.", "X-Render-Id": "The render's id."}})
	async := func(pattern, summary string) apidoc.Operation {
		return withBody(op("POST", pattern, "v1", summary, v1,
			apidoc.Response{Status: 201, JSON: v1AsyncDoc{}, Headers: cache}, 400, 401, 402, 429, 503), apidoc.V1BodySchema(), "")
	}
	signed := apidoc.Operation{Method: "GET", Pattern: "/v1/{renderKey}/{token}/{format}", Tag: "v1",
		Summary: "A signed render link (Urlbox's construction)",
		Description: "token is hex(HMAC-SHA256(render secret, raw query)); the format segment (png, jpeg, jpg, webp, avif, pdf, html, mhtml, md, mp4, webm) is not signed. " +
			"Answered from the cache for ttl (default 30 days).",
		Params: apidoc.V1QueryParams(),
		Responses: append([]apidoc.Response{
			{Status: 200, Media: imageType, Headers: map[string]string{"ETag": "The render's id.", "Cache-Control": "public, max-age=<ttl>.",
				"X-Render-Id": "The render's id.", "X-Renderhook-Cache": "hit or miss."}},
			{Status: 302, Description: "A cached render kept in the client's own bucket (use_s3): Location is its file."},
			{Status: 304, Description: "If-None-Match named the render's ETag."},
		}, errs(400, 401, 402, 403, 422, 429, 503)...)}
	return []apidoc.Operation{sync,
		async("/v1/render/async", "Queue a render of a URL or HTML"),
		async("/v1/render", "Queue a render of a URL or HTML (as /v1/render/async)"),
		op("GET", "/v1/render/{renderId}", "v1", "A v1 render's status", v1, ok(200, v1StatusDoc{}, ""), 401, 404),
		op("POST", "/v1/render/{renderId}", "v1", "A v1 render's status (for clients that follow a sync render's 307 with their POST)", v1,
			ok(200, v1StatusDoc{}, ""), 401, 404),
		signed,
	}
}

func templateOps() []apidoc.Operation {
	return []apidoc.Operation{
		withBody(op("POST", "/api/templates", "templates", "Create a template", token, ok(201, templateJSON{}, ""), 400, 401, 422),
			templateInput{}, "name and html are required."),
		op("GET", "/api/templates", "templates", "List templates", token, ok(200, templateListDoc{}, ""), 401),
		op("GET", "/api/templates/{id}", "templates", "A template", token, ok(200, templateJSON{}, ""), 401, 404),
		withBody(op("PUT", "/api/templates/{id}", "templates", "Change a template (the fields given)", token, ok(200, templateJSON{}, ""), 400, 401, 404, 422),
			templateInput{}, ""),
		op("DELETE", "/api/templates/{id}", "templates", "Delete a template", token, apidoc.Response{Status: 204}, 401, 404, 409),
	}
}

func pageOps() []apidoc.Operation {
	return []apidoc.Operation{
		withBody(op("POST", "/api/pages", "pages", "Create a page", token, ok(201, pageJSON{}, ""), 400, 401, 404, 422),
			pageInput{}, "templateId and name are required; publish publishes the draft at once."),
		op("GET", "/api/pages", "pages", "List pages", token, ok(200, pageListDoc{}, ""), 401),
		op("GET", "/api/pages/{id}", "pages", "A page", token, ok(200, pageJSON{}, ""), 401, 404),
		withBody(op("PUT", "/api/pages/{id}", "pages", "Change a page's draft (the fields given)", token, ok(200, pageJSON{}, ""), 400, 401, 404, 422),
			pageInput{}, ""),
		op("DELETE", "/api/pages/{id}", "pages", "Delete a page", token, apidoc.Response{Status: 204}, 401, 404),
		op("POST", "/api/pages/{id}/publish", "pages", "Publish a page's draft", token, ok(200, pageJSON{}, ""), 401, 404),
	}
}

func webhookOps() []apidoc.Operation {
	revoke := query("revokePrevious", "true: the previous value stops working at once (after a leak).")
	return []apidoc.Operation{
		withBody(op("POST", "/api/webhooks", "webhooks", "Create a webhook endpoint (its secret is shown this once)", token, ok(201, endpointJSON{}, ""), 400, 401, 422),
			endpointInput{}, "url is required; events default to every event."),
		op("GET", "/api/webhooks", "webhooks", "List webhook endpoints", token, ok(200, endpointListDoc{}, ""), 401),
		op("GET", "/api/webhooks/{id}", "webhooks", "A webhook endpoint, with its delivery state on this node", token, ok(200, endpointJSON{}, ""), 401, 404),
		withBody(op("PATCH", "/api/webhooks/{id}", "webhooks", "Change a webhook endpoint (the fields given)", token, ok(200, endpointJSON{}, ""), 400, 401, 404, 422),
			endpointInput{}, ""),
		op("DELETE", "/api/webhooks/{id}", "webhooks", "Delete a webhook endpoint", token, apidoc.Response{Status: 204}, 401, 404),
		op("POST", "/api/webhooks/{id}/rotate-secret", "webhooks", "Rotate an endpoint's signing secret", token, ok(200, endpointJSON{}, ""), 401, 404),
		op("POST", "/api/webhooks/{id}/test", "webhooks", "Send the endpoint a test event", token, ok(202, deliveryAcceptedDoc{}, ""), 401, 404),
		op("POST", "/api/webhook-secret/rotate", "webhooks", "Rotate the secret signing webhook_url deliveries", token, ok(200, webhookSecretDoc{}, ""), 401),
		withParams(op("POST", "/api/render-secret/rotate", "webhooks", "Rotate the render secret (signed links)", token, ok(200, renderSecretDoc{}, ""), 400, 401), revoke),
		withParams(op("POST", "/api/get-render-token/rotate", "webhooks", "Rotate the GET-render token (gt)", token, ok(200, getRenderTokenDoc{}, ""), 400, 401), revoke),
		withParams(op("GET", "/api/webhook-deliveries", "webhooks", "List deliveries, newest first", token, ok(200, deliveryPageDoc{}, ""), 400, 401),
			slices.Concat(pageQuery, []apidoc.Param{query("renderId", ""), query("endpointId", ""), query("status", "pending, succeeded, failed or exhausted.")})...),
		op("GET", "/api/webhook-deliveries/{id}", "webhooks", "A delivery, with its payload and attempts", token, ok(200, deliveryJSON{}, ""), 401, 404),
		op("POST", "/api/webhook-deliveries/{id}/redeliver", "webhooks", "Send a delivery again", token, ok(202, deliveryAcceptedDoc{}, ""), 401, 404, 409),
	}
}

func logOps() []apidoc.Operation {
	return []apidoc.Operation{
		withParams(op("GET", "/api/logs", "logs", "List the request log, newest first", token, ok(200, logPageDoc{}, ""), 400, 401),
			slices.Concat(pageQuery, []apidoc.Param{query("status", "An HTTP status (404), a class (4xx), succeeded or failed.")})...),
		op("GET", "/api/logs/{requestId}", "logs", "A log entry, with its deliveries", token, ok(200, logJSON{}, ""), 401, 404),
		op("GET", "/api/usage", "logs", "Credits used and renders counted", token, ok(200, usageDoc{}, ""), 401),
	}
}

func storageOps() []apidoc.Operation {
	return []apidoc.Operation{
		withBody(op("PUT", "/api/storage", "storage", "Set the space's own S3 bucket and credentials (used by v1 use_s3)", token,
			ok(200, space.StorageView{}, "The settings as reads show them: never the secret key."), 400, 401, 409, 422),
			space.StorageSettings{}, "bucket is required; accessKey and secretKey go together; the secret key is sealed and never shown again."),
		op("GET", "/api/storage", "storage", "The space's own S3 bucket (without its secret)", token, ok(200, space.StorageView{}, ""), 401, 404),
		op("DELETE", "/api/storage", "storage", "Forget the space's own S3 bucket and credentials", token, apidoc.Response{Status: 204}, 401),
	}
}
