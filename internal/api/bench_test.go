package api_test

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPageRender is what renderhook adds to one sync page render,
// the renderer aside: GET /api/render/{pageId} with a token through the
// whole handler (auth, rate limit, credits, template, the recording
// transaction with its log entry, spool, follow-up job and one webhook
// delivery, the answer) on real SQLite and local files, with the fake
// browser answering a PNG the size of the reference card's. River only
// records the jobs here, so the figure is the request's own path; the
// bench's takumi side (go run ./bench -takumi-only) is the end-to-end one.
// The bench's space has no webhook endpoint; "one endpoint" adds its
// delivery row and job to the transaction.
func BenchmarkPageRender(b *testing.B) {
	b.Run("no endpoint", func(b *testing.B) { benchPageRender(b, false) })
	b.Run("one endpoint", func(b *testing.B) { benchPageRender(b, true) })
}

func benchPageRender(b *testing.B, endpoint bool) {
	e := setup(b)
	e.browser.result = cardSizedPNG(b)
	_, tok := e.newSpace("bench")
	if endpoint {
		e.call(201, "POST", "/api/webhooks", tok, map[string]any{"url": "https://hooks.example.com/bench"})
	}
	tpl := e.call(201, "POST", "/api/templates", tok, templateBody("card", false)).JSON(b)["id"].(string)
	page := e.call(201, "POST", "/api/pages", tok, map[string]any{"templateId": tpl, "publish": true}).JSON(b)["id"].(string)
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/api/render/"+page, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), e.browser.result) {
			b.Fatalf("render: %d: %.200s", rec.Code, rec.Body.Bytes())
		}
	}
}

// cardSizedPNG is a PNG of about the reference card's size (40 KiB):
// noise, so it does not compress.
func cardSizedPNG(b *testing.B) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
