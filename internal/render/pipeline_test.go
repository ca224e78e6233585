package render_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/render/rendertest"
	"github.com/renderhook/renderhook/internal/store"
)

// fakeBrowser stands in for Chromium: it runs a page render's Build (the
// template execution the pool would run) and answers a 1×1 PNG.
type fakeBrowser struct{}

var tinyPNG = func() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()

func (fakeBrowser) Render(ctx context.Context, req browser.Request) (*browser.Result, error) {
	if _, err := req.Build(ctx); err != nil {
		return nil, err
	}
	return &browser.Result{Data: tinyPNG, ContentType: "image/png"}, nil
}

// RenderURL answers a 1×1 PNG, and for each artifact req.Extract asks
// for a stand-in naming it (fakeArtifact).
func (fakeBrowser) RenderURL(_ context.Context, req browser.URLRequest) (*browser.URLResult, error) {
	res := &browser.URLResult{Result: browser.Result{Data: tinyPNG, ContentType: "image/png"}, Status: http.StatusOK}
	if e := req.Extract; e != (browser.Extract{}) {
		ex := &browser.Extracted{}
		for _, a := range []struct {
			on   bool
			dst  *[]byte
			name string
		}{{e.HTML, &ex.HTML, "html"}, {e.MHTML, &ex.MHTML, "mhtml"}, {e.Markdown, &ex.Markdown, "md"}} {
			if a.on {
				*a.dst = fakeArtifact(a.name)
			}
		}
		if e.Metadata {
			ex.Metadata = &browser.PageMetadata{Title: "<b>Hostile</b> & title", OgImage: "https://a.example/og.png"}
		}
		res.Extracted = ex
	}
	return res, nil
}

// fakeArtifact is the stand-in of an artifact.
func fakeArtifact(name string) []byte { return []byte("<p>" + name + " of the page</p>") }

// pipeline is a render service on real SQLite, local files and River; its
// queue works jobs only when asked to.
type pipeline struct {
	svc    *render.Service
	cfg    render.Config
	st     store.Store
	q      *queue.Queue
	space  string
	pageID string
}

func setupPipeline(t *testing.T, work bool) *pipeline {
	t.Helper()
	return setupPipelineWith(t, work, nil)
}

