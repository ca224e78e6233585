package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
)

// A scenario is one request to the whole handler (API and console) and
// everything a client or an operator could notice of it, in PocketBase's
// ApiScenario style: the status, the error code and message, headers,
// what the body must and must not carry, and what it left behind in the
// database (rows, River jobs), read from the tables themselves. The
// tables below pin the HTTP behaviour of every route as it is, so a
// change of the handlers' insides can be shown to change nothing.
//
// URLs, headers, bodies, messages and substrings may name fixture objects
// as {name} (see scenarioFixture.vars); {fresh-…} makes a new object for
// the one scenario (routes that delete or change what they name).
type scenario struct {
	name   string
	method string
	url    string
	// auth is the credential sent: asA, asB, asRevoked, asMalformed,
	// sessionA, sessionB (the console's cookie; with the CSRF token and
	// this host's Origin on POSTs), or none.
	auth   string
	header map[string]string
	// body is sent as JSON, or as a form when form is set (the CSRF token
	// added for sessions); rawBody wins over body.
	body    string
	form    bool
	rawBody func() []byte

	status int
	// code and message are the JSON error's, both exact; every answer of
	// the JSON API at 400 or above names them.
	code, message string
	contains      []string
	notContains   []string
	// headers are exact values; "*" is any non-empty value, "-" absent,
	// and "prefix*" a value that starts with prefix.
	headers map[string]string
	// effects are the changes in row counts, per table, and the River jobs
	// inserted, per kind ("job:render.followup"); changed names tables whose
	// rows change in place. Every other table must be left exactly as it
	// was, and no other job inserted.
	effects map[string]int
	changed []string
}

const (
	asA         = "A"
	asB         = "B"
	asRevoked   = "revoked"
	asMalformed = "malformed"
	sessionA    = "session A"
	sessionB    = "session B"
	// sessionANoCSRF is A's session on a form without its CSRF token.
	sessionANoCSRF = "session A, no CSRF token"
)

// scenarioFixture is the authorization matrix's fixture (spaces A and B,
// A's objects, sessions) with B's objects and a few more of A's.
type scenarioFixture struct {
	*fixture
	vars map[string]string
}

func newScenarioFixture(t *testing.T) *scenarioFixture {
	f := &scenarioFixture{fixture: newFixture(t)}
	e := f.e
	ctx := context.Background()
	eps, err := e.st.ListWebhookEndpoints(ctx, f.a.ID)
	if err != nil || len(eps) != 1 {
		t.Fatalf("space A has %d endpoints (%v), want the fixture's one", len(eps), err)
	}
	epB := e.call(201, "POST", "/api/webhooks", f.tokB, map[string]any{"url": "https://hooks.example.com/b", "description": "of B"}).JSON(t)["id"].(string)
	tplB := e.call(201, "POST", "/api/templates", f.tokB, templateBody("template of B", true)).JSON(t)["id"].(string)
	pageB := e.call(201, "POST", "/api/pages", f.tokB, map[string]any{"templateId": tplB, "name": "page of B", "publish": true}).JSON(t)["id"].(string)
	outB := e.call(200, "POST", "/api/render", f.tokB, map[string]any{"pageId": pageB, "output": "json"}).JSON(t)
	dsB, err := e.st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: f.b.ID, Limit: 10})
	if err != nil || len(dsB) == 0 {
		t.Fatalf("B's render made no delivery: %v", err)
	}
	tplNum := e.call(201, "POST", "/api/templates", f.tokA, map[string]any{"name": "numbers", "html": "<p>{{.n}}</p>",
		"variables": []map[string]any{{"name": "n", "type": "number", "default": 1, "max": 10}}}).JSON(t)["id"].(string)
	pageNum := e.call(201, "POST", "/api/pages", f.tokA, map[string]any{"templateId": tplNum}).JSON(t)["id"].(string)
	unpublished := e.call(201, "POST", "/api/pages", f.tokA, map[string]any{"templateId": f.template, "name": "draft " + marker}).JSON(t)["id"].(string)
	toks, err := e.st.ListTokens(ctx, f.b.ID)
	if err != nil || len(toks) == 0 {
		t.Fatalf("space B has no token: %v", err)
	}
	f.vars = map[string]string{
		"tokA": f.tokA, "tokRev": f.tokRev, "tokenB": toks[0].ID,
		"tpl": f.template, "page": f.page, "unpublished": unpublished, "render": f.render, "requestId": f.requestID,
		"delivery": f.delivery, "endpoint": eps[0].ID, "v1Render": f.v1Render, "fileKey": f.fileKey,
		"fileSig": f.e.signerSig(f.fileKey), "fileSigB": f.fileSigB, "renderKey": f.a.RenderKey,
		"gt": url.QueryEscape(f.a.GetRenderToken), "pageSig": capability.PageSig(f.a.RenderSecret, f.page, ""),
		"tplB": tplB, "pageB": pageB, "endpointB": epB, "renderB": outB["renderId"].(string),
		"requestIdB": outB["requestId"].(string), "deliveryB": dsB[0].ID, "tplNum": tplNum, "pageNum": pageNum,
	}
	return f
}

