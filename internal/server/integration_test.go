package server_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/blob/s3test"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
)

const cardHTML = servertest.CardHTML

// env is a running server plus a client for one space.
type env struct {
	t     *testing.T
	srv   *server.Server
	base  string
	token string
	space string
	// storage is the server's s3:// storage URL, "" for local files.
	storage string
}

func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := browser.FindChromium(); err != nil {
		t.Skip("chromium not installed: run `make test`, which installs it")
	}
}

// startServer runs a real server (SQLite, local files, Chromium) on a
// random loopback port.
func startServer(t *testing.T, bcfg browser.Config) *env {
	t.Helper()
	return startServerCfg(t, server.Config{Browser: bcfg})
}

func startServerCfg(t *testing.T, cfg server.Config) *env {
	t.Helper()
	servertest.RequireChromium(t)
	b := testBackend(t)
	b.Apply(&cfg)
	srv, base := servertest.Start(t, cfg)
	e := &env{t: t, srv: srv, base: base, storage: cfg.Storage}
	e.space, e.token = e.newSpace("test")
	return e
}

// backend is the database and file store a test server runs on.
type backend struct{ servertest.Backend }

func testBackend(t *testing.T) backend { return backend{servertest.TestBackend(t)} }

// serveArgs are the serve flags selecting the backend.
func (b backend) serveArgs() []string {
	args := []string{"--database", b.DB}
	if b.Storage != "" {
		args = append(args, "--storage", b.Storage, "--storage-create-bucket")
	}
	return args
}

// fileURLPrefix is how the URLs of stored files begin: the server's
// signed /files/ URLs, or the S3 server's own (presigned) ones.
func (e *env) fileURLPrefix() string {
	if e.storage == "" {
		return e.base + "/files/"
	}
	c, err := blob.ParseS3URL(e.storage)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Endpoint + "/" + c.Bucket + "/"
}

// sameFile reports whether two file URLs name the same file
// (servertest.SameFile).
func (e *env) sameFile(a, b string) bool { return servertest.SameFile(e.storage, a, b) }

// tamper spoils the signature of a file URL and says what status the
// file store answers it with.
func (e *env) tamper(fileURL string) (string, int) {
	if e.storage == "" {
		return regexp.MustCompile(`sig=[0-9a-f]{4}`).ReplaceAllString(fileURL, "sig=0000"), 404
	}
	return regexp.MustCompile(`X-Amz-Signature=[0-9a-f]{4}`).ReplaceAllString(fileURL, "X-Amz-Signature=0000"), 403
}

// blockStorage makes every upload to the space's files fail until the
// returned function is called, and says what the failures' errors contain.
func (e *env) blockStorage() (unblock func(), errText string) {
	e.t.Helper()
	if e.storage == "" {
		// A plain file where the space's folder goes: every upload fails
		// (even for root) until it is removed.
		dir := filepath.Join(e.srv.DataDir(), "files", e.space)
		if err := os.WriteFile(dir, []byte("in the way"), 0o600); err != nil {
			e.t.Fatal(err)
		}
		return func() {
			if err := os.Remove(dir); err != nil {
				e.t.Fatal(err)
			}
		}, "not a directory"
	}
	// The (still empty) bucket goes away until it is made again.
	c, bucket := s3test.Client(e.t, e.storage)
	ctx := context.Background()
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		e.t.Fatal(err)
	}
	return func() {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}, "does not exist"
}

// with returns a copy of e that reports failures to t (a subtest).
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) newSpace(name string) (spaceID, token string) {
	e.t.Helper()
	return servertest.NewSpace(e.t, e.srv.Store, name)
}

// resp is an answer of the server, read whole, with the server tests'
// own check of its error object (errCode).
type resp struct{ servertest.Answer }

// errCode returns error.code of an error answer, checking its shape.
func (r resp) errCode(t *testing.T) string {
	t.Helper()
	m := r.JSON(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without message: %s", r.Body)
	}
	code, _ := e["code"].(string)
	return code
}

func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	return resp{servertest.Do(e.t, method, e.base+path, token, body)}
}

