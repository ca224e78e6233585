package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/takumi"
)

// The takumi side, measured in the same session as the Chromium path, in
// alternating rounds of three sides on the reference card (PNG):
//
//   - the takumi floor: takumi alone, this process driving its own helper
//     (internal/takumi, the build renderhook runs), no HTTP, no database;
//   - renderhook with renderType=takumi: GET /api/render/{pageId} over
//     HTTP, authenticated, rate-limited, recorded, billed and its file
//     spooled and stored, as any render;
//   - the Chromium path: the same server, the same page, renderType html.

// Targets of the takumi side (issue #18).
const (
	targetTakumiP50Ms       = 12
	targetTakumiThroughputX = 5
	targetTakumiFloorRatio  = 1.3
)

// takumiFloor renders the reference HTML with a helper of its own.
type takumiFloor struct {
	r    *takumi.Renderer
	html string
}

func (*takumiFloor) name() string { return "takumi floor (helper direct)" }

func (t *takumiFloor) render(ctx context.Context, _ int, f format) (result, error) {
	b, err := t.r.Render(ctx, takumi.Request{HTML: t.html, Width: pageWidth, Height: pageHeight, Format: string(f)})
	if err != nil {
		return result{}, fmt.Errorf("takumi floor: %w", err)
	}
	return result{data: b}, nil
}

// settleSide waits for s's background work (renderhook's callback jobs),
// if it has any.
func settleSide(ctx context.Context, s side) error {
	st, ok := s.(settler)
	if !ok {
		return nil
	}
	done, err := st.settle(ctx, settleLimit)
	if err == nil && !done {
		err = errors.New("its queue did not empty")
	}
	if err != nil {
		return fmt.Errorf("%s: wait for its queue: %w", s.name(), err)
	}
	return nil
}

// takumiResults is the takumi side's figures.
type takumiResults struct {
	// Sequential PNG latency, client side, per side.
	FloorSeq    stats `json:"floorSequential"`
	ServerSeq   stats `json:"renderhookSequential"`
	ChromiumSeq stats `json:"chromiumSequential"`
	// Renders per second with Clients concurrent clients, per side.
	FloorPerSec    float64 `json:"floorPerSec"`
	ServerPerSec   float64 `json:"renderhookPerSec"`
	ChromiumPerSec float64 `json:"chromiumPerSec"`
	// ServerRenderP50 is what renderhook recorded for its sequential
	// takumi renders (template, image fetching, the helper), whole ms.
	ServerRenderP50 float64 `json:"renderhookRecordedRenderP50"`
	// HelperRenders counts the renders the server's takumi helper made:
	// every renderType=takumi render of the run (checked).
	HelperRenders int64 `json:"helperRenders"`
	// CPU time per render in the 4-client rounds, ms: the helper's (the
	// floor's own helper, the server's) and this Go process's (which
	// hosts the floor's driver, the server with its River jobs, and the
	// HTTP clients), over each side's rounds. Less sensitive to a busy
	// machine than the wall-clock figures.
	FloorHelperCPUMs  float64 `json:"floorHelperCpuMsPerRender"`
	FloorGoCPUMs      float64 `json:"floorGoCpuMsPerRender"`
	ServerHelperCPUMs float64 `json:"renderhookHelperCpuMsPerRender"`
	ServerGoCPUMs     float64 `json:"renderhookGoCpuMsPerRender"`
}

// pidCPU is the CPU time (user and system) process pid has used, from
// /proc/pid/stat; 0 when it cannot be read.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sy, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+sy) * (time.Second / 100) // USER_HZ, 100 on Linux
}

