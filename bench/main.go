// Command bench measures what renderhook costs on top of Chromium.
//
// It renders the quickstart social card (1200x630) two ways on the same
// machine, in alternating rounds so both see the same conditions:
//
//   - the floor: a bare chromedp program driving its own Chromium, launched
//     with the command line of renderhook's, that only calls Page.setDocumentContent and
//     Page.captureScreenshot in warm tabs;
//   - renderhook: the real server, started in-process on a loopback port,
//     asked over HTTP with GET /api/render/{pageId}.
//
// Each is measured sequentially and with four concurrent clients (four
// tabs), for PNG and, sequentially, for JPEG, WebP and PDF. When
// GOTENBERG_URL is set, a Gotenberg server is measured on the same HTML.
//
// What the post-render callbacks cost is measured by a second renderhook
// server started with a no-op RenderFollowUp, taking part in the sequential PNG
// rounds. Then webhook delivery on SQLite: a backlog of deliveries drained
// to a loopback receiver (deliveries per second), and deliveries offered at
// 200 per second (enqueue-to-receipt latency).
//
// Usage:
//
//	go run ./bench [-quick] [-webhooks-only] [-out bench/results/latest.json] [-docs docs/BENCHMARKS.md]
//	               [-svg docs/bench-latency.svg] [-cpuprofile FILE] [-webhook-cpuprofile FILE]
//	go run ./bench [-quick] -takumi-only [-cpuprofile FILE]
//
// -takumi-only measures the takumi side alone (its floor, renderType=takumi
// and the Chromium path, in the same alternating rounds as the full run),
// prints its checks and writes no results files; with -cpuprofile it
// profiles an extra, unmeasured renderType=takumi 4-client phase.
//
// Results go to stdout as a table, to -out as JSON (with the raw samples),
// and into the marked section of -docs with an SVG chart. A missed target
// is reported, not treated as a failure; any render or delivery error is.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	quick             bool
	webhooksOnly      bool
	out               string
	docs              string
	svg               string
	cpuprofile        string
	webhookCPUProfile string
	observabilityOnly bool
	takumiOnly        bool
	gotenberg         string
	postgres          string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "fewer samples; finishes in well under two minutes on two cores")
	fs.StringVar(&o.out, "out", "bench/results/latest.json", "JSON results file (\"\" to skip)")
	fs.StringVar(&o.docs, "docs", "docs/BENCHMARKS.md", "Markdown file whose bench section is regenerated (\"\" to skip)")
	fs.StringVar(&o.svg, "svg", "docs/bench-latency.svg", "SVG latency chart (\"\" to skip)")
	fs.BoolVar(&o.observabilityOnly, "observability-only", false, "measure only what metrics and tracing cost a render; writes no results files")
	fs.BoolVar(&o.takumiOnly, "takumi-only", false, "measure only the takumi side (floor, renderType=takumi, the Chromium path); writes no results files")
	fs.BoolVar(&o.webhooksOnly, "webhooks-only", false, "measure webhook delivery only, skipping the renders; writes no results files")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of an extra, unmeasured renderhook 4-client phase to this file")
	fs.StringVar(&o.webhookCPUProfile, "webhook-cpuprofile", "", "write a CPU profile of an extra, unmeasured webhook throughput phase to this file")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL to measure webhook delivery on as well, in a schema of its own that is dropped afterwards (default $"+pgtest.EnvURL+", which `make bench` sets to a throwaway cluster)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.gotenberg = os.Getenv("GOTENBERG_URL")
	if o.postgres == "" {
		o.postgres = os.Getenv(pgtest.EnvURL)
	}
	return o, nil
}

