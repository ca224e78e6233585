package takumi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// TestEncodePNG round-trips pixels of each kind encodePNG tells apart
// (indexed opaque, indexed translucent, RGB, RGBA) through image/png:
// every pixel comes back as it went in, and the colour type is the one
// chosen.
func TestEncodePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name      string
		w, h      int
		colors    int // distinct colours; 0: random
		alpha     bool
		colorType byte
	}{
		{"indexed opaque", 37, 11, 5, false, 3},
		{"indexed translucent", 64, 9, 256, true, 3},
		{"rgb", 61, 13, 0, false, 2},
		{"rgba", 33, 17, 0, true, 6},
		{"one pixel", 1, 1, 1, true, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pal := make([][4]byte, max(c.colors, 1))
			for i := range pal {
				pal[i] = [4]byte{byte(i), byte(i * 7), byte(255 - i), 255}
				if c.alpha {
					pal[i][3] = byte(i * 3)
				}
			}
			pix := make([]byte, c.w*c.h*4)
			for i := 0; i < len(pix); i += 4 {
				if c.colors > 0 {
					p := pal[rng.IntN(len(pal))]
					if i/4%3 == 0 { // runs of one colour too
						p = pal[0]
					}
					copy(pix[i:], p[:])
					continue
				}
				for j := range 4 {
					pix[i+j] = byte(rng.IntN(256))
				}
				if !c.alpha {
					pix[i+3] = 255
				}
			}
			if c.colors > 0 { // every colour present, so the count is exact
				for i := range min(len(pal), c.w*c.h) {
					copy(pix[i*4:], pal[i][:])
				}
			}
			b, err := encodePNG(pix, c.w, c.h)
			if err != nil {
				t.Fatal(err)
			}
			if b[25] != c.colorType {
				t.Fatalf("colour type %d, want %d", b[25], c.colorType)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, c.w, c.h) {
				t.Fatalf("bounds %v", img.Bounds())
			}
			for y := range c.h {
				for x := range c.w {
					n := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					got := [4]byte{n.R, n.G, n.B, n.A}
					want := [4]byte(pix[(y*c.w+x)*4:])
					if want[3] == 0 { // colour is meaningless at alpha 0
						got, want = [4]byte{}, [4]byte{}
					}
					if got != want {
						t.Fatalf("pixel %d,%d = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
	if _, err := encodePNG(make([]byte, 10), 2, 2); err == nil {
		t.Fatal("a short buffer encoded")
	}
}

// TestPNGAsTakumiDraws renders reference cards both ways, takumi's own
// PNG and its raw pixels encoded by encodePNG: the pixels are the same.
func TestPNGAsTakumiDraws(t *testing.T) {
	r := startRenderer(t, Config{})
	gradient := `<div style="width:1200px;height:630px;display:flex;align-items:center;justify-content:center;` +
		`background:linear-gradient(135deg,#f97316,#db2777 50%,#4f46e5);color:white;font-size:80px;font-family:'Liberation Sans'">Launch week</div>`
	translucent := `<div style="width:300px;height:200px;display:flex;border-radius:40px;background:rgba(79,70,229,.5);color:white;font-size:40px">Hi</div>`
	for name, html := range map[string]string{"card": cardHTML(t), "gradient": gradient, "translucent": translucent} {
		req := Request{HTML: html, Width: 1200, Height: 630, Format: "png"}
		p, err := r.proc(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := r.renderOn(context.Background(), p, req) // takumi's encoder
		if err != nil {
			t.Fatal(err)
		}
		ours, err := r.Render(context.Background(), req) // raw, encodePNG
		if err != nil {
			t.Fatal(err)
		}
		a, b := decodePNG(t, theirs), decodePNG(t, ours)
		if a.Bounds() != b.Bounds() {
			t.Fatalf("%s: bounds %v and %v", name, a.Bounds(), b.Bounds())
		}
		for y := range a.Bounds().Dy() {
			for x := range a.Bounds().Dx() {
				ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
				cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
				if ca != cb && (ca.A != 0 || cb.A != 0) {
					t.Fatalf("%s: pixel %d,%d: takumi's %v, ours %v", name, x, y, ca, cb)
				}
			}
		}
		t.Logf("%s: takumi's PNG %d bytes, ours %d", name, len(theirs), len(ours))
	}
}

// TestFreeListsDropLargeBuffers: encoding a canvas past the pooled sizes
// (noise, so neither the rows nor the deflate stream are small) leaves no
// buffer of its size in the free lists, nor does a large frame handed
// back; a card-sized frame is still reused.
func TestFreeListsDropLargeBuffers(t *testing.T) {
	const w, h = 3000, 2000 // 24 MB of pixels, over maxPooledFrame
	pix := make([]byte, w*h*4)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range pix {
		pix[i] = byte(rng.Uint32())
	}
	if _, err := encodePNG(pix, w, h); err != nil {
		t.Fatal(err)
	}
	putFrame(pix)
	for {
		sc, ok := scratches.get()
		if !ok {
			break
		}
		if cap(sc.rows) > maxPooledScratch || sc.z.Cap() > maxPooledScratch {
			t.Fatalf("a scratch of %d bytes of rows and %d of deflate stayed in the free list", cap(sc.rows), sc.z.Cap())
		}
	}
	for {
		b, ok := frames.get()
		if !ok {
			break
		}
		if cap(b) > maxPooledFrame+64 {
			t.Fatalf("a frame of %d bytes stayed in the free list", cap(b))
		}
	}
	small := getFrame(pooledFrame)
	putFrame(small)
	if again := getFrame(pooledFrame); &again[0] != &small[0] {
		t.Log("the card-sized frame was taken by another test first") // the lists are shared; not a failure
	}
}
