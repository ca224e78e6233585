package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/apidoc"
	"github.com/renderhook/renderhook/internal/render"
)

// openAPIDoc fetches /openapi.json from the handler and parses it with
// libopenapi, failing the test unless the validator finds it a valid
// OpenAPI 3.1 document.
func openAPIDoc(t *testing.T, e *env) ([]byte, validator.Validator, *v3.Document) {
	t.Helper()
	res := e.do(request{method: "GET", target: "/openapi.json"})
	if res.Status != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	doc, err := libopenapi.NewDocument(res.Body)
	if err != nil {
		t.Fatalf("libopenapi cannot read the document: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("document is OpenAPI %q, want 3.1", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("libopenapi cannot build the model: %v", err)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, ve := range verrs {
			t.Errorf("document invalid: %s: %s (%s)", ve.Message, ve.Reason, ve.HowToFix)
			for _, se := range ve.SchemaValidationErrors {
				t.Errorf("  at %s: %s", se.FieldPath+" "+se.KeywordLocation, se.Reason)
			}
		}
		t.FailNow()
	}
	return res.Body, v, &model.Model
}

// TestOpenAPIDocumentValid: /openapi.json is an OpenAPI 3.1 document the
// validator accepts, and /docs renders it without loading anything from
// elsewhere.
func TestOpenAPIDocumentValid(t *testing.T) {
	e := setup(t)
	openAPIDoc(t, e)
	page := e.do(request{method: "GET", target: "/docs"})
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	html := string(page.Body)
	for _, want := range []string{"/api/render/{pageId}", "/v1/{renderKey}/{token}/{format}", "pdf_margin_top", `href="/openapi.json"`} {
		if !strings.Contains(html, want) {
			t.Errorf("/docs does not mention %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("/docs contains %q: the page must load nothing from elsewhere", bad)
		}
	}
	// Options' docs may name URLs as text (a proxy's http://host:port);
	// no attribute or style may point at one.
	if m := regexp.MustCompile(`(?i)(src|href|action|srcset)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//`).FindString(html); m != "" {
		t.Errorf("/docs loads %q: the page must load nothing from elsewhere", m)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("/docs Content-Security-Policy = %q", csp)
	}
}

// TestOpenAPICoversRouteTable: every route of the route table is in the
// document (or named in api.Undocumented with a reason), and every
// operation of the document is a route of the table or of the server's.
func TestOpenAPICoversRouteTable(t *testing.T) {
	e := setup(t)
	body, _, _ := openAPIDoc(t, e)
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	routes := map[string]bool{}
	for _, r := range append(e.api.Routes(), api.ServerRoutes...) {
		if why, skip := api.Undocumented[r.Pattern]; skip {
			if why == "" {
				t.Errorf("route %s is undocumented without a reason", r.Pattern)
			}
			continue
		}
		key := cmp.Or(r.Method, "ANY") + " " + apidoc.Path(r.Pattern)
		routes[key] = true
		if !documented[key] {
			t.Errorf("route %s %s is not in /openapi.json: describe it in internal/api/openapi.go", cmp.Or(r.Method, "ANY"), r.Pattern)
		}
	}
	for k := range documented {
		if !routes[k] {
			t.Errorf("/openapi.json describes %s, which is no route", k)
		}
	}
	for p := range api.Undocumented {
		if !slices.ContainsFunc(e.api.Routes(), func(r api.Route) bool { return r.Pattern == p }) {
			t.Errorf("api.Undocumented names %s, which is no route", p)
		}
	}
}

// validating wraps a handler and validates every answer against the
// document, counting per operation which status classes it has seen.
type validating struct {
	t     *testing.T
	next  http.Handler
	v     validator.Validator
	model *v3.Document
	mu    sync.Mutex
	seen  map[string]map[int]bool // "GET /path" → status class
	count int
}

func (h *validating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	res := rec.Result()
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())

	route := r.Pattern // set by the API's ServeMux on this request
	if route == "" || strings.HasPrefix(r.URL.Path, "/ui/") || route == "/" {
		return
	}
	ok, errs := h.validate(r, res, route)
	if !ok {
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += fmt.Sprintf("\n    at %s: %s", se.FieldPath+" "+se.KeywordLocation, se.Reason)
			}
			h.t.Errorf("%s %s → %d does not match /openapi.json: %s\n  body: %.400s", r.Method, r.URL.Path, rec.Code, msg, rec.Body.Bytes())
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.count++
	if h.seen[route] == nil {
		h.seen[route] = map[int]bool{}
	}
	h.seen[route][rec.Code/100] = true
}