// placeholder is a {name} in a scenario's strings.
var placeholder = regexp.MustCompile(`\{([A-Za-z0-9-]+)\}`)

// expand replaces {name} with the fixture's objects, making fresh ones
// where asked; anything else in braces (JSON, a template's {{ }}) stays.
func (f *scenarioFixture) expand(t *testing.T, s string, fresh map[string]string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := f.vars[name]; ok {
			return v
		}
		if !strings.HasPrefix(name, "fresh-") {
			return m
		}
		if _, ok := fresh[name]; !ok {
			fresh[name] = f.fresh(t, name)
		}
		return fresh[name]
	})
}

// signed puts a v1 link's signature in for {sigA} or {sigB}: the
// hex HMAC of the raw query under A's (B's) render secret.
func (f *scenarioFixture) signed(target string) string {
	_, query, _ := strings.Cut(target, "?")
	target = strings.Replace(target, "{sigA}", capability.V1LinkToken(f.a.RenderSecret, query), 1)
	return strings.Replace(target, "{sigB}", capability.V1LinkToken(f.b.RenderSecret, query), 1)
}

// fresh makes a new object of space A for one scenario.
func (f *scenarioFixture) fresh(t *testing.T, name string) string {
	t.Helper()
	e := f.e
	switch name {
	case "fresh-tpl":
		return e.call(201, "POST", "/api/templates", f.tokA, templateBody("fresh "+marker, true)).JSON(t)["id"].(string)
	case "fresh-page":
		return e.call(201, "POST", "/api/pages", f.tokA, map[string]any{"templateId": f.template, "name": "fresh " + marker}).JSON(t)["id"].(string)
	case "fresh-endpoint":
		return e.call(201, "POST", "/api/webhooks", f.tokA, map[string]any{"url": "https://hooks.example.com/fresh"}).JSON(t)["id"].(string)
	case "fresh-disabled-endpoint":
		return e.call(201, "POST", "/api/webhooks", f.tokA, map[string]any{"url": "https://hooks.example.com/off", "enabled": false}).JSON(t)["id"].(string)
	case "fresh-token":
		_, tok := e.newToken(f.a.ID)
		return tok.ID
	}
	t.Fatalf("no fresh object %q", name)
	return ""
}

// snapshot is what the database holds: row counts and contents per table,
// and River jobs per kind.
type snapshot struct {
	counts  map[string]int
	content map[string]string
}

// volatile columns change on reads a test does not make on purpose (a
// token's last use).
var volatile = map[string]bool{"last_used_at": true}

