package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/renderhook/renderhook/internal/auth"
	"github.com/renderhook/renderhook/internal/cli"
	"github.com/renderhook/renderhook/internal/store"
)

// Fairness between spaces (issue 15): a calm space's sequential renders
// while a neighbour floods the same server with floodClients clients.
const (
	floodClients        = 12
	targetFairnessRatio = 2.0 // calm space's p50 under the flood / alone, at most
)

// renderFairnessResults is the calm space's render time alone and while a
// neighbour floods, measured on the same server in the same run.
type renderFairnessResults struct {
	Alone        stats `json:"alone"`
	UnderFlood   stats `json:"underFlood"`
	FloodClients int   `json:"floodClients"`
	// FloodRenders and FloodRefused count the flooding space's answers
	// while the calm space was measured (refused: any non-200).
	FloodRenders int64 `json:"floodRenders"`
	FloodRefused int64 `json:"floodRefused"`
}

// tenant is another space on rh's server, with its own token and page of
// the same template, so it renders exactly what rh renders.
func (r *renderhookSide) tenant(ctx context.Context, name string) (*renderhookSide, error) {
	t := *r
	space := &store.Space{ID: store.NewID("spc"), Name: name, CreatedAt: time.Now().UTC()}
	if err := r.srv.Store.CreateSpace(ctx, space); err != nil {
		return nil, fmt.Errorf("create space %s: %w", name, err)
	}
	t.spaceID = space.ID
	var err error
	if t.token, _, err = auth.CreateToken(ctx, r.srv.Store, space.ID); err != nil {
		return nil, err
	}
	var tpl, pg struct {
		ID string `json:"id"`
	}
	if err := t.postJSON(ctx, "/api/templates", map[string]any{
		"name": "Bench social card", "html": cli.DemoTemplateHTML,
		"width": pageWidth, "height": pageHeight, "variables": cli.DemoVariables,
	}, &tpl); err != nil {
		return nil, err
	}
	if err := t.postJSON(ctx, "/api/pages", map[string]any{
		"templateId": tpl.ID, "name": "Bench card", "values": map[string]any{}, "publish": true,
	}, &pg); err != nil {
		return nil, err
	}
	t.pageID = pg.ID
	return &t, nil
}

// measureRenderFairness times n sequential PNG renders of a calm space
// alone, then again while a flooding space keeps floodClients renders in
// flight on the same server.
func measureRenderFairness(ctx context.Context, rh *renderhookSide, n int) (*renderFairnessResults, error) {
	calm, err := rh.tenant(ctx, "calm")
	if err != nil {
		return nil, err
	}
	flood, err := rh.tenant(ctx, "flood")
	if err != nil {
		return nil, err
	}
	seq := func() (stats, error) {
		var ms []float64
		for range n {
			start := time.Now()
			if _, err := calm.render(ctx, 0, formatPNG); err != nil {
				return stats{}, fmt.Errorf("calm space: %w", err)
			}
			ms = append(ms, float64(time.Since(start).Microseconds())/1000)
		}
		return summarize(ms), nil
	}
	for range 5 { // warm the calm space's tabs/contexts, untimed
		if _, err := calm.render(ctx, 0, formatPNG); err != nil {
			return nil, fmt.Errorf("calm space warmup: %w", err)
		}
	}
	res := &renderFairnessResults{FloodClients: floodClients}
	if res.Alone, err = seq(); err != nil {
		return nil, err
	}

	fctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for i := range floodClients {
		wg.Go(func() {
			for fctx.Err() == nil {
				if _, err := flood.render(fctx, i, formatPNG); err != nil {
					if fctx.Err() == nil {
						refused.Add(1)
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	// Let the flood fill the pool before the calm space asks.
	for ok.Load()+refused.Load() < floodClients && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	res.UnderFlood, err = seq()
	res.FloodRenders, res.FloodRefused = ok.Load(), refused.Load()
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return res, nil
}