// plan is how many renders each phase takes, per side.
type plan struct {
	Mode string `json:"mode"`
	// Warmup renders per side are discarded before measuring.
	Warmup int `json:"warmup"`
	// Seq sequential PNG renders, in rounds of SeqRound.
	Seq      int `json:"sequential"`
	SeqRound int `json:"sequentialRound"`
	// Conc PNG renders by Clients concurrent clients, in rounds of ConcRound.
	Conc      int `json:"concurrent"`
	ConcRound int `json:"concurrentRound"`
	Clients   int `json:"clients"`
	// Formats sequential renders per other format, in rounds of FormatRound.
	Formats     int `json:"formats"`
	FormatRound int `json:"formatRound"`
	// WebhookDeliveries are queued at once for the throughput phase.
	WebhookDeliveries int `json:"webhookDeliveries"`
	// WebhookRate deliveries per second are offered for WebhookSeconds in
	// the latency phase.
	WebhookRate    int `json:"webhookRate"`
	WebhookSeconds int `json:"webhookSeconds"`
}

func newPlan(quick bool) plan {
	if quick {
		return plan{Mode: "quick", Warmup: 10, Seq: 40, SeqRound: 10, Conc: 80, ConcRound: 20, Clients: 4, Formats: 15, FormatRound: 5,
			WebhookDeliveries: 2000, WebhookRate: 200, WebhookSeconds: 5}
	}
	return plan{Mode: "full", Warmup: 10, Seq: 200, SeqRound: 20, Conc: 400, ConcRound: 40, Clients: 4, Formats: 50, FormatRound: 10,
		WebhookDeliveries: 5000, WebhookRate: 200, WebhookSeconds: 10}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	p := newPlan(o.quick)
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	// The server's own log lines would drown the progress; keep warnings.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	loadStart := loadAvg()
	progress("starting renderhook (in-process, %d tabs)", p.Clients)
	rh, err := startRenderhook(ctx, p.Clients, false, "", logger)
	if err != nil {
		return err
	}
	defer rh.close()

	if o.observabilityOnly {
		return runObservabilityOnly(ctx, rh, p, logger, progress, stdout)
	}
	if o.takumiOnly {
		return runTakumiOnly(ctx, rh, p, o.cpuprofile, progress, stdout)
	}
	var rep *report
	if o.webhooksOnly {
		p.Mode += ", webhooks only"
		rep = newReport(ctx, p, loadStart, "", rh)
	} else {
		if rep, err = measureRenders(ctx, o, p, rh, loadStart, progress, logger); err != nil {
			return err
		}
	}

	progress("webhooks: one render to deliver, then %d deliveries to a loopback receiver", p.WebhookDeliveries)
	d, err := newDeliveryBench(ctx, rh, progress)
	if err != nil {
		return err
	}
	sq, err := measureWebhooks(ctx, d, p, backendSQLite)
	if err != nil {
		return err
	}
	rep.Webhooks = append(rep.Webhooks, sq)
	if o.webhookCPUProfile != "" {
		progress("profiling webhook delivery, %d deliveries -> %s", p.WebhookDeliveries, o.webhookCPUProfile)
		if err := profileWebhooks(ctx, d, p.WebhookDeliveries, o.webhookCPUProfile); err != nil {
			return err
		}
	}
	// The SQLite server, its Chromium and its River clients have no part
	// in the PostgreSQL phases, which start a server of their own; stopped
	// now, their housekeeping (River's job cleaner deleting the deliveries
	// just measured, queue polling) does not run on the same two cores.
	rep.rhStats = rh.srv.Pool.Stats()
	rh.close()
	if o.postgres != "" {
		profile := ""
		if o.webhookCPUProfile != "" {
			profile = o.webhookCPUProfile + ".postgres"
		}
		pg, err := measureWebhooksPostgres(ctx, o.postgres, p, profile, progress, logger)
		if err != nil {
			return err
		}
		rep.Webhooks = append(rep.Webhooks, pg)
	} else {
		progress("webhooks on PostgreSQL: skipped (set -postgres or %s; `make bench` starts a throwaway cluster)", pgtest.EnvURL)
		rep.Notes = append(rep.Notes, "Webhook delivery on PostgreSQL was not measured: no database given (-postgres or "+pgtest.EnvURL+"; `make bench` starts a throwaway cluster).")
	}
	rep.finish()

	printTable(stdout, rep)
	if o.gotenberg == "" && !o.webhooksOnly {
		fmt.Fprintln(stdout, "gotenberg: skipped (set GOTENBERG_URL)")
	}
	if o.cpuprofile != "" && !o.webhooksOnly {
		fmt.Fprintf(stdout, "cpu profile: %s (renderhook %d-client phase, not part of the figures; Go process only)\n", o.cpuprofile, p.Clients)
	}
	if o.webhookCPUProfile != "" {
		fmt.Fprintf(stdout, "webhook cpu profile: %s (an extra throughput phase on SQLite, not part of the figures; %s.postgres on PostgreSQL when measured)\n", o.webhookCPUProfile, o.webhookCPUProfile)
	}
	if o.webhooksOnly {
		fmt.Fprintln(stdout, "webhooks only: no results files written")
		return nil
	}
	return writeOutputs(o, rep, stdout)
}

