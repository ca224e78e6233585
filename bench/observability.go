package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/tracing"
)

// targetMetricsOverheadPct bounds what /metrics may add to the Chromium
// path's p50 (issue #17: within 2 %).
const targetMetricsOverheadPct = 2.0

// observability is what metrics and tracing cost a render.
type observability struct {
	// N sequential PNG renders per server, in alternating rounds, by two
	// servers alike but for --metrics-addr (on the main listener / off).
	N      int     `json:"n"`
	OnP50  float64 `json:"metricsOnP50Ms"`
	OffP50 float64 `json:"metricsOffP50Ms"`
	// DiffPct is (on - off) / off in percent; DiffCI its 95 % bootstrap
	// interval, also in percent of the off p50.
	DiffPct float64    `json:"differencePct"`
	DiffCI  [2]float64 `json:"differenceCI95Pct"`
	// TracingOffNs is what tracing costs a render when it is off: the
	// no-op spans a render starts (SpansPerRender of them), timed in a
	// loop; TracingOffPct is that against the off p50.
	TracingOffNs   float64 `json:"tracingOffNsPerRender"`
	SpansPerRender int     `json:"spansPerRender"`
	TracingOffPct  float64 `json:"tracingOffPct"`
}

// measureObservability starts a second server with metrics off beside
// rh (metrics on, the default) and compares their sequential PNG renders
// in rounds that alternate which goes first; then times tracing's no-op
// path.
func measureObservability(ctx context.Context, rh *renderhookSide, p plan, logger *slog.Logger, progress func(string, ...any)) (*observability, error) {
	progress("observability: starting renderhook with --metrics-addr=off (in-process, %d tabs)", p.Clients)
	off, err := startRenderhook(ctx, p.Clients, false, "", logger, func(c *server.Config) { c.MetricsAddr = server.MetricsOff })
	if err != nil {
		return nil, err
	}
	defer off.close()
	if err := sameChromiumFlags(rh.srv.Pool.BrowserPID(), off.srv.Pool.BrowserPID()); err != nil {
		return nil, fmt.Errorf("renderhook with metrics off: %w", err)
	}
	for _, s := range []*renderhookSide{rh, off} {
		if _, err := runPhase(ctx, s, formatPNG, p.Warmup, 1); err != nil {
			return nil, err
		}
	}
	progress("observability: %d sequential PNG renders per server, metrics on vs off, in rounds of %d", p.Seq, p.SeqRound)
	var on, offLat []float64
	for i := 0; i*p.SeqRound < p.Seq; i++ {
		n := min(p.SeqRound, p.Seq-i*p.SeqRound)
		order := []*renderhookSide{rh, off}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			ph, err := runPhase(ctx, s, formatPNG, n, 1)
			if err != nil {
				return nil, err
			}
			if s == rh {
				on = append(on, ph.latMs...)
			} else {
				offLat = append(offLat, ph.latMs...)
			}
			if _, err := s.settle(ctx, settleLimit); err != nil {
				return nil, err
			}
		}
	}
	o := &observability{N: len(on), OnP50: summarize(on).P50, OffP50: summarize(offLat).P50}
	if o.OffP50 > 0 {
		o.DiffPct = round2((o.OnP50 - o.OffP50) / o.OffP50 * 100)
		ci := p50DiffCI(on, offLat)
		o.DiffCI = [2]float64{round2(ci[0] / o.OffP50 * 100), round2(ci[1] / o.OffP50 * 100)}
	}
	o.SpansPerRender, o.TracingOffNs = tracingOffCost()
	if o.OffP50 > 0 {
		o.TracingOffPct = o.TracingOffNs / (o.OffP50 * 1e6) * 100
	}
	return o, nil
}

// tracingOffCost times what tracing leaves on a page render's path when
// it is off, as server's observedBrowser runs it: two no-op spans (the
// browser render, the template) and the IsRecording check that skips the
// rest. The HTTP and River middleware and the traced store are not
// installed at all then.
func tracingOffCost() (spans int, nsPerRender float64) {
	const iters = 200000
	tr := tracing.Off().Tracer()
	ctx := context.Background()
	start := time.Now()
	for range iters {
		c, s := tr.Start(ctx, "browser.render")
		_, t := tr.Start(c, "template.execute")
		tracing.End(t, nil)
		if s.IsRecording() {
			panic("tracing.Off records")
		}
		tracing.End(s, nil)
	}
	return 2, math.Round(float64(time.Since(start).Nanoseconds())/iters*10) / 10
}

// addObservability measures it and adds its checks to rep.
func addObservability(ctx context.Context, rep *report, rh *renderhookSide, p plan, logger *slog.Logger, progress func(string, ...any)) error {
	o, err := measureObservability(ctx, rh, p, logger, progress)
	if err != nil {
		return err
	}
	rep.Observability = o
	rep.Checks = append(rep.Checks,
		newCheck(fmt.Sprintf("Chromium-path p50 with metrics on vs off (%d sequential PNG renders each; 95%% CI %.1f..%.1f %%)", o.N, o.DiffCI[0], o.DiffCI[1]),
			o.DiffPct, "%", "<=", targetMetricsOverheadPct),
		newCheck(fmt.Sprintf("tracing off: %d no-op spans per render (%.0f ns) against the p50", o.SpansPerRender, o.TracingOffNs),
			o.TracingOffPct, "%", "<", 0.1))
	return nil
}

// runObservabilityOnly is -observability-only: the observability phase
// alone, printed, no results files.
func runObservabilityOnly(ctx context.Context, rh *renderhookSide, p plan, logger *slog.Logger, progress func(string, ...any), stdout io.Writer) error {
	rep := &report{}
	if err := addObservability(ctx, rep, rh, p, logger, progress); err != nil {
		return err
	}
	o := rep.Observability
	fmt.Fprintf(stdout, "metrics on p50 %.2f ms, off p50 %.2f ms (n=%d each): %+.2f %% (95%% CI %+.2f..%+.2f %%)\n", o.OnP50, o.OffP50, o.N, o.DiffPct, o.DiffCI[0], o.DiffCI[1])
	fmt.Fprintf(stdout, "tracing off: %.0f ns per render (%d no-op spans), %.5f %% of the p50\n", o.TracingOffNs, o.SpansPerRender, o.TracingOffPct)
	for _, c := range rep.Checks {
		fmt.Fprintf(stdout, "%s  %s: %s (target %s)\n", c.verdict(), c.Name, c.valueText(), c.targetText())
	}
	return nil
}
