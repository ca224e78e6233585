package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/pprof"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/cli"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// renderhookSide is the real server, in this process, asked over HTTP.
type renderhookSide struct {
	srv     *server.Server
	dataDir string
	client  *http.Client
	base    string
	token   string
	spaceID string
	pageID  string
	// noCallbacks is set on the baseline server started with a no-op
	// RenderFollowUp: its renders are recorded, but no callback job or
	// webhook is queued.
	noCallbacks bool
	// renderType, when set, is sent with every render (the takumi side).
	renderType string
}

// noFollowUp is the baseline server's render follow-up: renders are
// recorded (row, spooled bytes, log entry) but queue no callback job and
// no webhook, so the difference to the other server is what callbacks
// cost.
type noFollowUp struct{}

func (noFollowUp) InsertTx(context.Context, store.Tx, ...river.JobArgs) error { return nil }

func (noFollowUp) EnqueueTx(context.Context, store.Tx, string, string, string, *store.Render, func() []byte) ([]string, error) {
	return nil, nil
}

// Side names of the two renderhook servers.
const (
	sideRenderhook  = "renderhook"
	sideNoCallbacks = "renderhook (no callbacks)"
)

func (r *renderhookSide) name() string {
	if r.noCallbacks {
		return sideNoCallbacks
	}
	if r.renderType != "" {
		return sideRenderhook + " (renderType=" + r.renderType + ")"
	}
	return sideRenderhook
}

// startRenderhook starts a server with a throwaway data dir on a random
// loopback port and sets up the demo template and a published page through
// the HTTP API, as a user would. With noCallbacks the server runs with
// noFollowUp: the baseline that shows what callbacks cost.
//
// database is the server's --database: "" for SQLite in the data dir, or a
// PostgreSQL URL.
//
// opts adjust the server's config (the observability phase turns metrics off).
func startRenderhook(ctx context.Context, tabs int, noCallbacks bool, database string, logger *slog.Logger, opts ...func(*server.Config)) (_ *renderhookSide, err error) {
	dataDir, err := os.MkdirTemp("", "renderhook-bench-")
	if err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	r := &renderhookSide{dataDir: dataDir, noCallbacks: noCallbacks}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	r.base = "http://" + addr
	cfg := server.Config{
		DataDir:   dataDir,
		Database:  database,
		PublicURL: r.base,
		Addr:      addr,
		Browser:   browser.Config{MaxTabs: tabs, Logger: logger},
		// The webhook receiver is a loopback server in this process.
		Egress: egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Logger: logger,
	}
	if noCallbacks {
		cfg.RenderFollowUp = noFollowUp{}
	}
	for _, o := range opts {
		o(&cfg)
	}
	r.srv, err = server.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("create server: %w", err)
	}
	if err := r.srv.Start(ctx, ln); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start server: %w", err)
	}

	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, err
	}
	// Without a webhook secret the space's deliveries cannot be signed.
	space := &store.Space{ID: store.NewID("spc"), Name: "bench", WebhookSecret: secret, CreatedAt: time.Now().UTC()}
	if err := r.srv.Store.CreateSpace(ctx, space); err != nil {
		return nil, fmt.Errorf("create space: %w", err)
	}
	r.spaceID = space.ID
	if r.token, _, err = auth.CreateToken(ctx, r.srv.Store, space.ID); err != nil {
		return nil, err
	}
	r.client = &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			// Every client keeps its connection between renders (the
			// default keeps only two idle per host).
			MaxIdleConnsPerHost: 4 * tabs,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}

	var tpl struct {
		ID string `json:"id"`
	}
	err = r.postJSON(ctx, "/api/templates", map[string]any{
		"name": "Bench social card", "html": cli.DemoTemplateHTML,
		"width": pageWidth, "height": pageHeight, "variables": cli.DemoVariables,
	}, &tpl)
	if err != nil {
		return nil, err
	}
	var pg struct {
		ID string `json:"id"`
	}
	err = r.postJSON(ctx, "/api/pages", map[string]any{
		"templateId": tpl.ID, "name": "Bench card", "values": map[string]any{}, "publish": true,
	}, &pg)
	if err != nil {
		return nil, err
	}
	r.pageID = pg.ID
	return r, nil
}

