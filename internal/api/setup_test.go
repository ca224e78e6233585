package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/render/rendertest"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/ui"
)

// host is the Host of every request the handler-level tests send, and so
// the Origin the console accepts.
const host = "renderhook.test"

// fakeBrowser stands in for Chromium, the edge we do not own: it answers
// every render with a tiny valid PNG (or PDF) and counts what it was asked.
type fakeBrowser struct {
	renders, urlRenders atomic.Int64
	// result, when set, is the file of every image render (a benchmark's
	// realistic size); set before the first request.
	result []byte
}

var tinyPNG = func() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()

const tinyPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// tinyVideo is the start of an mp4 (its ftyp box) and of a webm (EBML's
// magic): enough for a file that is only stored and served.
var tinyVideo = map[browser.Format]string{
	browser.FormatMP4:  "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
	browser.FormatWebM: "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm",
}

func fakeResult(f browser.Format) browser.Result {
	if f == browser.FormatPDF {
		return browser.Result{Data: []byte(tinyPDF), ContentType: "application/pdf"}
	}
	if v, ok := tinyVideo[f]; ok {
		return browser.Result{Data: []byte(v), ContentType: f.ContentType()}
	}
	return browser.Result{Data: tinyPNG, ContentType: "image/png"}
}

func (b *fakeBrowser) Render(_ context.Context, req browser.Request) (*browser.Result, error) {
	b.renders.Add(1)
	res := fakeResult(req.Format)
	if b.result != nil && req.Format != browser.FormatPDF {
		res.Data = b.result
	}
	return &res, nil
}

func (b *fakeBrowser) RenderURL(_ context.Context, req browser.URLRequest) (*browser.URLResult, error) {
	b.urlRenders.Add(1)
	res := fakeResult(req.Format)
	// What Chromium extracts, as little of it as a fake needs.
	if x := req.Extract; x.HTML || x.MHTML || x.Markdown || x.Metadata || x.CustomData != "" {
		res.Extracted = &browser.Extracted{}
		if x.HTML {
			res.Extracted.HTML = []byte("<p>fake</p>")
		}
		if x.MHTML {
			res.Extracted.MHTML = []byte("MIME-Version: 1.0\r\n\r\nfake")
		}
		if x.Markdown {
			res.Extracted.Markdown = []byte("fake\n")
		}
		if x.Metadata {
			res.Extracted.Metadata = &browser.PageMetadata{Title: "fake"}
		}
		if x.CustomData != "" {
			res.Extracted.CustomData = json.RawMessage(`null`)
		}
	}
	return &browser.URLResult{Result: res, Status: http.StatusOK, FinalURL: req.URL}, nil
}

// env is a handler-level renderhook: the real API and console handlers on
// real SQLite and local files, with River insert-only (jobs are recorded,
// never worked, so nothing changes behind a test's back) and a fake
// browser.
type env struct {
	t       testing.TB
	st      store.Store
	api     *api.Server
	console *ui.Server
	h       http.Handler
	browser *fakeBrowser
	signer  *blob.Signer
	bucket  blob.Bucket
	// db is the store's database (the SQLite writer handle), read by
	// scenarios to check what a request left behind (rows, River jobs).
	db *sql.DB
}

func setup(t testing.TB) *env { return setupGuarded(t, nil, nil) }

// setupWith is setup with the store the handlers and services use
// wrapped by wrap (a store that runs a concurrent change at a chosen
// moment); River works on the real one.
func setupWith(t *testing.T, wrap func(store.Store) store.Store) *env {
	return setupGuarded(t, wrap, nil)
}

// setupUploads is setup whose egress guard allows the loopback
// address, for the API's checks and as the guard of uploads to clients'
// buckets (use_s3): a test's httptest receiver stands in for the
// client's bucket.
func setupUploads(t *testing.T) *env {
	t.Helper()
	g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	return setupGuarded(t, nil, g)
}

// setupGuarded is setupWith with guard, when not nil, as the API's
// egress guard and the uploads' (render.Config.Egress).
func setupGuarded(t testing.TB, wrap func(store.Store) store.Store, uploads *egress.Guard) *env {
	t.Helper()
	ctx := context.Background()
	d := rendertest.New(t, t.TempDir(), wrap, true)
	db, st, bucket, signer, guard, q, notify := d.DB, d.Store, d.Bucket, d.Signer, d.Guard, d.Queue, d.Notify
	fb := &fakeBrowser{}
	cfg := d.Config(fb)
	if uploads != nil {
		guard, cfg.Egress = uploads, uploads
	}
	renderer, err := render.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	renderer.RegisterAsync(q.Workers, 0)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	console, err := ui.New(ctx, ui.Config{Store: st, Renderer: renderer, Signer: signer, Notify: notify, CheckURL: guard.CheckURL})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{
		Store: st, Renderer: renderer, Bucket: bucket, Signer: signer, Notify: notify, CheckURL: guard.CheckURL, UI: console,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, api: a, console: console, h: a.Handler(), browser: fb, signer: signer, bucket: bucket, db: db.DB()}
}

// request is one HTTP request to the handler.
type request struct {
	method, target string
	// body is sent as JSON unless it is url.Values (a form) or []byte.
	body   any
	header http.Header
}

type response = servertest.Answer

func (e *env) do(req request) response {
	e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := req.body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	hr := httptest.NewRequest(req.method, "http://"+host+req.target, rd)
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// call sends a JSON request with a bearer token and fails the test unless
// the status is want.
func (e *env) call(want int, method, target, token string, body any) response {
	e.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	res := e.do(request{method: method, target: target, body: body, header: h})
	if res.Status != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, target, res.Status, want, res.Body)
	}
	return res
}

// newSpace creates a space and an API token of it.
func (e *env) newSpace(name string) (*store.Space, string) {
	e.t.Helper()
	id, tok := servertest.NewSpace(e.t, e.st, name)
	sp, err := e.st.GetSpace(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp, tok
}

// newToken mints another API token of a space.
func (e *env) newToken(spaceID string) (raw string, tok *store.Token) {
	e.t.Helper()
	raw, tok, err := auth.CreateToken(context.Background(), e.st, spaceID)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw, tok
}

// session signs in to the console with token and returns the session
// cookie and its CSRF token (read from a page, as a browser would).
func (e *env) session(token string) (cookie, csrf string) {
	e.t.Helper()
	res := e.do(request{method: "POST", target: "/ui/login", body: url.Values{"token": {token}},
		header: http.Header{"Origin": {"http://" + host}}})
	if res.Status != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d: %s", res.Status, res.Body)
	}
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == "rh_ui_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		e.t.Fatal("sign in set no session cookie")
	}
	page := e.do(request{method: "GET", target: "/ui/tokens", header: http.Header{"Cookie": {"rh_ui_session=" + cookie}}})
	return cookie, servertest.CSRF(e.t, page)
}
