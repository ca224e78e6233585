package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/renderhook/renderhook/internal/delivery"

	"github.com/renderhook/renderhook/internal/browser"
)

// Targets for renderhook against the floor.
const (
	targetLatencyRatio    = 1.25 // renderhook p50 / floor p50, at most
	targetThroughputRatio = 0.8  // renderhook / floor renders per second, at least
	targetPDFAddedMs      = 3.0  // renderhook PDF p50 minus floor PDF p50, at most
)

// report is everything a run found; it is written as JSON as is.
type report struct {
	Date      string     `json:"date"`
	Machine   machine    `json:"machine"`
	Plan      plan       `json:"plan"`
	Page      pageInfo   `json:"page"`
	Scenarios []scenario `json:"scenarios"`
	Ratios    []ratio    `json:"ratios"`
	// PixelDiff is how many pixels of renderhook's PNG differ from the
	// floor's (0: both drew the same page).
	PixelDiff  int            `json:"pixelDiff"`
	Renderhook renderhookInfo `json:"renderhook"`
	// Gotenberg is the URL measured, or why it was not.
	Gotenberg string `json:"gotenberg"`
	// Callbacks is what the post-render callbacks cost a sequential render.
	Callbacks *callbacksCost `json:"callbacks,omitempty"`
	// V1 is the v1 API's cache-hit figure.
	V1 *v1Results `json:"v1,omitempty"`
	// RenderFairness is a calm space's render time alone and under a
	// neighbour's flood.
	RenderFairness *renderFairnessResults `json:"renderFairness,omitempty"`
	// Webhooks is webhook delivery on SQLite and, when measured, on
	// PostgreSQL.
	Webhooks []*webhookResults `json:"webhooks,omitempty"`
	// Observability is what metrics and tracing cost a render.
	Observability *observability `json:"observability,omitempty"`
	// Takumi is the takumi side (renderType=takumi) beside the Chromium path.
	Takumi *takumiResults `json:"takumi,omitempty"`
	// Checks are the figures with absolute targets.
	Checks []check  `json:"checks"`
	Notes  []string `json:"notes"`

	// rhStats are the renderhook server's browser counters, read when it
	// stops (before the PostgreSQL phases).
	rhStats browser.Stats
}

// callbacksCost compares renderhook's sequential PNG p50 with callbacks (a
// render recorded with its spooled bytes, log entry and callback jobs, which
// then run) and without (a no-op RenderFollowUp: recorded, nothing queued), from the same rounds.
type callbacksCost struct {
	N          int     `json:"n"`
	WithP50    float64 `json:"withCallbacksP50Ms"`
	WithoutP50 float64 `json:"withoutCallbacksP50Ms"`
	DiffMs     float64 `json:"differenceMs"`
	// DiffCI is a 95% bootstrap interval of the difference: when it is
	// wider than the target, the run cannot tell a pass from a miss.
	DiffCI [2]float64 `json:"differenceCI95Ms"`
}

// p50DiffCI is a 95% bootstrap interval of p50(a) - p50(b), resampling
// each side with a fixed seed so reruns on the same samples agree.
func p50DiffCI(a, b []float64) [2]float64 {
	if len(a) == 0 || len(b) == 0 {
		return [2]float64{}
	}
	const iters = 2000
	// Seeded on purpose: the same samples give the same interval on every run.
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // resampling, not a secret
	resampledP50 := func(v, buf []float64) float64 {
		for i := range buf {
			buf[i] = v[rng.IntN(len(v))]
		}
		slices.Sort(buf)
		return percentile(buf, 50)
	}
	bufA, bufB := make([]float64, len(a)), make([]float64, len(b))
	diffs := make([]float64, iters)
	for i := range diffs {
		diffs[i] = resampledP50(a, bufA) - resampledP50(b, bufB)
	}
	slices.Sort(diffs)
	return [2]float64{percentile(diffs, 2.5), percentile(diffs, 97.5)}
}

// check is a figure judged against an absolute target (the ratios are
// judged against the floor).
type check struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Op     string  `json:"op"` // "<", "<=" or ">="
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
}

