package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
)

const extractBody = `{"html":"<p>x</p>","save_html":true,"save_mhtml":true,"save_markdown":true,"save_metadata":true,"metadata":true,
"webhook_url":"https://hooks.example/x","webhook_metadata":{"k":"<v>"}}`

// fetchArtifact reads the file an artifact URL names, as the /files/ route
// would: its signature must verify, and its key must be under the space.
func (p *pipeline) fetchArtifact(t *testing.T, raw string) []byte {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(u.Path, "/files/")
	if !p.cfg.Signer.Verify(key, u.Query().Get("sig")) || !strings.HasPrefix(key, p.space+"/") {
		t.Fatalf("%s: not a signed URL of the space's files", raw)
	}
	f, _, err := p.cfg.Bucket.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return data
}

// checkArtifacts checks that each of a's URLs serves its artifact and the
// metadata is the page's.
func (p *pipeline) checkArtifacts(t *testing.T, a *render.Artifacts) {
	t.Helper()
	if a == nil {
		t.Fatal("no artifacts")
	}
	for name, u := range map[string]string{"html": a.HTMLURL, "mhtml": a.MHTMLURL, "md": a.MarkdownURL} {
		if got := p.fetchArtifact(t, u); !bytes.Equal(got, fakeArtifact(name)) {
			t.Errorf("%s at %s is %q", name, u, got)
		}
	}
	var stored, answered map[string]string
	if err := json.Unmarshal(p.fetchArtifact(t, a.MetadataURL), &stored); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(a.Metadata, &answered); err != nil {
		t.Fatal(err)
	}
	if stored["title"] != "<b>Hostile</b> & title" || answered["title"] != stored["title"] || answered["ogImage"] != "https://a.example/og.png" {
		t.Errorf("metadata stored %v, answered %v", stored, answered)
	}
	// The JSON escapes markup, so no page text becomes HTML where it is shown.
	if bytes.Contains(a.Metadata, []byte("<b>")) {
		t.Errorf("metadata JSON has raw markup: %s", a.Metadata)
	}
}

// TestV1ArtifactsSync: a sync render with every save_* option and
// metadata stores each artifact under the space, answers their URLs and
// the metadata, puts them in its render.succeeded webhook beside the
// webhook_metadata echo, and a cache hit answers the same.
func TestV1ArtifactsSync(t *testing.T) {
	ctx := context.Background()
	p := setupPipeline(t, false)
	req := p.urlRequest(t, extractBody)
	out, err := p.svc.RenderURL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	p.checkArtifacts(t, out.Artifacts)

	ds, err := p.st.ListDeliveries(ctx, store.ListDeliveriesParams{SpaceID: p.space, RenderID: out.Render.ID, Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v", ds, err)
	}
	var payload struct {
		Result struct {
			HTMLURL, MHTMLURL, MarkdownURL, MetadataURL string
			Metadata                                    map[string]string
		}
		Metadata map[string]string
	}
	if err := json.Unmarshal(ds[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	r := payload.Result
	if r.HTMLURL != out.Artifacts.HTMLURL || r.MHTMLURL != out.Artifacts.MHTMLURL || r.MarkdownURL != out.Artifacts.MarkdownURL ||
		r.MetadataURL != out.Artifacts.MetadataURL || r.Metadata["title"] != "<b>Hostile</b> & title" || payload.Metadata["k"] != "<v>" {
		t.Fatalf("webhook payload %s", ds[0].Payload)
	}

	req = p.urlRequest(t, extractBody)
	req.CacheTTL = time.Hour
	hit, err := p.svc.RenderURL(ctx, req)
	if err != nil || !hit.CacheHit {
		t.Fatalf("cache: %v %v", hit, err)
	}
	p.checkArtifacts(t, hit.Artifacts)

	// Without artifacts the answer has none.
	plain, err := p.svc.RenderURL(ctx, p.urlRequest(t, `{"html":"<p>x</p>"}`))
	if err != nil || plain.Artifacts != nil {
		t.Fatalf("plain render: artifacts %+v, %v", plain.Artifacts, err)
	}
}

// TestV1ArtifactsAsync: an async render stores its artifacts and the
// status answer (RenderArtifacts) names them.
func TestV1ArtifactsAsync(t *testing.T) {
	ctx := context.Background()
	p := setupPipeline(t, true)
	rec, _, err := p.svc.EnqueueURL(ctx, p.urlRequest(t, extractBody))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec, err = p.st.FindRender(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == store.RenderSucceeded {
			break
		}
		if rec.Status == store.RenderFailed || time.Now().After(deadline) {
			t.Fatalf("render is %s: %s", rec.Status, rec.Error)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	a, err := p.svc.RenderArtifacts(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	p.checkArtifacts(t, a)
}