func (e *env) mustDo(status int, method, path, token string, body any) resp {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.Status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

// cardPage creates the card template and a published page in e's space.
func (e *env) cardPage(token string, extra map[string]any) (templateID, pageID string) {
	e.t.Helper()
	tplBody := servertest.CardTemplate("card", extra)
	tpl := e.mustDo(201, "POST", "/api/templates", token, tplBody).JSON(e.t)
	templateID = tpl["id"].(string)
	pg := e.mustDo(201, "POST", "/api/pages", token, map[string]any{
		"templateId": templateID, "name": "p", "values": map[string]any{"title": "Page title"}, "publish": true,
	}).JSON(e.t)
	return templateID, pg["id"].(string)
}

// waitLog polls the log entry of a request until ok accepts it.
func (e *env) waitLog(requestID string, ok func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := e.do("GET", "/api/logs/"+requestID, e.token, nil)
		if r.Status == 200 {
			l := r.JSON(e.t)
			if ok(l) {
				return l
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("log entry %s never reached the expected state: %s", requestID, r.Body)
			}
		} else if r.Status != 404 || time.Now().After(deadline) {
			e.t.Fatalf("log %s: %d %s", requestID, r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// download fetches a signed file URL without a token.
func (e *env) download(u string) []byte {
	e.t.Helper()
	res, err := http.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		e.t.Fatalf("download %s: %d %v", u, res.StatusCode, err)
	}
	return b
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v (%d bytes: %.40q)", err, len(b), b)
	}
	return img
}

func near(c color.Color, r, g, b uint8) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(a uint32, b uint8) bool { x := int(a>>8) - int(b); return x > -8 && x < 8 }
	return d(cr, r) && d(cg, g) && d(cb, b)
}

func TestRenderFormats(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 2})
	_, pageID := e.cardPage(e.token, nil)

	t.Run("png 1200x630", func(t *testing.T) {
		e := e.with(t)
		r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
		if ct := r.Header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		for _, h := range []string{"X-Request-Id", "X-Render-Id", "X-Render-Time-Ms"} {
			if r.Header.Get(h) == "" {
				t.Errorf("missing header %s", h)
			}
		}
		img := decodePNG(t, r.Body)
		if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 630 {
			t.Fatalf("size %dx%d, want 1200x630", b.Dx(), b.Dy())
		}
		if c := img.At(1100, 600); !near(c, 0, 0, 255) {
			t.Fatalf("background pixel %v, want blue", c)
		}
	})

	for _, tc := range []struct {
		format, ctype string
		magic         func([]byte) bool
	}{
		{"jpeg", "image/jpeg", func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }},
		{"webp", "image/webp", func(b []byte) bool { return len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }},
		{"pdf", "application/pdf", func(b []byte) bool { return bytes.HasPrefix(b, []byte("%PDF-")) }},
	} {
		t.Run(tc.format, func(t *testing.T) {
			e := e.with(t)
			r := e.mustDo(200, "GET", "/api/render/"+pageID+"?format="+tc.format, e.token, nil)
			if ct := r.Header.Get("Content-Type"); ct != tc.ctype {
				t.Fatalf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if !tc.magic(r.Body) {
				t.Fatalf("body is not %s: %.16q", tc.format, r.Body)
			}
		})
	}

	t.Run("jpeg decodes at size", func(t *testing.T) {
		e := e.with(t)
		r := e.mustDo(200, "GET", "/api/render/"+pageID+"?format=jpeg&quality=80", e.token, nil)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(r.Body))
		if err != nil || cfg.Width != 1200 || cfg.Height != 630 {
			t.Fatalf("jpeg %v %dx%d", err, cfg.Width, cfg.Height)
		}
	})

	t.Run("json output file url serves same bytes", func(t *testing.T) {
		e := e.with(t)
		r := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID})
		m := r.JSON(t)
		for _, k := range []string{"requestId", "renderId", "status", "pageId", "templateId", "format", "width", "height", "size", "file", "timings"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON answer lacks %q: %s", k, r.Body)
			}
		}
		if m["status"] != "succeeded" || m["format"] != "png" || m["width"] != 1200.0 || m["height"] != 630.0 {
			t.Fatalf("unexpected answer %s", r.Body)
		}
		fileURL := m["file"].(map[string]any)["url"].(string)
		if !strings.HasPrefix(fileURL, e.fileURLPrefix()) {
			t.Fatalf("file url %q not under public url", fileURL)
		}
		res, err := http.Get(fileURL) // no token: the signature is the capability
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("file: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if int(m["size"].(float64)) != len(body) {
			t.Fatalf("size %v but file has %d bytes", m["size"], len(body))
		}
		decodePNG(t, body)

		// A binary render's bytes reach the store through the callback; the
		// log entry then carries the file, with the same bytes.
		bin := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "binary": true})
		entry := e.waitLog(bin.Header.Get("X-Request-Id"), func(l map[string]any) bool { return l["file"] != nil })
		stored := e.download(entry["file"].(map[string]any)["url"].(string))
		if !bytes.Equal(stored, bin.Body) {
			t.Fatal("stored file differs from the bytes answered")
		}

		// A tampered signature is not served.
		bad, want := e.tamper(fileURL)
		if bad == fileURL {
			t.Fatalf("could not tamper with %s", fileURL)
		}
		res, err = http.Get(bad)
		if err != nil {
			t.Fatalf("GET tampered file url: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("tampered file url answered %d, want %d", res.StatusCode, want)
		}
	})
}

