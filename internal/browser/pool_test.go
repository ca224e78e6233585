package browser

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/testkit"
)

// newPool starts a pool on the real Chromium and stops it when the test ends.
func newPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	if _, err := FindChromium(); err != nil {
		t.Skipf("no chromium: %v", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, within, what, cond)
}

// receive waits for a value from c (a goroutine's result, a signal) and
// returns it; if none comes within the limit, the test fails with failure.
func receive[T any](t *testing.T, c <-chan T, within time.Duration, failure string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(within):
		t.Fatal(failure)
	}
	var none T // not reached: Fatal ends the test
	return none
}

// blockingServer serves /img requests only once release is called (or the
// test ends). hits counts requests that arrived.
type blockingServer struct {
	*httptest.Server
	hits    atomic.Int64
	release func()
}

func newBlockingServer(t *testing.T) *blockingServer {
	t.Helper()
	gate := make(chan struct{})
	var once sync.Once
	s := &blockingServer{release: func() { once.Do(func() { close(gate) }) }}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(solidPNG(t, 10, 10, color.RGBA{0, 255, 0, 255}))
	}))
	// Release before Close: Close waits for handlers to return.
	t.Cleanup(s.Close)
	t.Cleanup(s.release)
	return s
}

func solidPNG(t testing.TB, w, h int, c color.Color) []byte { return testkit.SolidPNG(t, w, h, c) }

func colourPage(bg string, w, h int) Page {
	return Page{
		HTML:  `<!doctype html><html><body style="margin:0;background:` + bg + `"><h1>Hello</h1></body></html>`,
		Width: w, Height: h,
	}
}

func pngRequest(pg Page) Request { return Request{Pages: []Page{pg}, Format: FormatPNG} }