func newCheck(name string, value float64, unit, op string, target float64) check {
	c := check{Name: name, Value: value, Unit: unit, Op: op, Target: target}
	switch op {
	case "<":
		c.Pass = value < target
	case "<=":
		c.Pass = value <= target
	case ">=":
		c.Pass = value >= target
	}
	return c
}

func (c check) verdict() string {
	if c.Pass {
		return "PASS"
	}
	return "MISS"
}

func (c check) valueText() string { return fmt.Sprintf("%s %s", fmtFig(c.Value), c.Unit) }

func (c check) targetText() string {
	op := map[string]string{"<": "<", "<=": "≤", ">=": "≥"}[c.Op]
	return fmt.Sprintf("%s %s %s", op, fmtFig(c.Target), c.Unit)
}

// fmtFig prints a figure with one decimal below 100, none above.
func fmtFig(v float64) string {
	if v >= 100 || v <= -100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

type pageInfo struct {
	Template  string `json:"template"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	HTMLBytes int    `json:"htmlBytes"`
}

type renderhookInfo struct {
	Tabs            int    `json:"tabs"`
	Renders         uint64 `json:"renders"`
	BrowserRestarts uint64 `json:"browserRestarts"`
}

// scenario is one side, format and client count.
type scenario struct {
	Side    string  `json:"side"`
	Format  string  `json:"format"`
	Clients int     `json:"clients"`
	Latency stats   `json:"latencyMs"`
	WallSec float64 `json:"wallSec"`
	// Throughput is renders per second of wall time over all its rounds.
	Throughput float64 `json:"rendersPerSec"`
	// Renderhook's own timings of each render, as it recorded them:
	// Queue waiting for a tab, Browser in the tab (load, wait, capture),
	// Server from loading the page to the recorded render. Latency minus
	// Server is HTTP, auth and the client; Server minus Queue and Browser
	// is the database, the template and storing the bytes.
	Queue   *stats `json:"queueMs,omitempty"`
	Browser *stats `json:"browserMs,omitempty"`
	Server  *stats `json:"serverMs,omitempty"`
	// Samples are the raw latencies, in the order the renders started, for
	// the PNG scenarios.
	Samples []float64 `json:"samplesMs,omitempty"`
}

// breakdown formats renderhook's recorded queue, browser and server p50s,
// or dashes for the other sides.
func (s scenario) breakdown() (queue, browser, server string) {
	if s.Server == nil {
		return "-", "-", "-"
	}
	return fmt.Sprintf("%.0f", s.Queue.P50), fmt.Sprintf("%.0f", s.Browser.P50), fmt.Sprintf("%.0f", s.Server.P50)
}

func (s scenario) label() string {
	c := "sequential"
	if s.Clients > 1 {
		c = fmt.Sprintf("%d clients", s.Clients)
	}
	return fmt.Sprintf("%s %s %s", s.Side, s.Format, c)
}

// ratio compares renderhook with the floor on one figure.
type ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Op     string  `json:"op,omitempty"` // "<=" or ">="; "" for no target
	Target float64 `json:"target,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
}

func (r ratio) verdict() string {
	switch {
	case r.Pass == nil:
		return ""
	case *r.Pass:
		return "PASS"
	}
	return "MISS"
}

func (r ratio) targetText() string {
	if r.Op == "" {
		return "-"
	}
	op := map[string]string{"<=": "≤", ">=": "≥"}[r.Op]
	return fmt.Sprintf("%s %.2f", op, r.Target)
}

// newReport starts a report with what every run has; floorChromium is ""
// when the floor was not run.
func newReport(ctx context.Context, p plan, loadStart [3]float64, floorChromium string, rh *renderhookSide) *report {
	if floorChromium == "" {
		floorChromium = rh.srv.Pool.Version()
	}
	mach := machineInfo(ctx, floorChromium, rh.srv.Pool.Version())
	mach.LoadStart = loadStart
	return &report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Machine:    mach,
		Plan:       p,
		Renderhook: renderhookInfo{Tabs: p.Clients},
	}
}

