package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/internal/testkit"
)

// env is a running renderhook (Chromium, and SQLite and local files or the
// test backends: servertest.TestBackend) on a random loopback port, with a
// first space and its token.
type env struct {
	t     *testing.T
	srv   *server.Server
	base  string
	space string
	token string
	// storage is the server's s3:// storage URL, "" for local files.
	storage string
}

func setup(t *testing.T, cfg server.Config) *env {
	t.Helper()
	servertest.RequireChromium(t)
	servertest.TestBackend(t).Apply(&cfg)
	srv, base := servertest.Start(t, cfg)
	e := &env{t: t, srv: srv, base: base, storage: cfg.Storage}
	e.space, e.token = e.newSpace("Acme marketing")
	return e
}

// isFileURL reports whether u is a link to a stored file with extension
// ext: a signed /files/ URL of the server, or a presigned one of the S3
// bucket.
func (e *env) isFileURL(u, ext string) bool {
	if e.storage == "" {
		return strings.HasPrefix(u, e.base+"/files/") && strings.Contains(u, ext+"?sig=")
	}
	return strings.Contains(u, ext+"?") && strings.Contains(u, "X-Amz-Signature=")
}

// sameFile reports whether two file URLs name the same file
// (servertest.SameFile).
func (e *env) sameFile(a, b string) bool { return servertest.SameFile(e.storage, a, b) }

func (e *env) newSpace(name string) (spaceID, token string) {
	e.t.Helper()
	return servertest.NewSpace(e.t, e.srv.Store, name)
}

type resp = servertest.Answer

