package takumi

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// spikeFonts are the fonts both spike sides register (the card uses Liberation Sans).
var spikeFonts = []string{
	"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
	"/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
}

type latencies struct {
	p50, p95   time.Duration
	throughput float64
	n          int
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %6.2f ms  p95 %6.2f ms  %6.1f renders/s  (n=%d)",
		float64(l.p50.Microseconds())/1000, float64(l.p95.Microseconds())/1000, l.throughput, l.n)
}

// measure runs n renders with c goroutines and reports latency and throughput.
func measure(t testing.TB, c, n int, render func() error) latencies {
	t.Helper()
	durs := make([]time.Duration, n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= n {
					return
				}
				t0 := time.Now()
				if err := render(); err != nil {
					t.Error(err)
					return
				}
				durs[k] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	slices.Sort(durs)
	return latencies{p50: durs[n/2], p95: durs[n*95/100], throughput: float64(n) / total.Seconds(), n: n}
}

// TestSpike measures both integrations on the quickstart card in one run,
// alternating the two in rounds so the shared machine's load falls on both:
// RENDERHOOK_TAKUMI_SPIKE=1 go test -run TestSpike -v ./internal/takumi/
func TestSpike(t *testing.T) {
	if os.Getenv("RENDERHOOK_TAKUMI_SPIKE") == "" {
		t.Skip("set RENDERHOOK_TAKUMI_SPIKE=1 to run the takumi spike benchmark")
	}
	html := cardHTML(t)
	r := startRenderer(t, Config{Fonts: spikeFonts, MaxConcurrent: 4})
	req := Request{HTML: html, Width: 1200, Height: 630, Format: "png"}
	nativeRender := func() error { _, err := r.Render(context.Background(), req); return err }
	nativeImg, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wasmRender := setupWasm(t, html, nativeImg)
	measure(t, 4, 40, nativeRender) // warm up
	measure(t, 4, 40, wasmRender)
	const n, rounds = 200, 3
	var r1, r4, tp []float64
	for round := range rounds {
		b1, a1 := measure(t, 1, n, nativeRender), measure(t, 1, n, wasmRender)
		b4, a4 := measure(t, 4, n, nativeRender), measure(t, 4, n, wasmRender)
		t.Logf("round %d (b) native helper, 1 client:  %v", round+1, b1)
		t.Logf("round %d (a) wasm in wazero, 1 client: %v", round+1, a1)
		t.Logf("round %d (b) native helper, 4 clients: %v", round+1, b4)
		t.Logf("round %d (a) wasm in wazero, 4 clients: %v", round+1, a4)
		r1 = append(r1, float64(a1.p50)/float64(b1.p50))
		r4 = append(r4, float64(a4.p50)/float64(b4.p50))
		tp = append(tp, b4.throughput/a4.throughput)
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	t.Logf("median ratios over %d rounds: p50 (a)/(b) 1 client %.2fx, 4 clients %.2fx; throughput (b)/(a) 4 clients %.2fx",
		rounds, med(r1), med(r4), med(tp))
}

// pixelDiff counts the pixels whose channels differ by more than 8 of 255.
func pixelDiff(t testing.TB, a, b []byte) (diff, total int) {
	t.Helper()
	ia, ib := decodePNG(t, a), decodePNG(t, b)
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("sizes differ: %v, %v", ia.Bounds(), ib.Bounds())
	}
	far := func(x, y uint32) bool { return x>>8 > y>>8+8 || y>>8 > x>>8+8 }
	for y := ia.Bounds().Min.Y; y < ia.Bounds().Max.Y; y++ {
		for x := ia.Bounds().Min.X; x < ia.Bounds().Max.X; x++ {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) {
				diff++
			}
			total++
		}
	}
	return diff, total
}