func (m *measurement) report(ctx context.Context, fl *floor, rh *renderhookSide, gb *gotenberg) (*report, error) {
	rep := newReport(ctx, m.plan, m.loadStart, fl.version, rh)
	mach := rep.Machine
	rep.Page = pageInfo{Template: "internal/cli.DemoTemplateHTML with its variable defaults", Width: pageWidth, Height: pageHeight, HTMLBytes: len(fl.html)}
	rep.PixelDiff = m.pixelDiff
	if gb != nil {
		rep.Gotenberg = gb.url
	}
	get := m.addScenarios(ctx, rep, rh)
	c := m.plan.Clients
	if err := floorRatios(rep, get, c); err != nil {
		return nil, err
	}
	if err := v1Ratios(rep, get); err != nil {
		return nil, err
	}

	with, err := get(sideRenderhook, formatPNG, 1)
	if err != nil {
		return nil, err
	}
	without, err := get(sideNoCallbacks, formatPNG, 1)
	if err != nil {
		return nil, err
	}
	rep.Callbacks = &callbacksCost{
		N: with.Latency.N, WithP50: with.Latency.P50, WithoutP50: without.Latency.P50,
		DiffMs: round2(with.Latency.P50 - without.Latency.P50),
		DiffCI: p50DiffCI(with.Samples, without.Samples),
	}

	rep.Notes = append(rep.Notes,
		fmt.Sprintf("Three Chromium processes (the floor's, renderhook's and that of %s, %d tabs each) are alive during the render scenarios on this %d-core machine; the rounds alternate, so only one side renders at a time.", sideNoCallbacks, c, mach.Cores),
		"The floor calls only Page.setDocumentContent and Page.captureScreenshot (Page.printToPDF for PDF) over chromedp in warm tabs, one window each, whose viewport was set once. renderhook's latency is measured by an HTTP client in the same process: request to last body byte, over kept-alive connections.",
		fmt.Sprintf("%s is a second server started with a no-op RenderFollowUp (its renders are recorded, but queue no callback job or webhook) and the same browser settings; it takes part in the sequential PNG rounds only. After each renderhook round the bench waits for its queue to empty (%.1f s in all, not measured), so callback jobs run inside the round that caused them and never into the next side's.", sideNoCallbacks, m.settled.Seconds()),
	)
	if m.unsettled > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("In %d round(s) renderhook's queue still held jobs %v after the round; the next round started anyway.", m.unsettled, settleLimit))
	}
	if rep.PixelDiff != 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("renderhook's PNG differs from the floor's in %d pixels.", rep.PixelDiff))
	}
	return rep, nil
}

// scenarioGetter finds the results of one side, format and client count.
type scenarioGetter func(side string, f format, clients int) (scenario, error)

// addScenarios summarizes every run into rep.Scenarios and returns their
// lookup.
func (m *measurement) addScenarios(ctx context.Context, rep *report, rh *renderhookSide) scenarioGetter {
	byKey := map[scenarioKey]scenario{}
	for _, k := range m.order {
		ph := m.runs[k]
		sc := scenario{
			Side: k.side, Format: string(k.format), Clients: k.clients,
			Latency: summarize(ph.latMs),
			WallSec: round2(ph.wall.Seconds()),
		}
		if ph.wall > 0 {
			sc.Throughput = round2(float64(len(ph.latMs)) / ph.wall.Seconds())
		}
		if len(ph.renderIDs) > 0 {
			// The breakdown is a diagnosis, not a figure: without it the
			// run still stands.
			queue, tab, total, err := rh.timings(ctx, ph.renderIDs)
			if err != nil {
				rep.Notes = append(rep.Notes, fmt.Sprintf("No queue/browser/server breakdown for %s: %v.", sc.label(), err))
			} else {
				q, b, t := summarize(queue), summarize(tab), summarize(total)
				sc.Queue, sc.Browser, sc.Server = &q, &b, &t
			}
		}
		if k.format == formatPNG {
			sc.Samples = ph.latMs
		}
		rep.Scenarios = append(rep.Scenarios, sc)
		byKey[k] = sc
	}

	return func(side string, f format, clients int) (scenario, error) {
		sc, ok := byKey[scenarioKey{side, f, clients}]
		if !ok {
			return sc, fmt.Errorf("no %s %s %d-client results", side, f, clients)
		}
		return sc, nil
	}
}