// validate checks an answer against its operation's responses. The
// validator finds the operation from the URL, except for patterns ending
// in {name...}, whose value has slashes that an OpenAPI path parameter
// cannot match: those are looked up by the route's pattern.
func (h *validating) validate(r *http.Request, res *http.Response, route string) (bool, []*liberrors.ValidationError) {
	method, pattern, _ := strings.Cut(route, " ")
	if !strings.Contains(pattern, "...}") {
		return h.v.ValidateHttpResponse(r, res)
	}
	path := apidoc.Path(pattern)
	item, found := h.model.Paths.PathItems.Get(path)
	if !found || item.GetOperations().GetOrZero(strings.ToLower(method)) == nil {
		return false, []*liberrors.ValidationError{{Message: route + " is not in the document"}}
	}
	return h.v.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(r, res, item, path)
}

// TestOpenAPIResponsesValidate sends every route of the table the requests
// of the authorization matrix (each credential of its kind, so error
// answers as well as successes) and more answers (renders as files and as
// JSON, async, v1 errors, validation errors), and validates every answer
// against its schema in the document. Every documented route must have
// answered at least one success and one error.
func TestOpenAPIResponsesValidate(t *testing.T) {
	f := newFixture(t)
	_, v, model := openAPIDoc(t, f.e)
	// The mux sets r.Pattern on the request it hands the handler; record
	// on the inside of the API's middleware by wrapping each answer here.
	h := &validating{t: t, v: v, model: model, seen: map[string]map[int]bool{}}
	h.next = f.e.h
	f.e.h = patterned(h, f.e.api.Routes())

	for _, r := range f.e.api.Routes() {
		if _, skip := api.Undocumented[r.Pattern]; skip {
			continue
		}
		row := apiRows[routeKey(r.Method, r.Pattern)]
		for _, c := range f.creds(string(r.Auth)) {
			req := request{method: cmp.Or(r.Method, "GET"), target: f.fill(t, r.Pattern), header: http.Header{}}
			if row.body != nil {
				req.body = row.body(f)
			}
			c.apply(&req)
			f.e.do(req)
		}
	}
	extra := []struct {
		method, target string
		body           any
	}{
		{"GET", "/api/render/" + f.page, nil}, // binary
		{"GET", "/api/render/" + f.page + "?output=json&format=pdf", nil},
		{"GET", "/api/render/" + f.page + "?format=gif", nil},
		{"POST", "/api/render", map[string]any{"pageId": f.page, "async": true}},
		{"POST", "/api/render", map[string]any{"pageId": f.page, "binary": true, "format": "jpeg", "quality": 80}},
		{"POST", "/api/render", map[string]any{"pageId": f.page, "nope": 1}},
		{"POST", "/api/render", []byte("{")},
		{"POST", "/v1/render/sync", map[string]any{"url": "http://127.0.0.1/"}},
		{"POST", "/v1/render/sync", map[string]any{"html": "<p>x</p>", "width": 0}},
		{"POST", "/v1/render/async", map[string]any{"html": "<p>x</p>", "format": "pdf", "pdf_margin": "minimum", "ttl": 60}},
		{"POST", "/v1/render/async", map[string]any{"html": "<p>x</p>", "format": "pdf", "pdf_margin": "minimum", "ttl": 60}}, // cache hit
		{"GET", "/v1/render/nope", nil},
		{"POST", "/api/templates", map[string]any{"name": ""}},
		{"POST", "/api/pages", map[string]any{"templateId": "nope", "name": "x"}},
		{"PUT", "/api/pages/" + f.page, map[string]any{"publish": true}},
		{"POST", "/api/webhooks", map[string]any{"url": "ftp://x"}},
		{"GET", "/api/logs?status=4xx&limit=1", nil},
		{"GET", "/api/logs?limit=1", nil},
		{"GET", "/api/logs?limit=0", nil},
		{"GET", "/api/webhook-deliveries?limit=1&status=pending", nil},
		{"GET", "/api/webhook-deliveries?status=nope", nil},
		{"POST", "/api/render-secret/rotate?revokePrevious=maybe", nil},
	}
	for _, x := range extra {
		f.e.do(request{method: x.method, target: x.target, body: x.body, header: http.Header{"Authorization": {"Bearer " + f.tokA}}})
	}
	f.e.do(request{method: "GET", target: "/healthz"})
	f.e.do(request{method: "GET", target: "/docs"})

	t.Logf("%d answers of %d routes validated against /openapi.json", h.count, len(h.seen))
	if h.count < 100 {
		t.Errorf("only %d answers validated", h.count)
	}
	for _, r := range f.e.api.Routes() {
		if _, skip := api.Undocumented[r.Pattern]; skip || r.Auth == api.AuthNone {
			continue
		}
		key := cmp.Or(r.Method, "ANY") + " " + r.Pattern
		classes := h.seen[key]
		if !classes[2] {
			t.Errorf("%s: no successful answer was validated", key)
		}
		if !classes[4] {
			t.Errorf("%s: no error answer was validated", key)
		}
	}
}