func pdfPageCount(t *testing.T, data []byte) int {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err == nil {
		out := pdfinfo(t, data)
		m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("pdfinfo printed no page count:\n%s", out)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return len(regexp.MustCompile(`/Type\s*/Page\b[^s]`).FindAll(data, -1))
}

func pdfinfo(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	f := t.TempDir() + "/out.pdf"
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", append(args, f)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	return out
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"png": FormatPNG, "JPEG": FormatJPEG, "jpg": FormatJPEG, "WebP": FormatWebP, "pdf": FormatPDF} {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("gif"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseFormat(gif) error = %v, want ErrUnknownFormat", err)
	}
	for f, want := range map[Format]string{FormatPNG: "image/png", FormatJPEG: "image/jpeg", FormatWebP: "image/webp", FormatPDF: "application/pdf"} {
		if got := f.ContentType(); got != want {
			t.Errorf("%s.ContentType() = %q, want %q", f, got, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"negative tabs":  {MaxTabs: -1, ChromiumPath: "/bin/sh"},
		"negative queue": {QueueSize: -1, ChromiumPath: "/bin/sh"},
		"bad flag":       {ExtraFlags: []string{"proxy-server=x"}, ChromiumPath: "/bin/sh"},
		"missing binary": {ChromiumPath: "/nonexistent/chromium"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded, want error", name)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 2})
	ctx := context.Background()

	t.Run("png has exact size and colours", func(t *testing.T) {
		res, err := p.Render(ctx, pngRequest(colourPage("#3366cc", 1200, 630)))
		if err != nil {
			t.Fatal(err)
		}
		if res.ContentType != "image/png" {
			t.Errorf("content type %q", res.ContentType)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(res.Data))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width != 1200 || cfg.Height != 630 {
			t.Fatalf("png is %dx%d, want 1200x630", cfg.Width, cfg.Height)
		}
		img := decodePNG(t, res.Data)
		wantPixel(t, img, 600, 400, color.RGBA{0x33, 0x66, 0xcc, 255})
		wantPixel(t, img, 1199, 629, color.RGBA{0x33, 0x66, 0xcc, 255})
	})

	t.Run("viewport follows each request", func(t *testing.T) {
		for _, sz := range [][2]int{{300, 200}, {800, 1000}, {300, 200}} {
			res, err := p.Render(ctx, pngRequest(colourPage("#ff0000", sz[0], sz[1])))
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, res.Data)
			if b := img.Bounds(); b.Dx() != sz[0] || b.Dy() != sz[1] {
				t.Fatalf("png is %dx%d, want %dx%d", b.Dx(), b.Dy(), sz[0], sz[1])
			}
			wantPixel(t, img, sz[0]-1, sz[1]-1, color.RGBA{0xff, 0, 0, 255})
		}
	})

	t.Run("jpeg", func(t *testing.T) {
		res, err := p.Render(ctx, Request{Pages: []Page{colourPage("#fff", 640, 480)}, Format: FormatJPEG, Quality: 70})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(res.Data, []byte{0xff, 0xd8, 0xff}) || res.ContentType != "image/jpeg" {
			t.Fatalf("not a jpeg: % x (%s)", res.Data[:min(8, len(res.Data))], res.ContentType)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.Data))
		if err != nil || cfg.Width != 640 || cfg.Height != 480 {
			t.Fatalf("jpeg config %+v, %v; want 640x480", cfg, err)
		}
	})

	t.Run("webp", func(t *testing.T) {
		res, err := p.Render(ctx, Request{Pages: []Page{colourPage("#fff", 640, 480)}, Format: FormatWebP})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) < 12 || string(res.Data[:4]) != "RIFF" || string(res.Data[8:12]) != "WEBP" || res.ContentType != "image/webp" {
			t.Fatalf("not a webp: %q (%s)", res.Data[:min(12, len(res.Data))], res.ContentType)
		}
	})

	t.Run("pdf with one page", func(t *testing.T) {
		res, err := p.Render(ctx, Request{Pages: []Page{colourPage("#fff", 794, 1123)}, Format: FormatPDF})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(res.Data, []byte("%PDF-")) || res.ContentType != "application/pdf" {
			t.Fatalf("not a pdf: %q", res.Data[:min(8, len(res.Data))])
		}
		if n := pdfPageCount(t, res.Data); n != 1 {
			t.Errorf("pdf has %d pages, want 1", n)
		}
	})

	t.Run("pdf with two pages of their own sizes", func(t *testing.T) {
		res, err := p.Render(ctx, Request{Format: FormatPDF, Pages: []Page{
			{HTML: `<style>body{margin:0;background:#fee}h1{color:red}</style><h1>One</h1>`, Width: 800, Height: 600},
			{HTML: `<style>body{margin:0;background:#eef}</style><h1>Two</h1>`, Width: 400, Height: 1000},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(res.Data, []byte("%PDF-")) {
			t.Fatalf("not a pdf: %q", res.Data[:min(8, len(res.Data))])
		}
		if n := pdfPageCount(t, res.Data); n != 2 {
			t.Fatalf("pdf has %d pages, want 2", n)
		}
		if _, err := exec.LookPath("pdfinfo"); err != nil {
			return
		}
		out := string(pdfinfo(t, res.Data, "-f", "1", "-l", "2"))
		// 96 CSS px = 72 pt.
		for _, want := range []string{`Page\s+1 size:\s+600 x 450 pts`, `Page\s+2 size:\s+300 x 750 pts`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("pdfinfo lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("scripts run", func(t *testing.T) {
		res, err := p.Render(ctx, pngRequest(Page{
			HTML:  `<body style="margin:0;background:#fff"><script>document.body.style.background = '#00ff00'</script>`,
			Width: 100, Height: 100,
		}))
		if err != nil {
			t.Fatal(err)
		}
		wantPixel(t, decodePNG(t, res.Data), 50, 50, color.RGBA{0, 255, 0, 255})
	})

	t.Run("data uri image is drawn", func(t *testing.T) {
		src := "data:image/png;base64," + base64.StdEncoding.EncodeToString(solidPNG(t, 20, 20, color.RGBA{255, 0, 0, 255}))
		res, err := p.Render(ctx, pngRequest(Page{
			HTML:  `<body style="margin:0;background:#fff"><img src="` + src + `" style="width:100px;height:100px;display:block">`,
			Width: 200, Height: 200,
		}))
		if err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, res.Data)
		wantPixel(t, img, 50, 50, color.RGBA{255, 0, 0, 255})
		wantPixel(t, img, 150, 150, color.RGBA{255, 255, 255, 255})
	})

	t.Run("waits for slow images", func(t *testing.T) {
		// The image is let through only once Chromium has asked for it
		// and the render is seen still running: a render that did not wait
		// would have returned by then or captured no image.
		srv := newBlockingServer(t)
		type answer struct {
			res *Result
			err error
		}
		done := make(chan answer, 1)
		go func() {
			res, err := p.Render(ctx, pngRequest(Page{
				HTML:  `<body style="margin:0;background:#fff"><img src="` + srv.URL + `/img.png" style="width:100px;height:100px;display:block">`,
				Width: 200, Height: 200,
			}))
			done <- answer{res, err}
		}()
		eventually(t, 30*time.Second, "Chromium to ask for the image", func() bool { return srv.hits.Load() > 0 })
		select {
		case a := <-done:
			t.Fatalf("the render returned before its image was served: %v", a.err)
		default:
		}
		srv.release()
		a := <-done
		if a.err != nil {
			t.Fatal(a.err)
		}
		wantPixel(t, decodePNG(t, a.res.Data), 50, 50, color.RGBA{0, 255, 0, 255})
	})

	t.Run("bad requests", func(t *testing.T) {
		for name, req := range map[string]Request{
			"no pages":        {Format: FormatPNG},
			"two png pages":   {Format: FormatPNG, Pages: []Page{colourPage("#fff", 10, 10), colourPage("#fff", 10, 10)}},
			"zero width":      {Format: FormatPNG, Pages: []Page{colourPage("#fff", 0, 10)}},
			"too tall":        {Format: FormatPDF, Pages: []Page{colourPage("#fff", 10, 10001)}},
			"quality too big": {Format: FormatJPEG, Quality: 101, Pages: []Page{colourPage("#fff", 10, 10)}},
			"unknown format":  {Format: "gif", Pages: []Page{colourPage("#fff", 10, 10)}},
		} {
			if _, err := p.Render(ctx, req); !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
			}
		}
	})

	t.Run("reports version and stats", func(t *testing.T) {
		if v := p.Version(); !strings.Contains(v, "/") {
			t.Errorf("Version() = %q", v)
		}
		if !p.Ready() || p.BrowserPID() <= 0 {
			t.Errorf("Ready() = %v, BrowserPID() = %d", p.Ready(), p.BrowserPID())
		}
		if s := p.Stats(); s.Tabs != 2 || s.Busy != 0 || s.Queued != 0 || s.Renders == 0 {
			t.Errorf("Stats() = %+v", s)
		}
	})
}

func TestRenderDoesNotLeakIntoNext(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 1})
	ctx := context.Background()
	// The first page leaves a global and a timer that paints any later page red.
	_, err := p.Render(ctx, pngRequest(Page{
		HTML:  `<script>window.leftover = 1; setInterval(() => { if (document.body) document.body.style.background = 'red' }, 1)</script>`,
		Width: 100, Height: 100,
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The second page, in the same (only) tab, is green unless it sees either.
	res, err := p.Render(ctx, pngRequest(Page{
		HTML:  `<body style="margin:0"><script>document.body.style.background = window.leftover ? 'blue' : 'lime'</script>`,
		Width: 100, Height: 100,
	}))
	if err != nil {
		t.Fatal(err)
	}
	wantPixel(t, decodePNG(t, res.Data), 50, 50, color.RGBA{0, 255, 0, 255})

	// A page without script after one with script: still nothing left over.
	if _, err := p.Render(ctx, pngRequest(Page{HTML: `<script>setInterval(() => { if (document.body) document.body.style.background = 'red' }, 1)</script>`, Width: 100, Height: 100})); err != nil {
		t.Fatal(err)
	}
	res, err = p.Render(ctx, pngRequest(colourPage("lime", 100, 100)))
	if err != nil {
		t.Fatal(err)
	}
	wantPixel(t, decodePNG(t, res.Data), 50, 50, color.RGBA{0, 255, 0, 255})
}

func TestScripted(t *testing.T) {
	t.Parallel()
	for html, want := range map[string]bool{
		`<h1 class="x">Hello</h1><meta name="viewport" content="width=device-width">`:    false,
		`<p style="font-family: Helvetica">one = two</p><button type=submit>Go</button>`: false,
		`<ScRiPt>alert(1)</script>`:                     true,
		`<img src=x onerror=alert(1)>`:                  true,
		`<svg/onload=alert(1)>`:                         true,
		`<img src="x"onerror="alert(1)">`:               true,
		"<body	onLoad = 'x()'>":                         true,
		`<iframe src="https://example.com"></iframe>`:   true,
		`<object data="x.svg"></object>`:                true,
		`<a href="JavaScript:alert(1)">x</a>`:           true,
		`<meta http-equiv="refresh" content="0;url=/">`: true,
		`<noscript>enable js</noscript>`:                true,
	} {
		if got := (Request{Pages: []Page{{HTML: "<p>static</p>"}, {HTML: html}}}).scripted(); got != want {
			t.Errorf("scripted(%q) = %v, want %v", html, got, want)
		}
	}
}

func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 4})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			// Each goroutine has its own colour, so a render that picked up
			// another's document would show.
			want := color.RGBA{uint8(i * 30), 0x80, uint8(255 - i*30), 255}
			bg := fmt.Sprintf("rgb(%d,%d,%d)", want.R, want.G, want.B)
			for range 3 {
				res, err := p.Render(context.Background(), pngRequest(colourPage(bg, 400, 300)))
				if err != nil {
					t.Errorf("render %d: %v", i, err)
					return
				}
				wantPixel(t, decodePNG(t, res.Data), 200, 250, want)
			}
		})
	}
	wg.Wait()
	if s := p.Stats(); s.Renders != 24 || s.Busy != 0 {
		t.Errorf("Stats() = %+v, want 24 renders and none busy", s)
	}
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 1, QueueSize: 1})
	srv := newBlockingServer(t)
	slow := pngRequest(Page{HTML: `<img src="` + srv.URL + `/img.png">`, Width: 100, Height: 100})

	errs := make(chan error, 2)
	go func() { _, err := p.Render(context.Background(), slow); errs <- err }()
	eventually(t, 10*time.Second, "first render to hold the tab", func() bool { return srv.hits.Load() == 1 })
	go func() { _, err := p.Render(context.Background(), slow); errs <- err }()
	eventually(t, 10*time.Second, "second render to queue", func() bool { return p.Stats().Queued == 1 })

	wantQueueFull(t, srv, errs, func() error { _, err := p.Render(context.Background(), slow); return err })
}