// floorRatios compares renderhook with the floor, c clients being the
// concurrent scenario.
func floorRatios(rep *report, get scenarioGetter, c int) error {
	type comparison struct {
		name       string
		f          format
		clients    int
		throughput bool
		target     bool
	}
	for _, x := range []comparison{
		{"PNG sequential p50", formatPNG, 1, false, true},
		{fmt.Sprintf("PNG %d-client p50", c), formatPNG, c, false, false},
		{fmt.Sprintf("PNG %d-client throughput", c), formatPNG, c, true, true},
		{"JPEG sequential p50", formatJPEG, 1, false, true},
		{"WebP sequential p50", formatWebP, 1, false, true},
		{"PDF sequential p50", formatPDF, 1, false, false}, // judged by ms added (targetPDFAddedMs)
	} {
		f, err := get("floor", x.f, x.clients)
		if err != nil {
			return err
		}
		r, err := get("renderhook", x.f, x.clients)
		if err != nil {
			return err
		}
		rt := ratio{Name: "renderhook / floor, " + x.name}
		switch {
		case x.throughput:
			rt.Value = round2(r.Throughput / f.Throughput)
			if x.target {
				rt.Op, rt.Target = ">=", targetThroughputRatio
				pass := rt.Value >= rt.Target
				rt.Pass = &pass
			}
		default:
			rt.Value = round2(r.Latency.P50 / f.Latency.P50)
			if x.target {
				rt.Op, rt.Target = "<=", targetLatencyRatio
				pass := rt.Value <= rt.Target
				rt.Pass = &pass
			}
		}
		rep.Ratios = append(rep.Ratios, rt)
		if x.f == formatPDF && x.clients == 1 {
			// A 7 ms floor makes any fixed cost a large ratio: PDF is
			// judged by the milliseconds renderhook adds over it.
			rep.Checks = append(rep.Checks, newCheck("PDF sequential p50 added over the floor",
				round2(r.Latency.P50-f.Latency.P50), "ms", "<=", targetPDFAddedMs))
		}
	}
	return nil
}

// v1Ratios compares the v1 render with the floors, when it was run.
func v1Ratios(rep *report, get scenarioGetter) error {
	if v, err := get(sideV1, formatPNG, 1); err == nil {
		f, err := get("floor", formatPNG, 1)
		if err != nil {
			return err
		}
		rep.Ratios = append(rep.Ratios, ratio{Name: "renderhook v1 /v1/render/sync HTML / floor, PNG sequential p50",
			Value: round2(v.Latency.P50 / f.Latency.P50)})
		if ff, err := get(sideFloorFresh, formatPNG, 1); err == nil {
			rt := ratio{Name: "renderhook v1 /v1/render/sync HTML / floor with a fresh context per render, PNG sequential p50",
				Op: "<=", Target: targetV1FreshRatio, Value: round2(v.Latency.P50 / ff.Latency.P50)}
			pass := rt.Value <= rt.Target
			rt.Pass = &pass
			rep.Ratios = append(rep.Ratios, rt)
			rep.Notes = append(rep.Notes, fmt.Sprintf("v1 isolation: the floor with a fresh browser context per render (a new incognito context, window and tab, attached, the HTML loaded and captured; disposed of after the capture, untimed) took %.1f ms at p50 against the warm-tab floor's %.1f ms. v1 is judged against the fresh-context floor (target <= %.2f); the warm-tab ratio is shown without a target.", ff.Latency.P50, f.Latency.P50, targetV1FreshRatio))
		}
		rep.Notes = append(rep.Notes, "v1: POST /v1/render/sync with the reference page as `html` (1200×630 PNG), timed to its JSON answer: a fresh incognito browser context behind the egress proxy, the file uploaded to the bucket before the answer, the render recorded and billed; the file is downloaded afterwards, untimed, and checked.")
	}
	return nil
}

