package render_test

import (
	"context"
	"image"
	"image/color"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/demo"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
	"github.com/renderhook/renderhook/internal/testkit"
)

// reference is one of the reference templates (testdata/fidelity): each is
// rendered by Chromium and by takumi and compared by takumi.SSIM; capable
// says whether takumi draws it as Chromium does, which is what auto must
// decide.
type reference struct {
	name    string
	html    string
	vars    []store.Variable
	capable bool
}

func str(name, def string) store.Variable {
	return store.Variable{Name: name, Type: "string", Default: def}
}

func references(t *testing.T, imageURL string) []reference {
	file := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "fidelity", name+".html"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	long := "Why we moved our rendering fleet off headless browsers and onto a renderer written in Rust, and what it cost us"
	return []reference{
		{"quickstart card", demo.CardHTML, demo.CardVariables, true},
		{"blog card with an image", file("blog_image"), []store.Variable{str("title", "Shipping faster cards"), str("author", "Ada Lovelace"),
			{Name: "image", Type: "image", Default: imageURL}}, true},
		{"gradient", file("gradient"), []store.Variable{str("title", "Launch week")}, true},
		{"CJK and emoji", file("cjk_emoji"), []store.Variable{str("title", "こんにちは世界 🎉"), str("subtitle", "你好，渲染 🚀 안녕하세요")}, true},
		{"grid layout", file("grid"), []store.Variable{str("a", "Plan")}, true},
		{"long title that wraps", file("long_title"), []store.Variable{str("title", long)}, true},
		{"bordered card", file("bordered_card"), []store.Variable{str("title", "Team plan")}, true},
		// takumi lays tables out, its columns a few pixels off Chromium's:
		// nothing unsupported is found, the comparison refuses it.
		{"table layout", file("table"), []store.Variable{str("plan", "Solo")}, false},
		{"float layout", file("float"), []store.Variable{str("text", "Text that flows beside a floated sidebar, as a magazine column would.")}, false},
		{"generated content", file("pseudo"), []store.Variable{str("title", "Starred")}, false},
		{"script-made content", file("script"), nil, false},
		{"background-clip text", file("blend"), []store.Variable{str("title", "Gradient")}, true},
		{"vertical writing", file("vertical"), []store.Variable{str("title", "縦書きの見出し")}, false},
	}
}

// execute runs a reference with its defaults, as the service does.
func (r reference) execute(t *testing.T) string {
	vals := map[string]any{}
	for _, v := range r.vars {
		vals[v.Name] = v.Default
	}
	var b strings.Builder
	if err := template.Must(template.New(r.name).Parse(r.html)).Execute(&b, vals); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fidelityEnv is a render service with real Chromium and a real takumi
// helper, and a server of the blog card's photo on loopback (which their
// egress guard allows).
type fidelityEnv struct {
	*pipeline
	pool     *browser.Pool
	tk       *takumi.Renderer
	imageURL string
}

func setupFidelity(t *testing.T) *fidelityEnv {
	t.Helper()
	if _, err := browser.FindChromium(); err != nil {
		t.Skipf("no chromium: %v", err)
	}
	if err := takumi.Available(takumi.Config{}); err != nil {
		t.Skipf("takumi helper not installed (run scripts/install-deps.sh): %v", err)
	}
	photo := photoPNG(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(photo)
	}))
	t.Cleanup(srv.Close)
	guard, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool, err := browser.New(browser.Config{Egress: guard, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tk := takumi.New(takumi.Config{Fetch: guard.HTTPClient(egress.ClientOptions{})})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pool.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Stop(context.Background()) })
	if err := tk.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tk.Stop)
	p := setupPipelineWith(t, false, func(c *render.Config) { c.Browser, c.Takumi, c.Logger = pool, tk, log })
	return &fidelityEnv{pipeline: p, pool: pool, tk: tk, imageURL: srv.URL + "/photo.png"}
}

// photoPNG is a 560×630 "photo": four coloured quarters.
func photoPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 560, 630))
	for y := range 630 {
		for x := range 560 {
			c := color.RGBA{R: uint8(x * 255 / 560), G: uint8(y * 255 / 630), B: 140, A: 255}
			if (x < 280) != (y < 315) {
				c.B = 40
			}
			img.Set(x, y, c)
		}
	}
	return testkit.EncodePNG(t, img)
}

// TestFidelityReferences holds the comparison threshold and auto's
// decision: each reference template is rendered by both renderers; those
// takumi draws as Chromium does score at least takumi.Threshold and are
// the only ones auto picks takumi for.
func TestFidelityReferences(t *testing.T) {
	if takumi.Threshold != 0.95 {
		t.Fatalf("takumi.Threshold = %v; the reference templates below were judged at 0.95", takumi.Threshold)
	}
	env := setupFidelity(t)
	ctx := context.Background()
	for _, ref := range references(t, env.imageURL) {
		t.Run(ref.name, func(t *testing.T) {
			html := ref.execute(t)
			page := browser.Page{HTML: html, Width: 1200, Height: 630}
			ch, err := env.pool.Render(ctx, browser.Request{Pages: []browser.Page{page}, Format: browser.FormatPNG, SpaceID: env.space})
			if err != nil {
				t.Fatal(err)
			}
			tk, err := env.tk.Render(ctx, takumi.Request{HTML: html, Width: 1200, Height: 630, Format: "png"})
			if err != nil {
				t.Fatal(err)
			}
			sim, err := takumi.Similarity(ch.Data, tk)
			if err != nil {
				t.Fatal(err)
			}
			unsupported := takumi.Unsupported(html)
			t.Logf("SSIM %.3f; unsupported: %v", sim, unsupported)
			if dir := os.Getenv("FIDELITY_OUT"); dir != "" {
				name := strings.ReplaceAll(ref.name, " ", "_")
				_ = os.WriteFile(filepath.Join(dir, name+".chromium.png"), ch.Data, 0o600)
				_ = os.WriteFile(filepath.Join(dir, name+".takumi.png"), tk, 0o600)
			}
			if ref.capable && (sim < takumi.Threshold || len(unsupported) > 0) {
				t.Errorf("takumi-capable reference scores %.3f (threshold %.2f), unsupported %v", sim, takumi.Threshold, unsupported)
			}
			if !ref.capable && sim >= takumi.Threshold && len(unsupported) == 0 {
				t.Errorf("a reference takumi draws wrongly passes: SSIM %.3f, nothing unsupported found", sim)
			}
			tpl := &store.Template{ID: store.NewID("tpl"), SpaceID: env.space, Name: ref.name, HTML: ref.html, Width: 1200, Height: 630,
				Variables: ref.vars, RenderType: store.RenderTypeAuto}
			d := env.svc.Decide(ctx, tpl)
			if d.Takumi != ref.capable {
				t.Errorf("auto decided takumi=%v (%s), want %v", d.Takumi, d.Reason, ref.capable)
			}
			if d.Takumi && d.Similarity < takumi.Threshold {
				t.Errorf("auto picked takumi at SSIM %.3f, below the threshold", d.Similarity)
			}
			if again, ok := env.svc.CachedDecision(tpl); !ok || again != d {
				t.Errorf("decision not cached for the version: %+v %v", again, ok)
			}
		})
	}
}