// setupPipelineWith is setupPipeline with the service's config changed by
// change (a real browser, takumi).
func setupPipelineWith(t *testing.T, work bool, change func(*render.Config)) *pipeline {
	t.Helper()
	ctx := context.Background()
	d := rendertest.New(t, t.TempDir(), nil, !work)
	st, q := d.Store, d.Queue
	cfg := d.Config(fakeBrowser{})
	if change != nil {
		change(&cfg)
	}
	svc, err := render.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.RegisterAsync(q.Workers, time.Minute)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background(), time.Second) })

	now := time.Now().UTC()
	p := &pipeline{svc: svc, cfg: cfg, st: st, q: q, space: store.NewID("spc"), pageID: store.NewID("pg")}
	if err := st.CreateSpace(ctx, &store.Space{ID: p.space, Name: "t", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tpl := &store.Template{ID: store.NewID("tpl"), SpaceID: p.space, Name: "card", HTML: "<h1>{{.title}}</h1>", Width: 100, Height: 50,
		Variables: []store.Variable{{Name: "title", Type: "string", Default: "Hi"}}, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	v := store.PageVersion{TemplateID: tpl.ID, Name: "p", Values: map[string]any{}}
	if err := st.CreatePage(ctx, &store.Page{ID: p.pageID, SpaceID: p.space, Draft: v, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPage(ctx, p.space, p.pageID, now); err != nil {
		t.Fatal(err)
	}
	return p
}

// jobs lists the jobs queued so far, of the given kinds (all without).
func (p *pipeline) jobs(t *testing.T, kinds ...string) []*rivertype.JobRow {
	t.Helper()
	params := river.NewJobListParams().First(100)
	if kinds != nil {
		params = params.Kinds(kinds...)
	}
	res, err := p.q.Client().JobList(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

func (p *pipeline) kinds(t *testing.T) []string {
	t.Helper()
	var kinds []string
	for _, j := range p.jobs(t) {
		kinds = append(kinds, j.Kind)
	}
	slices.Sort(kinds)
	return kinds
}

func (p *pipeline) pageRequest(webhook string) render.Request {
	return render.Request{SpaceID: p.space, RequestID: store.NewID("req"), Caller: render.CallerToken,
		Options: &render.Options{Pages: []render.PageRef{{PageID: p.pageID}}, Format: browser.FormatPNG, Output: render.OutputBinary, WebhookURL: webhook}}
}

func (p *pipeline) urlRequest(t *testing.T, body string) render.URLRenderRequest {
	t.Helper()
	o, err := render.ParseV1Body([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return render.URLRenderRequest{SpaceID: p.space, RequestID: store.NewID("req"), Options: o}
}

// TestNewServiceRequiresQueueAndNotify: a render is always recorded with
// its follow-up, so there is no service without a queue and a notifier.
func TestNewServiceRequiresQueueAndNotify(t *testing.T) {
	cfg := setupPipeline(t, false).cfg
	noQueue, noNotify := cfg, cfg
	noQueue.Queue, noNotify.Notify = nil, nil
	for _, c := range []render.Config{noQueue, noNotify} {
		if _, err := render.NewService(c); err == nil {
			t.Errorf("a service was made without Queue or Notify: %+v", c)
		}
	}
}

// TestSyncRendersRecordWithFollowUp: a sync render of either source is
// recorded with its log entry, its follow-up job and its webhook in one
// go; a page render's bytes are spooled for the follow-up job to store, a
// v1 render's stored first.
func TestSyncRendersRecordWithFollowUp(t *testing.T) {
	ctx := context.Background()
	p := setupPipeline(t, false)

	out, err := p.svc.Render(ctx, p.pageRequest("https://hooks.example/page"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Render.Status != store.RenderSucceeded || out.Render.StoredAt != nil || !bytes.Equal(out.Data, tinyPNG) {
		t.Fatalf("page render %+v", out.Render)
	}
	if got, want := p.kinds(t), []string{"render.followup", "webhook.deliver"}; !slices.Equal(got, want) {
		t.Fatalf("page render queued %v, want %v", got, want)
	}
	if data, err := p.st.GetSpool(ctx, out.Render.ID); err != nil || !bytes.Equal(data, tinyPNG) {
		t.Fatalf("spool: %v", err)
	}

	uout, err := p.svc.RenderURL(ctx, p.urlRequest(t, `{"url":"https://example.com","webhook_url":"https://hooks.example/url"}`))
	if err != nil {
		t.Fatal(err)
	}
	if uout.Render.Status != store.RenderSucceeded || uout.Render.StoredAt == nil || uout.CacheHit {
		t.Fatalf("url render %+v", uout.Render)
	}
	want := []string{"render.followup", "render.followup", "webhook.deliver", "webhook.deliver"}
	if got := p.kinds(t); !slices.Equal(got, want) {
		t.Fatalf("after the url render queued %v, want %v", got, want)
	}
	for _, rec := range []*store.Render{out.Render, uout.Render} {
		l, err := p.st.GetRequestLog(ctx, p.space, rec.RequestID)
		if err != nil || l.Status != 200 || l.RenderID != rec.ID || l.CallbackStatus != store.CallbackPending {
			t.Fatalf("log of %s: %+v %v", rec.ID, l, err)
		}
	}
}

// TestAsyncRendersQueueAndWork: an async render of either source is
// recorded as queued with its log entry (202 for pages, 201 for v1) and
// its job at the first priority, and its job renders and records it.
func TestAsyncRendersQueueAndWork(t *testing.T) {
	ctx := context.Background()
	p := setupPipeline(t, true)
	rec, err := p.svc.Enqueue(ctx, p.pageRequest(""))
	if err != nil {
		t.Fatal(err)
	}
	urec, hit, err := p.svc.EnqueueURL(ctx, p.urlRequest(t, `{"html":"<b>x</b>"}`))
	if err != nil || hit {
		t.Fatal(err, hit)
	}
	for _, c := range []struct {
		rec    *store.Render
		status int
	}{{rec, 202}, {urec, 201}} {
		if c.rec.Status != store.RenderQueued {
			t.Errorf("%s is %s, want queued", c.rec.ID, c.rec.Status)
		}
		if l, err := p.st.GetRequestLog(ctx, p.space, c.rec.RequestID); err != nil || l.Status != c.status || l.RenderID != c.rec.ID {
			t.Errorf("log of %s: %+v %v, want status %d", c.rec.ID, l, err, c.status)
		}
	}
	jobs := p.jobs(t, "render.async", "render.url")
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want 2", len(jobs))
	}
	for _, j := range jobs {
		if (j.Kind != "render.async" && j.Kind != "render.url") || j.Priority != 1 {
			t.Errorf("job %s at priority %d", j.Kind, j.Priority)
		}
	}

	// The jobs render both; the page's bytes are then moved from the
	// spool to the bucket by its store callback.
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range []string{rec.ID, urec.ID} {
		for {
			r, err := p.st.FindRender(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == store.RenderSucceeded && r.StoredAt != nil {
				break
			}
			if r.Status == store.RenderFailed || time.Now().After(deadline) {
				t.Fatalf("render %s is %s (stored %v)", id, r.Status, r.StoredAt)
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
	}
}