// finish records the end of the run: the load average, renderhook's
// browser counters, the checks against targets and the notes that depend
// on the whole run.
func (rep *report) finish() {
	m := &rep.Machine
	m.LoadEnd = loadAvg()
	st := rep.rhStats
	rep.Renderhook.Renders, rep.Renderhook.BrowserRestarts = st.Renders, st.Restarts
	if st.Recycles > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("renderhook recycled its browser %d time(s) during the run (browser.Config.RecycleAfter, default %d renders); the renders around it are included.", st.Recycles, browser.DefaultRecycleAfter))
	}
	if st.Crashes > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("renderhook's browser crashed %d time(s) during the run and was relaunched; the renders around it are included.", st.Crashes))
	}
	if c := rep.Callbacks; c != nil {
		rep.Checks = append(rep.Checks, newCheck(
			fmt.Sprintf("callbacks cost, PNG sequential p50 (%s with, %s without; 95%% CI %s to %s)",
				fmtFig(c.WithP50), fmtFig(c.WithoutP50), fmtFig(c.DiffCI[0]), fmtFig(c.DiffCI[1])),
			c.DiffMs, "ms", "<", targetCallbacksMs))
	}
	if f := rep.RenderFairness; f != nil {
		rep.Checks = append(rep.Checks, newCheck(
			fmt.Sprintf("calm space's PNG p50 under a %d-client neighbour flood / alone (%s ms under the flood, %s ms alone)",
				f.FloodClients, fmtFig(f.UnderFlood.P50), fmtFig(f.Alone.P50)),
			round2(f.UnderFlood.P50/f.Alone.P50), "x", "<=", targetFairnessRatio))
		rep.Notes = append(rep.Notes, fmt.Sprintf("Render fairness: space B renders the reference card %d times in a row alone, then again while space A keeps %d renders of the same card in flight on the same server (%d tabs); A got %d renders and %d refusals meanwhile.",
			f.UnderFlood.N, f.FloodClients, rep.Plan.Clients, f.FloodRenders, f.FloodRefused))
	}
	for _, w := range rep.Webhooks {
		t, l, target := w.Throughput, w.Latency, deliveryTargets[w.Backend]
		name := fmt.Sprintf("webhook deliveries per second on %s (%d queued, then released)", w.Backend, t.Queued)
		if t.TimedOut {
			name = fmt.Sprintf("webhook deliveries per second on %s (only %d of %d arrived in %v)", w.Backend, t.Received, t.Queued, throughputTimeout)
		}
		rep.Checks = append(rep.Checks, newCheck(name, t.PerSec, "/s", ">=", target.PerSec))
		p99 := newCheck(fmt.Sprintf("webhook enqueue-to-receipt p99 on %s at %.0f/s offered", w.Backend, l.OfferedPerSec), l.Latency.P99, "ms", "<=", target.P99Ms)
		if l.AchievedPerSec < 0.95*l.OfferedPerSec {
			p99.Name += fmt.Sprintf(" (%.0f/s achieved)", l.AchievedPerSec)
		}
		if l.Received < l.Queued {
			p99.Name += fmt.Sprintf(" (only %d of %d arrived)", l.Received, l.Queued)
			p99.Pass = false
		}
		rep.Checks = append(rep.Checks, p99)
		if f := w.Fairness; f != nil {
			rep.Checks = append(rep.Checks, newCheck(fmt.Sprintf("quiet space's delivery p99 on %s while a neighbour's receiver hangs (%d queued to it, %d POSTs held, cap %d; %d quiet deliveries one at a time)",
				w.Backend, f.Hanging, f.HeldByNeighbour, f.Cap, f.Quiet), f.Latency.P99, "ms", "<=", targetFairP99Ms))
		}
		if off := w.ThroughputCapsOff; off != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("Webhooks on %s, one receiver: %.0f/s with the per-endpoint cap on, %.0f/s with it off, in the same run.", w.Backend, t.PerSec, off.PerSec))
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"Webhooks on %s: queueing the %d-delivery backlog ran at %.0f/s (nothing sent while the queue was paused); draining it took %.2f CPU ms per delivery in the bench process (server and receiver). Enqueue transactions of the latency phase took %s ms at p50 and %s ms at p99. Load average when its webhook phases began: %.1f.",
			w.Backend, t.Queued, t.EnqueuePerSec, t.CPUMsPerDelivery, fmtFig(l.EnqueueTx.P50), fmtFig(l.EnqueueTx.P99), w.LoadStart[0]))
		if t.Duplicates+l.Duplicates > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("On %s the receiver got %d message(s) more than once (retried deliveries); each counts once.", w.Backend, t.Duplicates+l.Duplicates))
		}
	}
	if len(rep.Webhooks) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Webhooks: the receiver is an httptest.Server on 127.0.0.1 in the bench process, answering 200 at once; deliveries are render.succeeded messages of one stored render, queued with delivery.Service.EnqueueTx on a renderhook server with callbacks (default queue settings: deliveries in their own River queue, %d workers; egress allowing 127.0.0.0/8). Throughput: the backlog is queued while the delivery queue is paused, then released; deliveries per second count from the release to the last message received. Latency: one delivery per transaction, each from its own goroutine on schedule, from the start of its enqueue transaction (waiting for the database included) to its receipt. SQLite runs as renderhook always runs it (WAL, synchronous=NORMAL: no fsync per commit); the PostgreSQL of `make bench` is scripts/pg-test.sh's throwaway cluster on this machine (fsync=off, synchronous_commit=off), so both keep commits across a process crash but not necessarily a power loss.", delivery.DefaultWorkers))
	}
	if busy := max(m.LoadStart[0], m.LoadEnd[0]); busy > float64(m.Cores) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The machine was busy with other work (1-minute load average %.1f at the start, %.1f at the end, on %d cores): expect noisy figures, and compare ratios rather than absolute times.", m.LoadStart[0], m.LoadEnd[0], m.Cores))
	}
}

