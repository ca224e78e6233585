package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/blob"
)

// TestV1NoUpload: with no_upload the file is in the answer and nowhere
// else (no blob, no spool for its follow-up job to store, no URL), says so in
// X-Renderhook-Stored, and is never kept for or served from the cache;
// async renders and the save_* options refuse it.
func TestV1NoUpload(t *testing.T) {
	e := setup(t)
	sp, tok := e.newSpace("noupload")
	ctx := context.Background()
	day := time.Now().UTC().Format("2006/01/02")
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := e.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stored := func(id string) bool {
		t.Helper()
		rec, err := e.st.GetRender(ctx, sp.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		key := rec.BlobKey
		if key == "" {
			key = fmt.Sprintf("%s/%s/%s.png", sp.ID, day, id) // where it would have gone
		}
		f, _, err := e.bucket.Open(ctx, key)
		if err == nil {
			f.Close()
			return true
		}
		if !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
		// The follow-up job stores what is spooled, and only that.
		return count(`SELECT count(*) FROM render_spool WHERE render_id = ?`, id) > 0
	}

	// For contrast, a render stored as usual.
	plain := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>n</p>"})
	if !stored(plain.Header.Get("X-Render-Id")) || plain.Header.Get("X-Renderhook-Stored") != "" {
		t.Fatalf("a plain render is not stored, or says it is not")
	}

	bin := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>n</p>", "no_upload": true, "response_type": "binary"})
	if !bytes.Equal(bin.Body, tinyPNG) || bin.Header.Get("X-Renderhook-Stored") != "false" {
		t.Errorf("binary: the body is not the PNG, or X-Renderhook-Stored %q", bin.Header.Get("X-Renderhook-Stored"))
	}
	if id := bin.Header.Get("X-Render-Id"); stored(id) {
		t.Errorf("the no_upload render %s was stored, spooled or queued to be", id)
	}

	js := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>n</p>", "no_upload": true})
	body := js.JSON(t)
	if v, ok := body["renderUrl"]; !ok || v != nil || body["size"] != float64(len(tinyPNG)) {
		t.Errorf("json: %v, want renderUrl null and the size", body)
	}
	if stored(js.Header.Get("X-Render-Id")) {
		t.Error("the json no_upload render was stored")
	}
	// Its status names no file either.
	st := e.call(200, "GET", "/v1/render/"+js.Header.Get("X-Render-Id"), tok, nil).JSON(t)
	if u, ok := st["renderUrl"]; ok {
		t.Errorf("status of a no_upload render: renderUrl %v", u)
	}

	// With a ttl: twice rendered, never a cache hit.
	before := e.browser.urlRenders.Load()
	for range 2 {
		r := e.call(200, "POST", "/v1/render/sync", tok, map[string]any{"html": "<p>c</p>", "ttl": 3600, "no_upload": true, "response_type": "binary"})
		if c := r.Header.Get("X-Renderhook-Cache"); c != "miss" || !bytes.Equal(r.Body, tinyPNG) {
			t.Errorf("cache %q", c)
		}
	}
	if n := e.browser.urlRenders.Load() - before; n != 2 {
		t.Errorf("%d renders for two no_upload requests, want 2", n)
	}

	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/render/async", map[string]any{"html": "<p>a</p>", "no_upload": true}},
		{"/v1/render/sync", map[string]any{"html": "<p>a</p>", "no_upload": true, "save_html": true}},
	} {
		r := e.call(400, "POST", c.path, tok, c.body)
		if !bytes.Contains(r.Body, []byte(`option \"no_upload\"`)) {
			t.Errorf("%s %v: %s", c.path, c.body, r.Body)
		}
	}
}

// TestV1NoUploadStatusWithArtifacts: the status of a no_upload render that
// answered with customData or page metadata (which, like its file, were
// stored nowhere) is a 200 without them, not a 500 from reading artifacts
// that were never written.
func TestV1NoUploadStatusWithArtifacts(t *testing.T) {
	e := setup(t)
	_, tok := e.newSpace("noupload-art")
	for _, opts := range []map[string]any{
		{"custom_data_variable": "app.state"},
		{"metadata": true},
	} {
		req := map[string]any{"html": "<p>n</p>", "no_upload": true}
		for k, v := range opts {
			req[k] = v
		}
		r := e.call(200, "POST", "/v1/render/sync", tok, req)
		st := e.call(200, "GET", "/v1/render/"+r.Header.Get("X-Render-Id"), tok, nil).JSON(t)
		if st["status"] != "succeeded" {
			t.Errorf("%v: status %v", opts, st)
		}
	}
}