// wantQueueFull checks that a third render, with one running (blocked on
// srv) and one queued, fails at once with ErrQueueFull; then it releases
// srv and checks that the two others, reporting on errs, succeed.
func wantQueueFull(t *testing.T, srv *blockingServer, errs <-chan error, render func() error) {
	t.Helper()
	start := time.Now()
	if err := render(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third render err = %v, want ErrQueueFull", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("ErrQueueFull took %s, want immediate", d)
	}
	srv.release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("queued render: %v", err)
		}
	}
}

func TestRenderTimeout(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 1, RenderTimeout: time.Second})
	srv := newBlockingServer(t)

	start := time.Now()
	_, err := p.Render(context.Background(), pngRequest(Page{HTML: `<img src="` + srv.URL + `/never.png">`, Width: 100, Height: 100}))
	if !errors.Is(err, ErrRenderTimeout) {
		t.Fatalf("err = %v, want ErrRenderTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %s, want about 1s", d)
	}

	// The hung tab is replaced; the next render gets a working one.
	res, err := p.Render(context.Background(), pngRequest(colourPage("#00ff00", 100, 100)))
	if err != nil {
		t.Fatalf("render after timeout: %v", err)
	}
	wantPixel(t, decodePNG(t, res.Data), 50, 50, color.RGBA{0, 255, 0, 255})
	eventually(t, 10*time.Second, "tab count back to 1", func() bool { return p.Stats().Tabs == 1 })
}