// printTable writes the scenarios, ratios and checks for a terminal.
func printTable(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nrenderhook benchmark (%s): %d cores, %s, %s, %s, load %.1f -> %.1f\n\n",
		rep.Plan.Mode, m.Cores, m.CPU, m.Chromium, m.Go, m.LoadStart[0], m.LoadEnd[0])
	if len(rep.Scenarios) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tn\tp50 ms\tp95 ms\tp99 ms\tmean ms\trenders/s\tqueue p50\tbrowser p50\tserver p50\t")
		for _, s := range rep.Scenarios {
			q, b, sv := s.breakdown()
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t\n",
				s.label(), s.Latency.N, s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Mean, s.Throughput, q, b, sv)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(rep.Webhooks) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "webhook phase\tqueued\treceived\tenqueue s\twall s\tdeliveries/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tjob wait p50\tjob run p50\tjob run p99\t")
		for _, r := range webhookRows(rep.Webhooks) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n",
				r.name, r.queued, r.received, r.enqueueSec, r.wallSec, r.perSec, r.lat.P50, r.lat.P95, r.lat.P99, r.lat.Max, r.jobs.QueueWait.P50, r.jobs.Run.P50, r.jobs.Run.P99)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rep.Ratios {
		fmt.Fprintf(tw, "%s\t%.2f\ttarget %s\t%s\n", r.Name, r.Value, r.targetText(), r.verdict())
	}
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\ttarget %s\t%s\n", c.Name, c.valueText(), c.targetText(), c.verdict())
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// webhookRow is one webhook phase as the tables show it.
type webhookRow struct {
	name                        string
	queued, received            int
	enqueueSec, wallSec, perSec float64
	lat                         stats
	jobs                        jobBreakdown
}

func webhookRows(all []*webhookResults) []webhookRow {
	var rows []webhookRow
	for _, wh := range all {
		t, l := wh.Throughput, wh.Latency
		rows = append(rows,
			webhookRow{fmt.Sprintf("%s throughput (%d queued)", wh.Backend, t.Queued), t.Queued, t.Received, t.EnqueueSec, t.WallSec, t.PerSec, t.Latency, t.Jobs},
			webhookRow{fmt.Sprintf("%s latency (%.0f/s offered)", wh.Backend, l.OfferedPerSec), l.Queued, l.Received, l.Seconds, l.Seconds, l.AchievedPerSec, l.Latency, l.Jobs})
	}
	return rows
}

// writeOutputs writes the JSON, the chart and the docs section, each unless
// its path is empty.
func writeOutputs(o options, rep *report, stdout io.Writer) error {
	if o.out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		if err := writeFile(o.out, append(b, '\n')); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", o.out)
	}
	if o.svg != "" {
		if err := writeFile(o.svg, []byte(latencySVG(rep))); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", o.svg)
	}
	if o.docs != "" {
		chart := ""
		if o.svg != "" {
			rel, err := filepath.Rel(filepath.Dir(o.docs), o.svg)
			if err != nil {
				return fmt.Errorf("locate chart from docs: %w", err)
			}
			chart = filepath.ToSlash(rel)
		}
		if err := updateDocs(o.docs, docsSection(rep, chart)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", o.docs)
	}
	return nil
}