// measureRenders runs the render scenarios: the floor, renderhook, the
// renderhook server without callbacks and, when set, Gotenberg.
func measureRenders(ctx context.Context, o options, p plan, rh *renderhookSide, loadStart [3]float64,
	progress func(string, ...any), logger *slog.Logger) (*report, error) {
	html, err := referenceHTML()
	if err != nil {
		return nil, err
	}
	progress("starting renderhook without callbacks (in-process, %d tabs)", p.Clients)
	nocb, err := startRenderhook(ctx, p.Clients, true, "", logger)
	if err != nil {
		return nil, err
	}
	defer nocb.close()
	if err := sameChromiumFlags(rh.srv.Pool.BrowserPID(), nocb.srv.Pool.BrowserPID()); err != nil {
		return nil, fmt.Errorf("renderhook without callbacks: %w", err)
	}

	progress("starting floor (bare chromedp, %d tabs)", p.Clients)
	fl, err := startFloor(ctx, html, p.Clients, rh.srv.Pool.BrowserPID())
	if err != nil {
		return nil, err
	}
	defer fl.close()

	if err := sameChromiumFlags(rh.srv.Pool.BrowserPID(), fl.pid); err != nil {
		return nil, err
	}

	sides := []side{fl, rh}
	var gb *gotenberg
	if o.gotenberg != "" {
		if gb, err = newGotenberg(o.gotenberg, html, p.Clients); err != nil {
			return nil, err
		}
		sides = append(sides, gb)
	} else {
		progress("gotenberg: skipped (set GOTENBERG_URL)")
	}

	m := &measurement{plan: p, progress: progress, loadStart: loadStart}
	v1 := &v1Side{rh: rh, html: html}
	if err := m.measure(ctx, sides, fl, rh, nocb, v1, &freshFloor{fl: fl}); err != nil {
		return nil, err
	}
	progress("v1 cache hits: %d sequential /v1/render/sync calls with ttl", p.Seq/2)
	hits, err := cacheHits(ctx, rh, html, p.Seq/2)
	if err != nil {
		return nil, err
	}

	if o.cpuprofile != "" {
		progress("profiling renderhook, %d renders by %d clients -> %s", p.Conc, p.Clients, o.cpuprofile)
		if err := profileRenderhook(ctx, rh, p, o.cpuprofile); err != nil {
			return nil, err
		}
	}

	rep, err := m.report(ctx, fl, rh, gb)
	if err != nil {
		return nil, err
	}
	if o.gotenberg == "" {
		rep.Gotenberg = "skipped (set GOTENBERG_URL)"
	}
	rep.V1 = &v1Results{CacheHit: hits}
	if err := addTakumi(ctx, rep, p, rh, html, progress); err != nil {
		return nil, err
	}
	progress("render fairness: a calm space's %d sequential renders alone, then under a %d-client neighbour flood", p.Seq/4, floodClients)
	if rep.RenderFairness, err = measureRenderFairness(ctx, rh, p.Seq/4); err != nil {
		return nil, err
	}
	if _, err := rh.settle(ctx, settleLimit); err != nil {
		return nil, err
	}
	rep.Checks = append(rep.Checks, newCheck(fmt.Sprintf("v1 /v1/render/sync cache hit p50 (%d calls with ttl, each answered from the stored file)", hits.N),
		hits.P50, "ms", "<=", targetCacheHitP50))
	if err := addObservability(ctx, rep, rh, p, logger, progress); err != nil {
		return nil, err
	}
	return rep, nil
}