func TestRenderTimeoutBusyScript(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 1, RenderTimeout: time.Second})
	_, err := p.Render(context.Background(), pngRequest(Page{HTML: `<script>for(;;){}</script>`, Width: 100, Height: 100}))
	if !errors.Is(err, ErrRenderTimeout) {
		t.Fatalf("err = %v, want ErrRenderTimeout", err)
	}
	if _, err := p.Render(context.Background(), pngRequest(colourPage("#fff", 100, 100))); err != nil {
		t.Fatalf("render after a hung script: %v", err)
	}
}

func TestBrowserCrash(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 2, StartTimeout: 30 * time.Second})
	srv := newBlockingServer(t)
	oldPID := killDuringRender(t, p, srv, func() error {
		_, err := p.Render(context.Background(), pngRequest(Page{HTML: `<img src="` + srv.URL + `/img.png">`, Width: 100, Height: 100}))
		return err
	})

	// The next render waits for the relaunch and succeeds.
	res, err := p.Render(context.Background(), pngRequest(colourPage("#0000ff", 100, 100)))
	if err != nil {
		t.Fatalf("render after crash: %v", err)
	}
	wantPixel(t, decodePNG(t, res.Data), 50, 50, color.RGBA{0, 0, 255, 255})
	if pid := p.BrowserPID(); pid == oldPID || pid == 0 {
		t.Errorf("BrowserPID() = %d after relaunch, old was %d", pid, oldPID)
	}
	if s := p.Stats(); s.Restarts != 1 || s.Crashes != 1 || s.Recycles != 0 || s.Tabs != 2 || !p.Ready() {
		t.Errorf("Stats() = %+v, Ready() = %v", s, p.Ready())
	}
	// Renderers and helpers of the killed browser are gone too.
	eventually(t, 10*time.Second, "old process group to die", func() bool { return !groupAlive(oldPID) })
}