func writeFile(path string, data []byte) error {
	// The report and BENCHMARKS.md are documents to share, readable by all.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { //nolint:gosec // see above
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil { //nolint:gosec // see above
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
)

// docsIntro is the text of a new BENCHMARKS.md, up to the markers; later
// runs only replace what is between them.
//
//go:embed docs_intro.md
var docsIntro string

// updateDocs replaces the marked section of path with section, creating
// the file, or appending the markers, when they are missing.
func updateDocs(path, section string) error {
	block := beginMarker + "\n" + section + endMarker
	old, err := os.ReadFile(path) //nolint:gosec // path is the operator's -docs flag
	switch {
	case errors.Is(err, os.ErrNotExist):
		return writeFile(path, []byte(docsIntro+block+"\n"))
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	}
	s := string(old)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	if i < 0 || j < i {
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return writeFile(path, []byte(s+"\n"+block+"\n"))
	}
	return writeFile(path, []byte(s[:i]+block+s[j+len(endMarker):]))
}

// docsSection is the Markdown between the markers.
func docsSection(rep *report, chart string) string {
	var b strings.Builder
	m := rep.Machine
	commit := m.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	if m.Dirty {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "Generated by `go run ./bench` (%s mode) on %s at commit %s.\n\n", rep.Plan.Mode, rep.Date, commit)
	fmt.Fprintf(&b, "Machine: %d × %s, %s RAM, %s, %s, %s; 1-minute load average %.1f before the run, %.1f after.\n\n",
		m.Cores, m.CPU, m.Memory, m.OS, m.Chromium, m.Go, m.LoadStart[0], m.LoadEnd[0])
	b.WriteString("| Scenario | n | p50 ms | p95 ms | p99 ms | renders/s | queue p50 | browser p50 | server p50 |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range rep.Scenarios {
		q, bw, sv := s.breakdown()
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %s | %s | %s |\n",
			s.label(), s.Latency.N, s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Throughput, q, bw, sv)
	}
	b.WriteString("\nThe last three columns are the times renderhook recorded for its renders (whole milliseconds): " +
		"waiting for a tab, in the tab (load, wait for fonts and images, capture), and from loading the page to the recorded render. " +
		"The rest of its latency is HTTP, auth and the client.\n")
	b.WriteString("\n| Ratio | Value | Target | |\n|---|--:|--:|---|\n")
	for _, r := range rep.Ratios {
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s |\n", r.Name, r.Value, r.targetText(), r.verdict())
	}
	if wh := rep.Webhooks; len(wh) > 0 {
		b.WriteString("\nWebhook delivery, to a loopback receiver answering 200 at once " +
			"(latency: from the start of the enqueue transaction to receipt; job columns: River's own timings of the delivery jobs, " +
			"waiting to be fetched and in the worker):\n\n")
		b.WriteString("| Phase | queued | received | enqueue s | wall s | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | job wait p50 | job run p50 | job run p99 |\n" +
			"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, r := range webhookRows(wh) {
			fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
				r.name, r.queued, r.received, r.enqueueSec, r.wallSec, r.perSec, r.lat.P50, r.lat.P95, r.lat.P99, r.lat.Max, r.jobs.QueueWait.P50, r.jobs.Run.P50, r.jobs.Run.P99)
		}
	}
	if len(rep.Checks) > 0 {
		b.WriteString("\n| Check | Value | Target | |\n|---|--:|--:|---|\n")
		for _, c := range rep.Checks {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.valueText(), c.targetText(), c.verdict())
		}
	}
	b.WriteString("\n")
	if chart != "" {
		fmt.Fprintf(&b, "![Latency distributions: floor and renderhook, sequential and %d clients](%s)\n\n", rep.Plan.Clients, chart)
	}
	if rep.Gotenberg != "" && !strings.HasPrefix(rep.Gotenberg, "http") {
		fmt.Fprintf(&b, "Gotenberg: %s.\n\n", rep.Gotenberg)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}
