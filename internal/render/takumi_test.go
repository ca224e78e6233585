package render_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
)

// fakeTakumi stands in for the helper in pipeline tests: it answers the
// tiny PNG, or crashes the next crashes renders.
type fakeTakumi struct {
	calls, crashes atomic.Int64
}

func (f *fakeTakumi) Render(_ context.Context, req takumi.Request) ([]byte, error) {
	f.calls.Add(1)
	if f.crashes.Add(-1) >= 0 {
		return nil, fmt.Errorf("%w: signal: killed", takumi.ErrCrashed)
	}
	if req.HTML == "" || req.Width != 100 {
		return nil, errors.New("no HTML or wrong size")
	}
	return tinyPNG, nil
}

func TestParseRenderType(t *testing.T) {
	for _, rt := range render.RenderTypes {
		o, err := render.ParseQuery("pg", url.Values{"renderType": {rt}})
		if err != nil || o.RenderType != rt {
			t.Errorf("query renderType=%s: %+v %v", rt, o, err)
		}
		o, err = render.ParseBody([]byte(`{"pageId":"pg","renderType":"` + rt + `"}`))
		if err != nil || o.RenderType != rt {
			t.Errorf("body renderType %s: %+v %v", rt, o, err)
		}
	}
	for _, bad := range []string{"chromium", "HTML", ""} {
		_, qerr := render.ParseQuery("pg", url.Values{"renderType": {bad}})
		_, berr := render.ParseBody([]byte(`{"pageId":"pg","renderType":"` + bad + `"}`))
		for _, err := range []error{qerr, berr} {
			if bad == "" && err == nil && berr == nil {
				continue // an empty body field is absent; an empty query value is refused
			}
			if !errors.Is(err, render.ErrInvalidInput) || !strings.Contains(err.Error(), "renderType") {
				t.Errorf("renderType %q: %v, want a 400 naming renderType", bad, err)
			}
		}
	}
}

// TestTakumiThroughThePipeline: a render takumi makes goes through the one
// pipeline (recorded with its log entry naming takumi, its callbacks and
// webhook queued); a helper crash is retried once, and a render that
// crashes it twice fails, recorded as failed, with nothing billed.
func TestTakumiThroughThePipeline(t *testing.T) {
	ctx := context.Background()
	tk := &fakeTakumi{}
	p := setupPipelineWith(t, false, func(c *render.Config) { c.Takumi = tk })
	req := func(rt string, f browser.Format) render.Request {
		r := p.pageRequest("https://hooks.example/x")
		r.Options.RenderType, r.Options.Format = rt, f
		return r
	}

	out, err := p.svc.Render(ctx, req(store.RenderTypeTakumi, browser.FormatPNG))
	if err != nil || out.Renderer != store.RendererTakumi || tk.calls.Load() != 1 {
		t.Fatalf("takumi render: %+v %v (calls %d)", out, err, tk.calls.Load())
	}
	l, err := p.st.GetRequestLog(ctx, p.space, out.Render.RequestID)
	if err != nil || l.Renderer != store.RendererTakumi || l.CallbackStatus != store.CallbackPending {
		t.Fatalf("log: %+v %v", l, err)
	}
	if got := strings.Join(p.kinds(t), ","); got != "render.followup,webhook.deliver" {
		t.Fatalf("queued %s", got)
	}
	// The template's own type (html) and a PDF stay on Chromium.
	for _, r := range []render.Request{req("", browser.FormatPNG), req(store.RenderTypeTakumi, browser.FormatPDF)} {
		out, err := p.svc.Render(ctx, r)
		if err != nil || out.Renderer != store.RendererChromium {
			t.Fatalf("%+v: renderer %q %v", r.Options, out.Renderer, err)
		}
	}
	if tk.calls.Load() != 1 {
		t.Fatalf("takumi called %d times, want 1", tk.calls.Load())
	}

	tk.crashes.Store(1) // one crash: retried on the new helper
	if out, err := p.svc.Render(ctx, req(store.RenderTypeTakumi, browser.FormatWebP)); err != nil || out.Renderer != store.RendererTakumi {
		t.Fatalf("after one crash: %v", err)
	}
	tk.crashes.Store(2) // twice: the render fails
	credits, hooks := len(p.jobs(t, "render.followup")), len(p.jobs(t, "webhook.deliver"))
	r := req(store.RenderTypeTakumi, browser.FormatPNG)
	_, err = p.svc.Render(ctx, r)
	if !errors.Is(err, takumi.ErrCrashed) {
		t.Fatalf("two crashes: %v, want ErrCrashed", err)
	}
	if c, h := len(p.jobs(t, "render.followup")), len(p.jobs(t, "webhook.deliver")); c != credits || h != hooks+1 {
		t.Fatalf("a failed render queued %d follow-up jobs and %d webhooks; want none and its render.failed", c-credits, h-hooks)
	}
	if _, err := p.st.GetRequestLog(ctx, p.space, r.RequestID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the render's log entry is the API's to write, with its error: %v", err)
	}
}