func TestTweaks(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 2})
	_, pageID := e.cardPage(e.token, nil)

	plain := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil).Body)

	t.Run("query tweak changes the image", func(t *testing.T) {
		e := e.with(t)
		img := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID+"?tweak:background="+url.QueryEscape("#ff0000"), e.token, nil).Body)
		if c := img.At(1100, 600); !near(c, 255, 0, 0) {
			t.Fatalf("pixel %v, want red", c)
		}
		if !near(plain.At(1100, 600), 0, 0, 255) {
			t.Fatal("untweaked render should stay blue")
		}
	})

	t.Run("tweaks JSON and POST body", func(t *testing.T) {
		e := e.with(t)
		q := url.Values{"tweaks": {`{"background":"#00ff00"}`}}
		img := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID+"?"+q.Encode(), e.token, nil).Body)
		if c := img.At(5, 600); !near(c, 0, 255, 0) {
			t.Fatalf("pixel %v, want green", c)
		}
		r := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "binary": true, "tweaks": map[string]any{"background": "rgb(255, 255, 0)"}})
		if c := decodePNG(t, r.Body).At(5, 600); !near(c, 255, 255, 0) {
			t.Fatalf("pixel %v, want yellow", c)
		}
	})

	t.Run("script in a tweak is text", func(t *testing.T) {
		e := e.with(t)
		// Executed, the script would paint the page green; escaped, it is
		// printed as text on the blue background.
		js := `<script>document.documentElement.style.background='#00ff00';document.body.style.background='#00ff00'</script>`
		img := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID+"?tweak:title="+url.QueryEscape(js), e.token, nil).Body)
		if c := img.At(1100, 600); !near(c, 0, 0, 255) {
			t.Fatalf("pixel %v: the script ran", c)
		}
		// The text row holds more white glyph pixels than with the short title.
		if white(img) <= white(plain) {
			t.Fatal("the script tag was not rendered as visible text")
		}
	})

	t.Run("bad tweak values", func(t *testing.T) {
		e := e.with(t)
		r := e.mustDo(400, "GET", "/api/render/"+pageID+"?tweak:background="+url.QueryEscape("red;} body{display:none"), e.token, nil)
		if r.errCode(t) != "invalid_request" {
			t.Fatalf("code %s", r.Body)
		}
		e.mustDo(400, "GET", "/api/render/"+pageID+"?tweak:nosuch=1", e.token, nil)
		e.mustDo(400, "GET", "/api/render/"+pageID+"?tweaks=notjson", e.token, nil)
	})

	t.Run("draft and templateId", func(t *testing.T) {
		e := e.with(t)
		e.mustDo(200, "PUT", "/api/pages/"+pageID, e.token, map[string]any{"values": map[string]any{"background": "#ff00ff"}})
		pub := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil).Body)
		if !near(pub.At(5, 600), 0, 0, 255) {
			t.Fatal("an edit changed the published render before publishing")
		}
		draft := decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID+"?draft=true", e.token, nil).Body)
		if !near(draft.At(5, 600), 255, 0, 255) {
			t.Fatalf("draft pixel %v, want magenta", draft.At(5, 600))
		}
		e.mustDo(200, "POST", "/api/pages/"+pageID+"/publish", e.token, nil)
		pub = decodePNG(t, e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil).Body)
		if !near(pub.At(5, 600), 255, 0, 255) {
			t.Fatal("publish did not update the published render")
		}
		if code := e.mustDo(422, "GET", "/api/render/"+pageID+"?templateId=tpl_other", e.token, nil).errCode(t); code != "template_mismatch" {
			t.Fatalf("code %s", code)
		}
	})
}