// measureTakumi runs the three sides in alternating rounds.
func measureTakumi(ctx context.Context, p plan, rh *renderhookSide, html string, progress func(string, ...any)) (*takumiResults, error) {
	if err := takumi.Available(takumi.Config{}); err != nil {
		return nil, err
	}
	if rh.srv.Takumi == nil {
		return nil, fmt.Errorf("the renderhook server runs without takumi")
	}
	tr := takumi.New(takumi.Config{})
	if err := tr.Start(ctx); err != nil {
		return nil, err
	}
	defer tr.Stop()
	floor := &takumiFloor{r: tr, html: html}
	tk := *rh
	tk.renderType = "takumi"
	sides := []side{floor, &tk, rh}
	before := rh.srv.Takumi.Stats().Renders

	progress("takumi: %d warm-up, %d sequential and %d %d-client PNG renders per side (floor, renderhook renderType=takumi, Chromium path)",
		p.Warmup, p.Seq, p.Conc, p.Clients)
	for _, s := range sides {
		if _, err := runPhase(ctx, s, formatPNG, p.Warmup, 1); err != nil {
			return nil, err
		}
	}
	seq := make([][]float64, len(sides))
	var ids []string
	for range p.Seq / p.SeqRound {
		for i, s := range sides {
			ph, err := runPhase(ctx, s, formatPNG, p.SeqRound, 1)
			if err != nil {
				return nil, err
			}
			seq[i] = append(seq[i], ph.latMs...)
			if s == &tk {
				ids = append(ids, ph.renderIDs...)
			}
		}
	}
	walls := make([]time.Duration, len(sides))
	counts := make([]int, len(sides))
	helperCPU, goCPU := make([]time.Duration, len(sides)), make([]time.Duration, len(sides))
	helpers := []*takumi.Renderer{tr, rh.srv.Takumi, nil}
	if err := settleSide(ctx, rh); err != nil { // the sequential rounds' callbacks
		return nil, err
	}
	for range p.Conc / p.ConcRound {
		for i, s := range sides {
			h0, g0 := time.Duration(0), processCPU()
			if helpers[i] != nil {
				h0 = pidCPU(helpers[i].PID())
			}
			ph, err := runPhase(ctx, s, formatPNG, p.ConcRound, p.Clients)
			if err != nil {
				return nil, err
			}
			// The round's callbacks are its CPU, not the next side's: waited
			// for before the CPU is read, outside the round's wall time.
			if err := settleSide(ctx, s); err != nil {
				return nil, err
			}
			goCPU[i] += processCPU() - g0
			if helpers[i] != nil {
				helperCPU[i] += pidCPU(helpers[i].PID()) - h0
			}
			walls[i] += ph.wall
			counts[i] += len(ph.latMs)
		}
	}
	perRender := func(d []time.Duration, i int) float64 {
		return round2(float64(d[i].Microseconds()) / 1000 / float64(max(counts[i], 1)))
	}
	perSec := func(i int) float64 { return round2(float64(counts[i]) / walls[i].Seconds()) }
	_, recorded, _, err := rh.timings(ctx, ids)
	if err != nil {
		return nil, err
	}
	res := &takumiResults{
		FloorSeq: summarize(seq[0]), ServerSeq: summarize(seq[1]), ChromiumSeq: summarize(seq[2]),
		FloorPerSec: perSec(0), ServerPerSec: perSec(1), ChromiumPerSec: perSec(2),
		ServerRenderP50: summarize(recorded).P50, HelperRenders: rh.srv.Takumi.Stats().Renders - before,
		FloorHelperCPUMs: perRender(helperCPU, 0), FloorGoCPUMs: perRender(goCPU, 0),
		ServerHelperCPUMs: perRender(helperCPU, 1), ServerGoCPUMs: perRender(goCPU, 1),
	}
	if want := int64(p.Warmup + p.Seq + p.Conc); res.HelperRenders != want {
		return nil, fmt.Errorf("the server's takumi helper made %d renders, want %d: some renderType=takumi renders did not use it", res.HelperRenders, want)
	}
	return res, nil
}