// api calls the JSON API with a bearer token.
func (e *env) api(t *testing.T, want int, method, path, token string, body any) resp {
	t.Helper()
	r := servertest.Do(t, method, e.base+path, token, body)
	if want != 0 && r.Status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// cardPage creates the card template and a published page of it.
func (e *env) cardPage(t *testing.T, token string, extra map[string]any) (templateID, pageID string) {
	t.Helper()
	tpl := servertest.CardTemplate("Social card", extra)
	templateID = e.api(t, 201, "POST", "/api/templates", token, tpl).JSON(t)["id"].(string)
	pg := e.api(t, 201, "POST", "/api/pages", token, map[string]any{
		"templateId": templateID, "name": "Launch card", "values": map[string]any{"title": "Launch day"}, "publish": true,
	}).JSON(t)
	return templateID, pg["id"].(string)
}

// --- a plain HTTP client with a console session, for status checks ---

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed, and Origin set on POSTs unless the test says otherwise.
type client struct {
	e   *env
	hc  *http.Client
	jar http.CookieJar
}

func (e *env) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{e: e, jar: jar, hc: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (c *client) do(t *testing.T, method, path string, form url.Values, header map[string]string) resp {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return servertest.Send(t, c.hc, req)
}

func (c *client) get(t *testing.T, path string) resp { return c.do(t, "GET", path, nil, nil) }

// post sends a form from this console's origin.
func (c *client) post(t *testing.T, path string, form url.Values) resp {
	return c.do(t, "POST", path, form, map[string]string{"Origin": c.e.base})
}

func (c *client) login(t *testing.T, token string) {
	t.Helper()
	r := c.post(t, "/ui/login", url.Values{"token": {token}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/logs" {
		t.Fatalf("login: %d %s: %s", r.Status, r.Header.Get("Location"), r.Body)
	}
}

// csrf reads the session's form token from a console page.
func (c *client) csrf(t *testing.T) string {
	t.Helper()
	return servertest.CSRF(t, c.get(t, "/ui/tokens"))
}

// --- a real headless Chromium driven with chromedp ---

type tab struct {
	t   *testing.T
	ctx context.Context
	// problems are console errors, uncaught exceptions and CSP violations.
	problems testkit.Collected[string]
	shots    string
}

// newTab launches a headless Chromium with the flags renderhook's own pool
// uses where they matter here (see internal/browser/flags.go), in a
// throwaway profile.
func newTab(t *testing.T) *tab {
	t.Helper()
	path, err := browser.FindChromium()
	if err != nil {
		t.Skip("chromium not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // root in a container: the sandbox cannot start
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1366, 768),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser and ties it to the context it is
	// given, so it must be the long-lived one, not a per-step timeout.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx, shots: os.Getenv("RENDERHOOK_UI_SCREENSHOTS")}
	if tb.shots == "" {
		tb.shots = t.TempDir()
	} else if err := os.MkdirAll(tb.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			// Network errors are the statuses pages answer on purpose
			// (401 for a bad sign-in, 422 for a refused form).
			if ev.Entry.Level == cdplog.LevelError && ev.Entry.Source != cdplog.SourceNetwork {
				tb.problems.Add(fmt.Sprintf("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			tb.problems.Add("exception: " + ev.ExceptionDetails.Error())
		case *page.EventJavascriptDialogOpening:
			// Accept confirm() dialogs (rotate secret, revoke token).
			go func() {
				c := chromedp.FromContext(ctx)
				_ = page.HandleJavaScriptDialog(true).Do(cdp.WithExecutor(ctx, c.Target))
			}()
		}
	})
	tb.run(chromedp.ActionFunc(func(ctx context.Context) error { return cdplog.Enable().Do(ctx) }))
	return tb
}

func (b *tab) run(actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open navigates to a console path and waits for the page to be the one
// named (body data-page).
func (b *tab) open(base, path, pageName string) {
	b.t.Helper()
	b.run(chromedp.Navigate(base + path))
	b.waitPage(pageName)
}

func (b *tab) waitPage(name string) {
	b.t.Helper()
	b.wait(fmt.Sprintf(`document.readyState === "complete" && document.body && document.body.dataset.page === %q`, name))
}

// wait polls a JavaScript condition until it is true, tolerating the
// page navigating (or reloading itself) in between.
func (b *tab) wait(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		var ok bool
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		last = chromedp.Run(ctx, chromedp.Evaluate(cond, &ok))
		cancel()
		if last == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var loc, text string
	_ = chromedp.Run(b.ctx, chromedp.Location(&loc), chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 1500) : ""`, &text))
	b.t.Fatalf("timed out waiting for %s (last error %v) at %s:\n%s", cond, last, loc, text)
}

func (b *tab) eval(expr string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(expr, out))
}

func (b *tab) text(expr string) string {
	b.t.Helper()
	var s string
	b.eval(expr, &s)
	return s
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.run(chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeVisible))
}

func (b *tab) setValue(sel, v string) {
	b.t.Helper()
	b.run(chromedp.SetValue(sel, v, chromedp.ByQuery))
}

// login signs in through the form.
func (b *tab) login(base, token string) {
	b.t.Helper()
	b.open(base, "/ui/login", "login")
	b.setValue("#token", token)
	b.click(`form[action="/ui/login"] button[type=submit]`)
	b.waitPage("logs")
}

// screenshots captures the current page at a laptop size and at a phone
// size, whole page, into the screenshot directory, and checks the phone
// layout does not scroll sideways.
func (b *tab) screenshots(name string) {
	b.t.Helper()
	for _, size := range []struct {
		label         string
		width, height int64
		mobile        bool
	}{{"laptop", 1366, 768, false}, {"phone", 390, 844, true}} {
		vp := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if size.mobile {
			vp = append(vp, chromedp.EmulateMobile)
		}
		var buf []byte
		var overflow bool
		b.run(
			chromedp.EmulateViewport(size.width, size.height, vp...),
			chromedp.Sleep(150*time.Millisecond), // let the relayout settle
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
			chromedp.ActionFunc(func(ctx context.Context) error {
				_, _, _, _, _, content, err := page.GetLayoutMetrics().Do(ctx)
				if err != nil {
					return err
				}
				h := min(content.Height, 6000)
				buf, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).
					WithCaptureBeyondViewport(true).
					WithClip(&page.Viewport{X: 0, Y: 0, Width: float64(size.width), Height: h, Scale: 1}).Do(ctx)
				return err
			}),
		)
		if overflow {
			b.t.Errorf("%s at %s width scrolls sideways", name, size.label)
		}
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			b.t.Fatalf("screenshot of %s: %v", name, err)
		}
		if img.Bounds().Dx() != int(size.width) {
			b.t.Errorf("screenshot of %s is %d wide, want %d", name, img.Bounds().Dx(), size.width)
		}
		if blank(img) {
			b.t.Errorf("screenshot of %s at %s is blank", name, size.label)
		}
		file := filepath.Join(b.shots, name+"-"+size.label+".png")
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.run(chromedp.EmulateViewport(1366, 768, chromedp.EmulateScale(1)))
}

// blank reports whether an image is a single colour.
func blank(img image.Image) bool {
	bd := img.Bounds()
	r0, g0, b0, _ := img.At(bd.Min.X, bd.Min.Y).RGBA()
	for y := bd.Min.Y; y < bd.Max.Y; y += 7 {
		for x := bd.Min.X; x < bd.Max.X; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || b != b0 {
				return false
			}
		}
	}
	return true
}

// pixel reads one pixel of an <img>: through a canvas when the image is
// on the page's origin (/files/ URLs), else (a presigned S3 URL, which
// would taint the canvas) by fetching the very URL the browser shows and
// decoding it here.
func (b *tab) pixel(sel string, x, y int) [4]int {
	b.t.Helper()
	var src string
	b.eval(fmt.Sprintf(`(() => { const i = document.querySelector(%q); return new URL(i.currentSrc).origin === location.origin ? "" : i.currentSrc })()`, sel), &src)
	if src != "" {
		res, err := http.Get(src)
		if err != nil {
			b.t.Fatalf("pixel of %s: %v", sel, err)
		}
		defer res.Body.Close()
		img, _, err := image.Decode(res.Body)
		if err != nil || res.StatusCode != 200 {
			b.t.Fatalf("pixel of %s: %s: %d %v", sel, src, res.StatusCode, err)
		}
		r, g, bl, a := img.At(x, y).RGBA()
		return [4]int{int(r >> 8), int(g >> 8), int(bl >> 8), int(a >> 8)}
	}
	var px []int
	b.eval(fmt.Sprintf(`(() => {
		const i = document.querySelector(%q);
		const c = document.createElement("canvas");
		c.width = i.naturalWidth; c.height = i.naturalHeight;
		const g = c.getContext("2d");
		g.drawImage(i, 0, 0);
		return Array.from(g.getImageData(%d, %d, 1, 1).data);
	})()`, sel, x, y), &px)
	if len(px) != 4 {
		b.t.Fatalf("pixel of %s: %v", sel, px)
	}
	return [4]int{px[0], px[1], px[2], px[3]}
}

func near(px [4]int, r, g, b int) bool {
	d := func(a, b int) bool { return a-b > -10 && a-b < 10 }
	return d(px[0], r) && d(px[1], g) && d(px[2], b)
}