func (r *renderhookSide) postJSON(ctx context.Context, path string, body, into any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	_, data, err := do(r.client, req, "POST "+path, http.StatusCreated, http.StatusOK)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("POST %s: decode response: %w", path, err)
	}
	return nil
}

// render asks for the page over HTTP and reads the whole body.
func (r *renderhookSide) render(ctx context.Context, _ int, f format) (result, error) {
	q := url.Values{"format": {string(f)}, "output": {"binary"}}
	if r.renderType != "" {
		q.Set("renderType", r.renderType)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/api/render/"+r.pageID+"?"+q.Encode(), nil)
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	header, data, err := do(r.client, req, "renderhook: GET render "+string(f))
	if err != nil {
		return result{}, err
	}
	res := result{data: data}
	if !r.noCallbacks {
		// Only recorded renders have timings to look up.
		res.renderID = header.Get("X-Render-Id")
	}
	return res, nil
}

// settleLimit bounds how long settle waits for the queue to empty.
const settleLimit = 15 * time.Second

// settle waits until the server's queue has no job waiting, running or
// snoozed, so that the callbacks of the round just measured do not run into
// the next side's round. It reports whether the queue emptied within limit.
func (r *renderhookSide) settle(ctx context.Context, limit time.Duration) (bool, error) {
	if r.noCallbacks {
		return true, nil
	}
	// Retryable jobs wait for a later attempt: not worth waiting for.
	params := river.NewJobListParams().First(1).States(
		rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateScheduled)
	return pollUntil(ctx, time.Now().Add(limit), 20*time.Millisecond, func() (bool, error) {
		res, err := r.srv.Queue.Client().JobList(ctx, params)
		if err != nil {
			return false, fmt.Errorf("list queued jobs: %w", err)
		}
		return len(res.Jobs) == 0, nil
	})
}

// pollUntil calls cond every interval until it holds (true), it fails, or
// deadline passes (false).
func pollUntil(ctx context.Context, deadline time.Time, interval time.Duration, cond func() (bool, error)) (bool, error) {
	for {
		ok, err := cond()
		if ok || err != nil {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// timings looks up the queue, browser and total times renderhook recorded
// for each render, in milliseconds.
func (r *renderhookSide) timings(ctx context.Context, ids []string) (queue, tab, total []float64, err error) {
	for _, id := range ids {
		rec, err := r.srv.Store.GetRender(ctx, r.spaceID, id)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("look up render %q: %w", id, err)
		}
		queue = append(queue, float64(rec.QueueMs))
		tab = append(tab, float64(rec.RenderMs))
		total = append(total, float64(rec.TotalMs))
	}
	return queue, tab, total, nil
}

func (r *renderhookSide) close() {
	if r.srv != nil {
		defer func() { r.srv = nil }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := r.srv.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stop renderhook:", err)
		}
		cancel()
	}
	if r.client != nil {
		r.client.CloseIdleConnections()
	}
	_ = os.RemoveAll(r.dataDir)
}

// profileRenderhook records a CPU profile of this process while renderhook
// serves a 4-client phase. It is a separate, unmeasured phase: a profile
// cannot be paused across the interleaved rounds, and profiling costs a
// little CPU the figures should not carry.
func profileRenderhook(ctx context.Context, rh *renderhookSide, p plan, path string) error {
	f, err := os.Create(path) //nolint:gosec // path is the operator's -cpuprofile flag
	if err != nil {
		return fmt.Errorf("create cpu profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("start cpu profile: %w", err)
	}
	_, err = runPhase(ctx, rh, formatPNG, p.Conc, p.Clients)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	return f.Close()
}