func (f *scenarioFixture) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := context.Background()
	db := f.e.db
	s := snapshot{counts: map[string]int{}, content: map[string]string{}}
	for _, table := range tableNames(t, db) {
		s.counts[table], s.content[table] = dumpTable(t, f, table)
	}
	jobs, err := db.QueryContext(ctx, `SELECT kind, count(*) FROM river_job GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	for jobs.Next() {
		var kind string
		var n int
		if err := jobs.Scan(&kind, &n); err != nil {
			t.Fatal(err)
		}
		s.counts["job:"+kind] = n
	}
	if err := jobs.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// tableNames lists the database's tables but SQLite's and River's own.
func tableNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var names string
	err := db.QueryRowContext(context.Background(), `SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'river_%' ORDER BY name)`).Scan(&names)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(names)
}

func dumpTable(t *testing.T, f *scenarioFixture, table string) (int, string) {
	t.Helper()
	rows, err := f.e.db.QueryContext(context.Background(), `SELECT * FROM "`+table+`" ORDER BY rowid`)
	if err != nil {
		// WITHOUT ROWID tables have no rowid; their primary key orders them.
		rows, err = f.e.db.QueryContext(context.Background(), `SELECT * FROM "`+table+`"`)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		n++
		for i, c := range cols {
			if !volatile[c] {
				fmt.Fprintf(&b, "%s=%v|", c, vals[i])
			}
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n, b.String()
}

// checkEffects compares two snapshots with what the scenario says it does.
func checkEffects(t *testing.T, sc scenario, before, after snapshot) {
	t.Helper()
	keys := map[string]bool{}
	for k := range before.counts {
		keys[k] = true
	}
	for k := range after.counts {
		keys[k] = true
	}
	for k := range sc.effects {
		keys[k] = true
	}
	var got []string
	ok := true
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		d := after.counts[k] - before.counts[k]
		if d != 0 {
			got = append(got, fmt.Sprintf("%s%+d", k, d))
		}
		if d != sc.effects[k] {
			ok = false
		}
	}
	if !ok {
		t.Errorf("effects: got {%s}, want %v", strings.Join(got, " "), sc.effects)
	}
	for table, was := range before.content {
		if _, counted := sc.effects[table]; counted || slices.Contains(sc.changed, table) {
			continue
		}
		if after.content[table] != was {
			t.Errorf("table %s changed, and the scenario says it does not", table)
		}
	}
	for _, table := range sc.changed {
		if before.content[table] == after.content[table] {
			t.Errorf("table %s is unchanged, and the scenario says it changes", table)
		}
	}
}

// run sends one scenario's request and checks everything it names.
func (f *scenarioFixture) run(t *testing.T, sc scenario) {
	t.Helper()
	f.e.t = t
	fresh := map[string]string{}
	x := func(s string) string { return f.expand(t, s, fresh) }
	req := request{method: sc.method, target: f.signed(x(sc.url)), header: http.Header{}}
	switch {
	case sc.rawBody != nil:
		req.body = sc.rawBody()
	case sc.form:
		v, err := url.ParseQuery(x(sc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.body = v
	case sc.body != "":
		req.body = []byte(x(sc.body))
	}
	switch sc.auth {
	case asA:
		req.header.Set("Authorization", "Bearer "+f.tokA)
	case asB:
		req.header.Set("Authorization", "Bearer "+f.tokB)
	case asRevoked:
		req.header.Set("Authorization", "Bearer "+f.tokRev)
	case asMalformed:
		req.header.Set("Authorization", "Bearer rh_not-a-token")
	case sessionA:
		f.cookie(f.cookieA, f.csrfA)(&req)
	case sessionB:
		f.cookie(f.cookieB, f.csrfB)(&req)
	case sessionANoCSRF:
		f.cookie(f.cookieA, "")(&req)
	case "":
	default:
		t.Fatalf("unknown auth %q", sc.auth)
	}
	for k, v := range sc.header {
		req.header.Set(k, x(v))
	}

	before := f.snapshot(t)
	res := f.e.do(req)
	after := f.snapshot(t)

	if res.Status != sc.status {
		t.Errorf("status %d, want %d: %.400s", res.Status, sc.status, res.Body)
	}
	if sc.code != "" || sc.message != "" {
		f.checkError(t, sc, res, x(sc.message))
	} else if res.Status >= 400 && !strings.HasPrefix(sc.url, "/ui/") {
		t.Errorf("the scenario names no error code for a %d: %.400s", res.Status, res.Body)
	}
	for k, want := range sc.headers {
		got := res.Header.Get(k)
		switch want = x(want); {
		case want == "*" && got == "":
			t.Errorf("header %s missing", k)
		case want == "-" && got != "":
			t.Errorf("header %s: %q, want none", k, got)
		case len(want) > 1 && strings.HasSuffix(want, "*"):
			if !strings.HasPrefix(got, strings.TrimSuffix(want, "*")) {
				t.Errorf("header %s: %q, want %q", k, got, want)
			}
		case want != "*" && want != "-" && got != want:
			t.Errorf("header %s: %q, want %q", k, got, want)
		}
	}
	if id := res.Header.Get("X-Request-Id"); !strings.HasPrefix(sc.url, "/ui/") && !strings.HasPrefix(id, "req_") {
		t.Errorf("X-Request-Id %q", id)
	}
	for _, s := range sc.contains {
		if len(s) < 3 {
			t.Errorf("contains %q is too short to mean anything", s)
		}
		if s = x(s); !strings.Contains(string(res.Body), s) {
			t.Errorf("body does not contain %q: %.600s", s, res.Body)
		}
	}
	for _, s := range sc.notContains {
		if s = x(s); strings.Contains(string(res.Body), s) {
			t.Errorf("body contains %q: %.600s", s, res.Body)
		}
	}
	checkEffects(t, sc, before, after)
}

// checkError checks the one JSON error shape: code and message exact, the
// request id the X-Request-Id header's, served as JSON.
func (f *scenarioFixture) checkError(t *testing.T, sc scenario, res response, message string) {
	t.Helper()
	var b struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res.Body, &b); err != nil {
		t.Errorf("error body is not JSON: %v: %.400s", err, res.Body)
		return
	}
	if b.Error.Code != sc.code {
		t.Errorf("error code %q, want %q", b.Error.Code, sc.code)
	}
	if b.Error.Message != message {
		t.Errorf("error message %q, want %q", b.Error.Message, message)
	}
	if b.Error.RequestID == "" || b.Error.RequestID != res.Header.Get("X-Request-Id") {
		t.Errorf("error requestId %q, X-Request-Id %q", b.Error.RequestID, res.Header.Get("X-Request-Id"))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
}

// runScenarios runs a table in order, each as a subtest; later scenarios
// may rely on what earlier ones did (the table says so where they do).
func runScenarios(t *testing.T, f *scenarioFixture, table []scenario) {
	seen := map[string]bool{}
	for _, sc := range table {
		if seen[sc.name] {
			t.Fatalf("two scenarios are named %q", sc.name)
		}
		seen[sc.name] = true
		t.Run(sc.name, func(t *testing.T) { f.run(t, sc) })
	}
}

// TestScenarioCoverage holds the tables to the route tables: every route
// of the API (api.Server.Routes) and of the console (ui.Server.Routes) has
// a scenario, and every route that asks for a credential has one it
// answers below 400 and one it refuses.
func TestScenarioCoverage(t *testing.T) {
	e := setup(t)
	tables := [][]scenario{healthScenarios, renderScenarios, v1Scenarios, webhookScenarios, secretScenarios, storageScenarios,
		logScenarios, resourceScenarios, consoleScenarios, refusalScenarios,
		listingScenarios("deliveries", "/api/webhook-deliveries", "requestId"), listingScenarios("logs", "/api/logs", "renderId")}
	apiMux, consoleMux := http.NewServeMux(), http.NewServeMux()
	type cover struct {
		auth    string
		ok, bad int
	}
	routes := map[string]*cover{}
	register := func(mux *http.ServeMux, method, pattern, auth string) {
		key := routeKey(method, pattern)
		routes[key] = &cover{auth: auth}
		if method != "" {
			pattern = method + " " + pattern
		}
		mux.Handle(pattern, http.NotFoundHandler())
	}
	for _, r := range e.api.Routes() {
		register(apiMux, r.Method, r.Pattern, string(r.Auth))
	}
	for _, r := range e.console.Routes() {
		register(consoleMux, r.Method, r.Pattern, "ui-"+string(r.Auth))
	}
	for _, table := range tables {
		for _, sc := range table {
			target := placeholder.ReplaceAllString(sc.url, "x")
			req := httptest.NewRequest(sc.method, "http://"+host+target, nil)
			_, pattern := apiMux.Handler(req)
			if pattern == "/ui/" {
				_, pattern = consoleMux.Handler(req)
			}
			method, path, ok := strings.Cut(pattern, " ")
			if !ok {
				method, path = "", pattern
			}
			c := routes[routeKey(method, path)]
			if c == nil {
				t.Errorf("scenario %q (%s %s) matches no route (%q)", sc.name, sc.method, sc.url, pattern)
				continue
			}
			// A console page without a session sends the browser to sign
			// in: that is its refusal.
			if sc.status >= 400 || (c.auth == "ui-session" && sc.auth == "") {
				c.bad++
			} else {
				c.ok++
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		c := routes[key]
		switch {
		case c.auth == "console":
			continue // the console's own routes are counted instead
		case c.ok+c.bad == 0:
			t.Errorf("route %s has no scenario", key)
		case c.auth == "none" || c.auth == "ui-none":
		case c.ok == 0:
			t.Errorf("route %s (%s) has no scenario it answers below 400", key, c.auth)
		case c.bad == 0:
			t.Errorf("route %s (%s) has no scenario it refuses", key, c.auth)
		}
	}
}