// patterned routes a request through a ServeMux of the route table's
// patterns only to learn which route it matches (Request.Pattern), then
// hands it to next with that pattern set.
func patterned(next http.Handler, routes []api.Route) http.Handler {
	mux := http.NewServeMux()
	for _, r := range routes {
		p := r.Pattern
		if r.Method != "" {
			p = r.Method + " " + p
		}
		mux.HandleFunc(p, func(w http.ResponseWriter, req *http.Request) {
			req.Pattern = p
			next.ServeHTTP(w, req)
		})
	}
	return mux
}

// TestRenderBodyDocKnownToParser: the documented body of POST /api/render
// names only fields render.ParseBody takes (it refuses unknown ones).
func TestRenderBodyDocKnownToParser(t *testing.T) {
	props := bodyProps(t, "/api/render", "post")
	if len(props) < 10 {
		t.Fatalf("POST /api/render documents %d body fields", len(props))
	}
	for name := range props {
		data, _ := json.Marshal(map[string]any{name: nil, "pageId": "pg_x"})
		if _, err := render.ParseBody(data); err != nil && strings.Contains(err.Error(), "unknown field") {
			t.Errorf("documented field %q: %v", name, err)
		}
	}
	if _, err := render.ParseBody([]byte(`{"pageId":"pg_x","nope":1}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("ParseBody took an unknown field (%v): this test cannot tell documented fields from others", err)
	}
}

func bodyProps(t *testing.T, path, method string) map[string]any {
	t.Helper()
	doc, err := apidoc.Build(api.Description("test"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	op := d["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
	sc := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	if ref, ok := sc["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		sc = d["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
	return sc["properties"].(map[string]any)
}

// TestOpenAPIValidationCatchesDrift: an answer with a field the schema does
// not name, or missing one it requires, fails validation, so the test
// above would catch a handler that changed its answer.
func TestOpenAPIValidationCatchesDrift(t *testing.T) {
	e := setup(t)
	_, v, model := openAPIDoc(t, e)
	h := &validating{t: t, v: v, model: model}
	for _, body := range []string{
		`{"status":"ok","version":"x","sandbox":false,"extra":1}`,
		`{"status":"ok","version":"x"}`,
		`{"status":"fine","version":"x","sandbox":false}`,
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(200)
		_, _ = rec.WriteString(body)
		req := httptest.NewRequest("GET", "http://"+host+"/healthz", nil)
		if ok, _ := h.validate(req, rec.Result(), "GET /healthz"); ok {
			t.Errorf("GET /healthz answering %s validated", body)
		}
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(200)
	_, _ = rec.WriteString(`{"status":"ok","version":"x","sandbox":true}`)
	if ok, errs := h.validate(httptest.NewRequest("GET", "http://"+host+"/healthz", nil), rec.Result(), "GET /healthz"); !ok {
		t.Errorf("a right answer did not validate: %v", errs)
	}
}