// addTakumi measures the takumi side and adds its checks and notes.
func addTakumi(ctx context.Context, rep *report, p plan, rh *renderhookSide, html string, progress func(string, ...any)) error {
	t, err := measureTakumi(ctx, p, rh, html, progress)
	if err != nil {
		rep.Notes = append(rep.Notes, "The takumi side was not measured: "+err.Error())
		return nil //nolint:nilerr // a machine without node still benchmarks the Chromium path
	}
	rep.Takumi = t
	c := p.Clients
	rep.Checks = append(rep.Checks,
		newCheck(fmt.Sprintf("takumi end to end, PNG sequential p50 (renderType=takumi over HTTP; floor %s ms, Chromium path %s ms)",
			fmtFig(t.FloorSeq.P50), fmtFig(t.ChromiumSeq.P50)), t.ServerSeq.P50, "ms", "<=", targetTakumiP50Ms),
		newCheck(fmt.Sprintf("takumi %d-client throughput / the Chromium path's (%s and %s renders/s)", c, fmtFig(t.ServerPerSec), fmtFig(t.ChromiumPerSec)),
			round2(t.ServerPerSec/t.ChromiumPerSec), "x", ">=", targetTakumiThroughputX),
		newCheck(fmt.Sprintf("renderhook's takumi side / the takumi floor, PNG sequential p50 (%s and %s ms)", fmtFig(t.ServerSeq.P50), fmtFig(t.FloorSeq.P50)),
			round2(t.ServerSeq.P50/t.FloorSeq.P50), "x", "<=", targetTakumiFloorRatio),
	)
	rep.Notes = append(rep.Notes, fmt.Sprintf(
		"takumi side, in the same session as the Chromium path, alternating rounds: takumi floor p50 %s ms (%s renders/s with %d clients), renderhook renderType=takumi p50 %s ms (%s/s), the Chromium path p50 %s ms (%s/s); "+
			"takumi is %.1f× faster than the Chromium path sequentially and %.1f× in throughput. Of renderhook's takumi p50, %s ms is what it recorded for the render (template, the helper round trip), the rest HTTP, auth, rate limit, credits and the recording transaction. The takumi helper renders at most %d at once (Config.MaxConcurrent: twice GOMAXPROCS, at least 4), on as many libuv threads; PNG is encoded by renderhook from takumi's raw pixels (internal/takumi/png.go).",
		fmtFig(t.FloorSeq.P50), fmtFig(t.FloorPerSec), c, fmtFig(t.ServerSeq.P50), fmtFig(t.ServerPerSec), fmtFig(t.ChromiumSeq.P50), fmtFig(t.ChromiumPerSec),
		t.ChromiumSeq.P50/t.ServerSeq.P50, t.ServerPerSec/t.ChromiumPerSec, fmtFig(t.ServerRenderP50), takumi.Config{}.WithDefaults().MaxConcurrent))
	rep.Notes = append(rep.Notes, fmt.Sprintf(
		"takumi CPU per render with %d clients: the floor's helper %s ms (and %s ms in this Go process: driving it, the PNG encode), the server's helper %s ms and this process %s ms (the server: HTTP, the recording transaction, its River follow-up job, waited for in each round, the PNG encode; and the bench's HTTP clients).",
		c, fmtFig(t.FloorHelperCPUMs), fmtFig(t.FloorGoCPUMs), fmtFig(t.ServerHelperCPUMs), fmtFig(t.ServerGoCPUMs)))
	return nil
}

// runTakumiOnly is -takumi-only: the takumi side alone, printed, no
// results files; with profile set, a CPU profile of an extra, unmeasured
// renderType=takumi phase.
func runTakumiOnly(ctx context.Context, rh *renderhookSide, p plan, profile string, progress func(string, ...any), stdout io.Writer) error {
	html, err := referenceHTML()
	if err != nil {
		return err
	}
	rep := &report{}
	load := loadAvg()
	if err := addTakumi(ctx, rep, p, rh, html, progress); err != nil {
		return err
	}
	if rep.Takumi == nil {
		return errors.New(strings.Join(rep.Notes, "; "))
	}
	if profile != "" {
		tk := *rh
		tk.renderType = "takumi"
		progress("profiling renderhook renderType=takumi, %d renders by %d clients -> %s", p.Conc, p.Clients, profile)
		if err := profileRenderhook(ctx, &tk, p, profile); err != nil {
			return err
		}
	}
	t := rep.Takumi
	fmt.Fprintf(stdout, "takumi only (%s), load %.2f -> %.2f\n", p.Mode, load[0], loadAvg()[0])
	fmt.Fprintf(stdout, "  floor       p50 %.2f ms  p95 %.2f ms  %.1f renders/s\n", t.FloorSeq.P50, t.FloorSeq.P95, t.FloorPerSec)
	fmt.Fprintf(stdout, "  renderhook  p50 %.2f ms  p95 %.2f ms  %.1f renders/s (recorded render p50 %.0f ms)\n", t.ServerSeq.P50, t.ServerSeq.P95, t.ServerPerSec, t.ServerRenderP50)
	fmt.Fprintf(stdout, "  chromium    p50 %.2f ms  p95 %.2f ms  %.1f renders/s\n", t.ChromiumSeq.P50, t.ChromiumSeq.P95, t.ChromiumPerSec)
	fmt.Fprintf(stdout, "  CPU per render, %d clients: floor helper %.2f ms + Go %.2f ms; renderhook helper %.2f ms + Go %.2f ms\n",
		p.Clients, t.FloorHelperCPUMs, t.FloorGoCPUMs, t.ServerHelperCPUMs, t.ServerGoCPUMs)
	for _, c := range rep.Checks {
		fmt.Fprintf(stdout, "%s  %s: %s (target %s)\n", c.verdict(), c.Name, c.valueText(), c.targetText())
	}
	if profile != "" {
		fmt.Fprintf(stdout, "cpu profile: %s (renderType=takumi %d-client phase, not part of the figures; Go process only)\n", profile, p.Clients)
	}
	return nil
}
