package takumi

import (
	"context"
	"testing"
)

// BenchmarkEncodePNG encodes the quickstart card's raw pixels, as Render
// does for PNG; BenchmarkRenderPNG is the whole render, takumi's helper
// included.
func BenchmarkEncodePNG(b *testing.B) {
	r := startRenderer(b, Config{})
	p, err := r.proc(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	pix, err := r.renderOn(context.Background(), p, Request{HTML: cardHTML(b), Width: 1200, Height: 630, Format: "raw"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pix)))
	for b.Loop() {
		if _, err := encodePNG(pix, 1200, 630); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	r := startRenderer(b, Config{})
	req := Request{HTML: cardHTML(b), Width: 1200, Height: 630, Format: "png"}
	for b.Loop() {
		if _, err := r.Render(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