func white(img image.Image) int {
	n := 0
	for y := 0; y < 120; y++ {
		for x := 0; x < 1200; x++ {
			if near(img.At(x, y), 255, 255, 255) {
				n++
			}
		}
	}
	return n
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page\b[^s]`)

func TestMultiPagePDF(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 2})
	_, p1 := e.cardPage(e.token, nil)
	_, p2 := e.cardPage(e.token, map[string]any{"width": 800, "height": 400})
	r := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{
		"pageIds": []string{p1, p2}, "format": "pdf", "binary": true,
		"tweaksPerPage": []map[string]any{{"title": "first"}, {"title": "second"}},
	})
	if !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", r.Body)
	}
	if n := len(pdfPage.FindAll(r.Body, -1)); n != 2 {
		t.Fatalf("PDF has %d pages, want 2", n)
	}
	if path, err := exec.LookPath("pdfinfo"); err == nil {
		cmd := exec.Command(path, "-")
		cmd.Stdin = bytes.NewReader(r.Body)
		out, err := cmd.Output()
		if err != nil || !regexp.MustCompile(`Pages:\s+2\b`).Match(out) {
			t.Fatalf("pdfinfo: %v\n%s", err, out)
		}
	}
	// Several pages need PDF.
	e.mustDo(400, "POST", "/api/render", e.token, map[string]any{"pageIds": []string{p1, p2}, "format": "png"})
}

func TestAuthAndIsolation(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	tplID, pageID := e.cardPage(e.token, nil)
	_, otherToken := e.newSpace("other")

	for _, tc := range []struct{ name, token string }{{"no token", ""}, {"bad token", "rh_notatoken"}, {"wrong scheme", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			r := e.mustDo(401, "GET", "/api/render/"+pageID, tc.token, nil)
			if r.errCode(t) != "unauthorized" {
				t.Fatalf("%s", r.Body)
			}
			e.mustDo(401, "POST", "/api/render", tc.token, map[string]any{"pageId": pageID})
			e.mustDo(401, "GET", "/api/templates", tc.token, nil)
		})
	}
	t.Run("basic auth is not bearer", func(t *testing.T) {
		e := e.with(t)
		req, _ := http.NewRequest("GET", e.base+"/api/templates", nil)
		req.SetBasicAuth(e.token, "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("other space gets 404", func(t *testing.T) {
		e := e.with(t)
		for _, p := range []string{"/api/render/" + pageID, "/api/templates/" + tplID, "/api/pages/" + pageID} {
			if code := e.mustDo(404, "GET", p, otherToken, nil).errCode(t); !strings.Contains(code, "not_found") {
				t.Fatalf("%s: %s", p, code)
			}
		}
		e.mustDo(404, "POST", "/api/render", otherToken, map[string]any{"pageId": pageID})
		e.mustDo(404, "PUT", "/api/templates/"+tplID, otherToken, map[string]any{"name": "stolen"})
		e.mustDo(404, "DELETE", "/api/pages/"+pageID, otherToken, nil)
		e.mustDo(404, "POST", "/api/pages/"+pageID+"/publish", otherToken, nil)
		e.mustDo(404, "POST", "/api/pages", otherToken, map[string]any{"templateId": tplID})
		// Nothing changed for the owner.
		if n := e.mustDo(200, "GET", "/api/templates/"+tplID, e.token, nil).JSON(t)["name"]; n != "card" {
			t.Fatalf("name %v", n)
		}
		e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	})
	t.Run("public template renders without token", func(t *testing.T) {
		e := e.with(t)
		_, pub := e.cardPage(e.token, map[string]any{"requireGetRenderToken": false})
		r := e.mustDo(200, "GET", "/api/render/"+pub, "", nil)
		decodePNG(t, r.Body)
		// POST still needs a token.
		e.mustDo(401, "POST", "/api/render", "", map[string]any{"pageId": pub})
		// An unknown page without a token is a 401, like a private one.
		e.mustDo(401, "GET", "/api/render/pg_doesnotexist", "", nil)
	})
}

func TestBadInput(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	tplID, pageID := e.cardPage(e.token, nil)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed json", "POST", "/api/render", `{"pageId": `, 400, "invalid_request"},
		{"unknown field", "POST", "/api/render", `{"pageId":"x","nope":1}`, 400, "invalid_request"},
		{"unknown format GET", "GET", "/api/render/" + pageID + "?format=gif", nil, 400, "invalid_request"},
		{"unknown format POST", "POST", "/api/render", map[string]any{"pageId": pageID, "format": "bmp"}, 400, "invalid_request"},
		{"unknown output", "GET", "/api/render/" + pageID + "?output=xml", nil, 400, "invalid_request"},
		{"unknown query param", "GET", "/api/render/" + pageID + "?widht=5", nil, 400, "invalid_request"},
		{"unknown page GET", "GET", "/api/render/pg_nope", nil, 404, "page_not_found"},
		{"unknown page POST", "POST", "/api/render", map[string]any{"pageId": "pg_nope"}, 404, "page_not_found"},
		{"missing pageId", "POST", "/api/render", `{}`, 400, "invalid_request"},
		{"template bad html", "POST", "/api/templates", map[string]any{"name": "x", "html": "{{.title"}, 422, "validation_failed"},
		{"template bad size", "POST", "/api/templates", map[string]any{"name": "x", "html": "hi", "width": 0}, 422, "validation_failed"},
		{"template bad var type", "POST", "/api/templates", map[string]any{"name": "x", "html": "hi", "variables": []map[string]any{{"name": "a", "type": "date"}}}, 422, "validation_failed"},
		{"template malformed json", "POST", "/api/templates", `[1,2`, 400, "invalid_json"},
		{"page unknown template", "POST", "/api/pages", map[string]any{"templateId": "tpl_nope"}, 404, "template_not_found"},
		{"page bad value type", "POST", "/api/pages", map[string]any{"templateId": tplID, "values": map[string]any{"background": 12}}, 422, "validation_failed"},
		{"delete template in use", "DELETE", "/api/templates/" + tplID, nil, 409, "conflict"},
		{"unknown route", "GET", "/api/nothing", nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			r := e.mustDo(tc.status, tc.method, tc.path, e.token, tc.body)
			if code := r.errCode(t); code != tc.code {
				t.Fatalf("code %q, want %q: %s", code, tc.code, r.Body)
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}

	t.Run("body over 10 MiB is 413", func(t *testing.T) {
		e := e.with(t)
		big := `{"pageId":"` + pageID + `","tweaks":{"title":"` + strings.Repeat("a", 11<<20) + `"}}`
		r := e.mustDo(413, "POST", "/api/render", e.token, big)
		if r.errCode(t) != "body_too_large" {
			t.Fatalf("%s", r.Body)
		}
		r = e.mustDo(413, "POST", "/api/templates", e.token, `{"name":"x","html":"`+strings.Repeat("a", 11<<20)+`"}`)
		if r.errCode(t) != "body_too_large" {
			t.Fatalf("%s", r.Body)
		}
	})

	t.Run("failed validation changes nothing", func(t *testing.T) {
		e := e.with(t)
		before := e.mustDo(200, "GET", "/api/templates", e.token, nil).Body
		e.mustDo(422, "PUT", "/api/templates/"+tplID, e.token, map[string]any{"name": "renamed", "html": "{{"})
		after := e.mustDo(200, "GET", "/api/templates", e.token, nil).Body
		if !bytes.Equal(before, after) {
			t.Fatal("a rejected update changed the template")
		}
	})
}

// slowImage serves an image that answers only when released, to keep a
// browser tab busy for as long as a test needs.
func slowImage(t *testing.T) (url string, release func()) {
	ch := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ch:
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	}))
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, release
}

// slowPage makes a published page whose renders hold their tab until
// release (its image is a slowImage), and returns its render path.
func (e *env) slowPage() (path string, release func()) {
	e.t.Helper()
	imgURL, release := slowImage(e.t)
	tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{
		"name": "slow", "html": `<img src="{{.img}}">`, "width": 200, "height": 100,
		"variables": []map[string]any{{"name": "img", "type": "image"}},
	}).JSON(e.t)
	pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{
		"templateId": tpl["id"], "values": map[string]any{"img": imgURL + "/slow.gif"}, "publish": true,
	}).JSON(e.t)
	return "/api/render/" + pg["id"].(string), release
}

func TestQueueFullAnswers503(t *testing.T) {
	// Loopback allowed: the tab is held by a slow image server here.
	e := startServerCfg(t, server.Config{Browser: browser.Config{MaxTabs: 1, QueueSize: 1}, Egress: egressAllow("127.0.0.0/8")})
	path, release := e.slowPage()

	results := make(chan resp, 2)
	for i := 0; i < 2; i++ {
		go func() { results <- e.do("GET", path, e.token, nil) }()
		// Wait until the pool has taken the request, so the order is known.
		deadline := time.Now().Add(10 * time.Second)
		for st := e.srv.Pool.Stats(); st.Busy+st.Queued < i+1; st = e.srv.Pool.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("request %d never reached the pool: %+v", i, st)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	start := time.Now()
	r := e.mustDo(503, "GET", path, e.token, nil)
	if r.errCode(t) != "queue_full" {
		t.Fatalf("%s", r.Body)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("a full queue made the client wait instead of answering at once")
	}
	release()
	for i := 0; i < 2; i++ {
		if r := <-results; r.Status != 200 {
			t.Fatalf("queued render: %d %s", r.Status, r.Body)
		}
	}
}

func TestRecoversAfterBrowserKilled(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 2})
	_, pageID := e.cardPage(e.token, nil)
	e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)

	pid := e.srv.Pool.BrowserPID()
	if pid <= 0 {
		t.Fatalf("browser pid %d", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var last resp
	for {
		last = e.do("GET", "/api/render/"+pageID, e.token, nil)
		if last.Status == 200 {
			break
		}
		if last.Status != 503 {
			t.Fatalf("while recovering: %d %s", last.Status, last.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful render within 60s of the kill: %s", last.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	decodePNG(t, last.Body)
	if e.srv.Pool.BrowserPID() == pid {
		t.Fatal("browser pid unchanged after kill")
	}
	e.mustDo(200, "GET", "/healthz", "", nil)
}

func TestHealthzAndCrud(t *testing.T) {
	e := startServer(t, browser.Config{MaxTabs: 1})
	if s := e.mustDo(200, "GET", "/healthz", "", nil).JSON(t)["status"]; s != "ok" {
		t.Fatalf("healthz %v", s)
	}
	tplID, pageID := e.cardPage(e.token, nil)
	list := e.mustDo(200, "GET", "/api/templates", e.token, nil).JSON(t)["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("templates %d", len(list))
	}
	tpl := e.mustDo(200, "PUT", "/api/templates/"+tplID, e.token, map[string]any{"name": "renamed"}).JSON(t)
	if tpl["name"] != "renamed" || tpl["html"] != cardHTML || tpl["requireGetRenderToken"] != true {
		t.Fatalf("partial update lost fields: %v", tpl)
	}
	pg := e.mustDo(200, "GET", "/api/pages/"+pageID, e.token, nil).JSON(t)
	if pg["published"] == nil || pg["values"].(map[string]any)["title"] != "Page title" {
		t.Fatalf("page %v", pg)
	}
	e.mustDo(204, "DELETE", "/api/pages/"+pageID, e.token, nil)
	e.mustDo(404, "GET", "/api/pages/"+pageID, e.token, nil)
	e.mustDo(404, "GET", "/api/render/"+pageID, e.token, nil)
	e.mustDo(204, "DELETE", "/api/templates/"+tplID, e.token, nil)
	e.mustDo(404, "GET", "/api/templates/"+tplID, e.token, nil)

	// A page that was never published renders only as a draft.
	tplID, _ = e.cardPage(e.token, nil)
	np := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": tplID}).JSON(t)
	if code := e.mustDo(422, "GET", "/api/render/"+np["id"].(string), e.token, nil).errCode(t); code != "page_not_published" {
		t.Fatal(code)
	}
	e.mustDo(200, "GET", "/api/render/"+np["id"].(string)+"?draft=true", e.token, nil)
}
