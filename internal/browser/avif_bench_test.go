package browser

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gen2brain/avif"
)

// avifBenchHTML is a page like the ones clients capture: text, a
// gradient, a photo-like noisy block and flat colours, at 1280×1024.
const avifBenchHTML = `<!doctype html><html><head><style>
body{margin:0;font-family:sans-serif;background:linear-gradient(135deg,#1e3c72,#2a5298 40%,#f5f7fa);color:#111}
header{background:#fff;padding:24px 48px;font-size:28px;font-weight:bold}
main{display:grid;grid-template-columns:1fr 1fr;gap:32px;padding:48px}
article{background:#fff;border-radius:12px;padding:24px;font-size:16px;line-height:1.5}
canvas{width:100%;height:360px;border-radius:12px}
</style></head><body><header>Renderhook — the AVIF benchmark page</header><main>
<article><h1>Lorem ipsum</h1><p>` + benchLorem + `</p><p>` + benchLorem + `</p></article>
<div><canvas id="c" width="560" height="360"></canvas><article><p>` + benchLorem + `</p></article></div></main>
<script>const c=document.getElementById('c').getContext('2d');let s=7;const r=()=>(s=(s*1103515245+12345)%2147483648)/2147483648;
for(let y=0;y<360;y+=4)for(let x=0;x<560;x+=4){c.fillStyle='hsl('+(x/3+y/5+r()*40)+',60%,'+(30+r()*40)+'%)';c.fillRect(x,y,4,4)}</script></body></html>`

const benchLorem = `Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.`

// benchScreenshot is a 1280×1024 PNG screenshot of avifBenchHTML.
func benchScreenshot(b *testing.B) []byte {
	b.Helper()
	p := newPool(b, Config{MaxTabs: 1, Egress: loopbackGuard(b)})
	res, err := p.RenderURL(context.Background(), URLRequest{HTML: avifBenchHTML, Format: FormatPNG, Width: 1280, Height: 1024})
	if err != nil {
		b.Fatal(err)
	}
	return res.Data
}

// BenchmarkAVIFWasm encodes a 1280×1024 screenshot with
// github.com/gen2brain/avif (libavif + aom compiled to wasm, run by
// wazero) at quality 60 and the speed in the sub-benchmark's name.
func BenchmarkAVIFWasm(b *testing.B) {
	shot := benchScreenshot(b)
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.Fatal(err)
	}
	avif.InitEncoder()
	for _, speed := range []int{6, 8, 10} {
		b.Run("speed"+strconv.Itoa(speed), func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := avif.Encode(&out, img, avif.Options{Quality: 60, Speed: speed}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.Len()), "bytes")
			b.ReportMetric(float64(len(shot)), "png-bytes")
			reportPSNR(b, img, out.Bytes())
		})
	}
}

// BenchmarkAVIFEnc encodes the same screenshot with Debian's avifenc
// (libavif-bin, aom), one process per encode as the renderer would run it.
func BenchmarkAVIFEnc(b *testing.B) {
	if _, err := exec.LookPath("avifenc"); err != nil {
		b.Skip("avifenc not installed")
	}
	shot := benchScreenshot(b)
	img, _ := png.Decode(bytes.NewReader(shot))
	dir := b.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.avif")
	if err := os.WriteFile(in, shot, 0o600); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		codec string
		speed int
	}{{"aom", 6}, {"aom", 8}, {"aom", 10}, {"svt", 8}, {"svt", 10}, {"rav1e", 10}} {
		b.Run(c.codec+"/speed"+strconv.Itoa(c.speed), func(b *testing.B) {
			for b.Loop() {
				// -q needs libavif 1.0; 0.11 takes quantizers: 25 ≈ quality 60.
				cmd := exec.Command("avifenc", avifencArgs(c.codec, c.speed, 25, in, out)...)
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("avifenc: %v: %s", err, msg)
				}
			}
			data, err := os.ReadFile(out)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(data)), "bytes")
			reportPSNR(b, img, data)
		})
	}
}

// reportPSNR decodes an AVIF and reports its PSNR against want.
func reportPSNR(b *testing.B, want image.Image, data []byte) {
	got, err := avif.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(psnr(want, got), "psnr-dB")
}

// psnr is the peak signal-to-noise ratio of got against want over RGB, in
// dB (higher is closer; above 35 dB differences are hard to see).
func psnr(want, got image.Image) float64 {
	b := want.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := want.At(x, y).RGBA()
			r2, g2, b2, _ := got.At(x, y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				sum += d * d
			}
		}
	}
	mse := sum / float64(3*b.Dx()*b.Dy())
	if mse == 0 {
		return 100
	}
	return 10 * math.Log10(255*255/mse)
}