// killDuringRender starts render, which must make a request to srv, kills
// the browser once it has, and checks that render fails with
// ErrBrowserCrashed. It returns the killed browser's pid.
func killDuringRender(t *testing.T, p *Pool, srv *blockingServer, render func() error) int {
	t.Helper()
	oldPID := p.BrowserPID()
	errc := make(chan error, 1)
	go func() { errc <- render() }()
	eventually(t, 10*time.Second, "render to be in flight", func() bool { return srv.hits.Load() == 1 })
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := receive(t, errc, 10*time.Second, "in-flight render did not fail after the browser was killed")
	if !errors.Is(err, ErrBrowserCrashed) {
		t.Fatalf("in-flight render err = %v, want ErrBrowserCrashed", err)
	}
	return oldPID
}

func TestRecycle(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 2, RecycleAfter: 3})
	firstPID := p.BrowserPID()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := p.Render(context.Background(), pngRequest(colourPage("#abcdef", 200, 100))); err != nil {
				t.Errorf("render %d: %v", i, err)
			}
		})
		if i%2 == 1 {
			wg.Wait()
		}
	}
	wg.Wait()
	eventually(t, 30*time.Second, "a recycle", func() bool { return p.Stats().Restarts >= 1 })
	if s := p.Stats(); s.Recycles < 1 || s.Crashes != 0 {
		t.Errorf("Stats() after recycling = %+v, want a recycle and no crash", s)
	}
	if _, err := p.Render(context.Background(), pngRequest(colourPage("#abcdef", 200, 100))); err != nil {
		t.Fatalf("render after recycle: %v", err)
	}
	if p.BrowserPID() == firstPID {
		t.Error("BrowserPID() unchanged after recycle")
	}
	eventually(t, 10*time.Second, "recycled browser to exit", func() bool { return !groupAlive(firstPID) })
}

