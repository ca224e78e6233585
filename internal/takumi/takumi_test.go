package takumi

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/demo"
)

// cardHTML is the quickstart card with its default values.
func cardHTML(t testing.TB) string {
	t.Helper()
	vals := map[string]any{}
	for _, v := range demo.CardVariables {
		vals[v.Name] = v.Default
	}
	var b strings.Builder
	if err := template.Must(template.New("card").Parse(demo.CardHTML)).Execute(&b, vals); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// startRenderer starts a Renderer for cfg, skipping only when node or the
// helper's npm packages are absent (scripts/install-deps.sh installs them).
func startRenderer(t testing.TB, cfg Config) *Renderer {
	t.Helper()
	if err := Available(cfg); err != nil {
		t.Skipf("takumi helper not installed (run scripts/install-deps.sh): %v", err)
	}
	r := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

func TestRenderCardPNG(t *testing.T) {
	r := startRenderer(t, Config{})
	if n, failed := r.Fonts(); n != len(DefaultFonts()) || len(failed) > 0 {
		t.Fatalf("helper registered %d of %d fonts; failed: %v", n, len(DefaultFonts()), failed)
	}
	b, err := r.Render(context.Background(), Request{HTML: cardHTML(t), Width: 1200, Height: 630, Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	if got := img.Bounds().Size(); got != (image.Point{1200, 630}) {
		t.Fatalf("size %v, want 1200x630", got)
	}
	// The card's background is #4f46e5.
	cr, cg, cb, _ := img.At(5, 5).RGBA()
	if cr>>8 != 0x4f || cg>>8 != 0x46 || cb>>8 != 0xe5 {
		t.Fatalf("background pixel = %02x%02x%02x, want 4f46e5", cr>>8, cg>>8, cb>>8)
	}
	// The title is white text: some pixels on its line are white.
	if n := countPixels(img, image.Rect(80, 200, 1120, 320), func(r, g, b uint32) bool { return r > 240 && g > 240 && b > 240 }); n < 500 {
		t.Fatalf("only %d white pixels where the title is", n)
	}
}

func countPixels(img image.Image, rect image.Rectangle, match func(r, g, b uint32) bool) int {
	n := 0
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if match(r>>8, g>>8, b>>8) {
				n++
			}
		}
	}
	return n
}

func TestFormatsAndUnsupported(t *testing.T) {
	r := startRenderer(t, Config{})
	for format, magic := range map[string]string{"jpeg": "\xff\xd8\xff", "webp": "RIFF"} {
		b, err := r.Render(context.Background(), Request{HTML: cardHTML(t), Width: 1200, Height: 630, Format: format, Quality: 80})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Fatalf("%s: starts % x", format, b[:8])
		}
	}
	if _, err := r.Render(context.Background(), Request{HTML: "<p>x</p>", Width: 10, Height: 10, Format: "pdf"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("pdf: %v, want ErrUnsupported", err)
	}
}

func TestTimeout(t *testing.T) {
	r := startRenderer(t, Config{Timeout: time.Microsecond})
	_, err := r.Render(context.Background(), Request{HTML: cardHTML(t), Width: 4000, Height: 4000, Format: "png"})
	if !errors.Is(err, browser.ErrRenderTimeout) {
		t.Fatalf("err = %v, want browser.ErrRenderTimeout", err)
	}
	if s := r.Stats(); s.Failures != 1 || s.Renders != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestKillMidBurst(t *testing.T) {
	r := startRenderer(t, Config{MaxConcurrent: 4})
	html := cardHTML(t)
	const burst = 40
	errs := make(chan error, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := r.Render(context.Background(), Request{HTML: html, Width: 1200, Height: 630, Format: "png"})
			if err == nil {
				decodePNG(t, b)
			}
			errs <- err
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for r.Stats().Renders < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no renders finished within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	r.Kill()
	wg.Wait()
	close(errs)
	crashed := 0
	for err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, browser.ErrBrowserCrashed):
			crashed++
		default:
			t.Errorf("render failed with %v, want success or browser.ErrBrowserCrashed", err)
		}
	}
	if crashed == 0 {
		t.Error("killing the helper mid-burst failed no render in flight")
	}
	for i := range 5 {
		b, err := r.Render(context.Background(), Request{HTML: html, Width: 1200, Height: 630, Format: "png"})
		if err != nil {
			t.Fatalf("render %d after the kill: %v", i, err)
		}
		decodePNG(t, b)
	}
	if s := r.Stats(); s.Restarts != 1 || s.Failures != int64(crashed) {
		t.Fatalf("stats %+v, want 1 restart and %d failures", s, crashed)
	}
}

func TestConcurrencyBounded(t *testing.T) {
	r := startRenderer(t, Config{MaxConcurrent: 2})
	html := cardHTML(t)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Render(context.Background(), Request{HTML: html, Width: 1200, Height: 630, Format: "png"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := r.Stats().PeakInFlight; p < 1 || p > 2 {
		t.Fatalf("helper saw %d renders in flight at once, want 1..2", p)
	}
}

func TestRecycle(t *testing.T) {
	r := startRenderer(t, Config{RecycleAfter: 3, MaxConcurrent: 1})
	for i := range 7 {
		if _, err := r.Render(context.Background(), Request{HTML: "<div>x</div>", Width: 100, Height: 50, Format: "png"}); err != nil {
			t.Fatalf("render %d: %v", i, err)
		}
	}
	if s := r.Stats(); s.Recycles != 2 || s.Restarts != 0 || s.Renders != 7 {
		t.Fatalf("stats %+v, want 2 recycles, 7 renders", s)
	}
}

// TestCJKEmoji: the fonts Chromium uses draw CJK and colour emoji here too.
func TestCJKEmoji(t *testing.T) {
	r := startRenderer(t, Config{})
	html := `<div style="display:flex;width:100%;height:100%;background:#fff;color:#000;font-size:64px;` +
		`font-family:'Liberation Sans','Noto Sans CJK SC','Noto Color Emoji'">漢字かなカナ 한글 😀🎉</div>`
	b, err := r.Render(context.Background(), Request{HTML: html, Width: 800, Height: 100, Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	dark := countPixels(img, image.Rect(0, 0, 560, 100), func(r, g, b uint32) bool { return r < 80 && g < 80 && b < 80 })
	yellow := countPixels(img, img.Bounds(), func(r, g, b uint32) bool { return r > 200 && g > 150 && b < 90 })
	if dark < 2000 {
		t.Fatalf("only %d dark pixels: CJK glyphs missing", dark)
	}
	if yellow < 300 {
		t.Fatalf("only %d yellow pixels: colour emoji missing", yellow)
	}
}
