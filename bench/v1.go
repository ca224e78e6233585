package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Targets of the v1 API (issue: URL and HTML renders through a
// Urlbox-compatible v1 API).
const (
	// targetV1FreshRatio: v1 sync HTML PNG sequential p50 / the floor with
	// a fresh browser context per render, at most. That floor is the honest
	// limit for a render isolated in its own context (issue 15 dropped the
	// warm-tab target, which no isolated render can meet).
	targetV1FreshRatio = 0.85
	targetCacheHitP50  = 5.0 // ms, p50 of a v1 sync call answered from the cache, at most
	sideV1             = "renderhook v1 html sync"
	cacheTTLSeconds    = 3600
	cacheHitWarmupRuns = 3
)

// v1Side renders the reference HTML through POST /v1/render/sync on the
// renderhook server: a client's HTML in a fresh incognito browser context
// behind the egress proxy, stored and recorded, answered as JSON. Its
// latency is that call; the file is then downloaded, untimed, so the
// output is checked like every other side's.
type v1Side struct {
	rh   *renderhookSide
	html string
	// ttl, when set, asks for the cache (a repeated call is a hit).
	ttl int
}

func (v *v1Side) name() string { return sideV1 }

func (v *v1Side) render(ctx context.Context, _ int, f format) (result, error) {
	opts := map[string]any{"html": v.html, "width": pageWidth, "height": pageHeight, "format": string(f)}
	if v.ttl > 0 {
		opts["ttl"] = v.ttl
	}
	body, err := json.Marshal(opts)
	if err != nil {
		return result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.rh.base+"/v1/render/sync", bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Authorization", "Bearer "+v.rh.token)
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	header, data, err := do(v.rh.client, req, "v1 sync "+string(f))
	took := time.Since(t0)
	if err != nil {
		return result{}, err
	}
	var out struct {
		RenderURL string `json:"renderUrl"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.RenderURL == "" {
		return result{}, fmt.Errorf("v1 sync: answer %.300s: %v", data, err)
	}
	file, err := v.download(ctx, out.RenderURL)
	if err != nil {
		return result{}, err
	}
	return result{data: file, took: took, cache: header.Get("X-Renderhook-Cache")}, nil
}

func (v *v1Side) download(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	_, b, err := do(v.rh.client, req, "v1 sync: download")
	return b, err
}

// cacheHits measures n sequential v1 sync calls of one request with a ttl,
// after a few to fill the cache, and checks each was answered from it.
func cacheHits(ctx context.Context, rh *renderhookSide, html string, n int) (stats, error) {
	v := &v1Side{rh: rh, html: html, ttl: cacheTTLSeconds}
	for range cacheHitWarmupRuns {
		if _, err := v.render(ctx, 0, formatPNG); err != nil {
			return stats{}, err
		}
	}
	lat := make([]float64, 0, n)
	for range n {
		res, err := v.render(ctx, 0, formatPNG)
		if err != nil {
			return stats{}, err
		}
		if res.cache != "hit" {
			return stats{}, fmt.Errorf("v1 sync with ttl: X-Renderhook-Cache %q, want hit", res.cache)
		}
		if err := checkOutput(formatPNG, res.data, true); err != nil {
			return stats{}, fmt.Errorf("cache hit: %w", err)
		}
		lat = append(lat, ms(res.took))
	}
	return summarize(lat), nil
}

// settle waits for the renderhook server's queue, where the v1 renders'
// callbacks run, and for the browser's work after the answers (making the
// next spare contexts, disposing of used ones), so none of it runs on
// the cores while the next side is measured.
func (v *v1Side) settle(ctx context.Context, limit time.Duration) (bool, error) {
	deadline := time.Now().Add(limit)
	idle, err := pollUntil(ctx, deadline, 10*time.Millisecond, func() (bool, error) {
		return v.rh.srv.Pool.Stats().Background == 0, nil
	})
	if !idle || err != nil {
		return idle, err
	}
	return v.rh.settle(ctx, time.Until(deadline))
}

// v1Results are the v1 API's figures besides its sequential scenario.
type v1Results struct {
	// CacheHit is sequential v1 sync calls answered from the cache.
	CacheHit stats `json:"cacheHitMs"`
}