func TestStop(t *testing.T) {
	t.Parallel()
	if _, err := FindChromium(); err != nil {
		t.Skipf("no chromium: %v", err)
	}
	p, err := New(Config{MaxTabs: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Render(context.Background(), pngRequest(colourPage("#fff", 10, 10))); !errors.Is(err, ErrStopped) {
		t.Errorf("render before Start: err = %v, want ErrStopped", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := p.BrowserPID()
	profile := p.sup.current().dataDir
	srv := newBlockingServer(t)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Render(ctx, pngRequest(Page{HTML: `<img src="` + srv.URL + `/img.png">`, Width: 100, Height: 100}))
		errc <- err
	}()
	eventually(t, 10*time.Second, "render to be in flight", func() bool { return srv.hits.Load() == 1 })

	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrStopped) {
		t.Errorf("in-flight render err = %v, want ErrStopped", err)
	}
	if groupAlive(pid) {
		out, _ := exec.Command("ps", "-o", "pid,ppid,pgid,stat,comm", "-g", strconv.Itoa(pid)).CombinedOutput()
		t.Errorf("chromium processes left after Stop:\n%s", out)
	}
	if _, err := p.Render(ctx, pngRequest(colourPage("#fff", 10, 10))); !errors.Is(err, ErrStopped) {
		t.Errorf("render after Stop: err = %v, want ErrStopped", err)
	}
	if p.Ready() {
		t.Error("Ready() after Stop")
	}
	if _, err := os.Stat(profile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile dir %s still there after Stop (stat: %v)", profile, err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// groupAlive reports whether any process of the group led by pid is still
// running (zombies included, which is what an unreaped orphan looks like).
func groupAlive(pid int) bool {
	return syscall.Kill(-pid, 0) == nil
}

// A Build request makes its pages only once it holds a render slot: while
// the one tab is busy it waits in the queue unbuilt, past the queue it is
// refused unbuilt, and a Build error is returned as is with the tab left
// fit for the next render.
func TestBuildRunsInsideAdmission(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 1, QueueSize: 1})
	srv := newBlockingServer(t)
	slow := pngRequest(Page{HTML: `<img src="` + srv.URL + `/img.png">`, Width: 100, Height: 100})

	var built atomic.Int64
	var hadDeadline atomic.Bool
	green := colourPage("rgb(0,255,0)", 100, 100)
	build := Request{Pages: []Page{{Width: 100, Height: 100}}, Format: FormatPNG, Build: func(ctx context.Context) ([]Page, error) {
		built.Add(1)
		_, ok := ctx.Deadline()
		hadDeadline.Store(ok)
		return []Page{green}, nil
	}}

	errs := make(chan error, 1)
	go func() { _, err := p.Render(context.Background(), slow); errs <- err }()
	eventually(t, 10*time.Second, "first render to hold the tab", func() bool { return srv.hits.Load() == 1 })
	res := make(chan *Result, 1)
	go func() {
		r, err := p.Render(context.Background(), build)
		if err != nil {
			t.Errorf("build render: %v", err)
		}
		res <- r
	}()
	eventually(t, 10*time.Second, "build render to queue", func() bool { return p.Stats().Queued == 1 })
	if _, err := p.Render(context.Background(), build); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("past the queue: err = %v, want ErrQueueFull", err)
	}
	if n := built.Load(); n != 0 {
		t.Fatalf("Build ran %d times before its render had a slot", n)
	}

	srv.release()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r == nil {
		t.FailNow()
	}
	wantPixel(t, decodePNG(t, r.Data), 50, 50, color.RGBA{0, 255, 0, 255})
	if built.Load() != 1 || !hadDeadline.Load() {
		t.Fatalf("Build ran %d times, deadline %v; want once, with the render's deadline", built.Load(), hadDeadline.Load())
	}

	mine := errors.New("template too large")
	bad := build
	bad.Build = func(context.Context) ([]Page, error) { return nil, mine }
	if _, err := p.Render(context.Background(), bad); err != mine {
		t.Fatalf("err = %v, want the Build error as is", err)
	}
	if _, err := p.Render(context.Background(), pngRequest(green)); err != nil {
		t.Fatalf("render after a failed Build: %v", err)
	}
}
