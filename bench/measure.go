package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// phase is what one run of renders on one side produced.
type phase struct {
	latMs     []float64 // client-side latency of each render
	renderIDs []string  // renderhook's render ids, to look up its timings
	wall      time.Duration
	sample    []byte // the first output, kept for the pixel comparison
}

// renderTimeout bounds one render on any side, so a stuck browser fails the
// run instead of hanging it.
const renderTimeout = time.Minute

// runPhase has workers clients render n times in total, each starting its
// next render as soon as its last one finished, and checks every output.
func runPhase(ctx context.Context, s side, f format, n, workers int) (phase, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([]float64, n)
	ids := make([]string, n)
	var sample []byte
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				rctx, rcancel := context.WithTimeout(ctx, renderTimeout)
				t0 := time.Now()
				res, err := s.render(rctx, w, f)
				d := time.Since(t0)
				rcancel()
				if err == nil {
					err = checkOutput(f, res.data, s.name() != "gotenberg")
					if err != nil {
						err = fmt.Errorf("%s %s: %w", s.name(), f, err)
					}
				}
				if err != nil {
					cancel(err)
					return
				}
				if res.took > 0 {
					d = res.took
				}
				lat[i] = float64(d.Microseconds()) / 1000
				ids[i] = res.renderID
				if i == 0 {
					sample = res.data
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return phase{}, err
	}
	ph := phase{latMs: lat, wall: wall, sample: sample}
	for _, id := range ids {
		if id != "" {
			ph.renderIDs = append(ph.renderIDs, id)
		}
	}
	return ph, nil
}

// scenarioKey names one measured scenario.
type scenarioKey struct {
	side    string
	format  format
	clients int
}

// measurement runs the plan and accumulates the rounds of each scenario.
type measurement struct {
	plan      plan
	progress  func(format string, a ...any)
	runs      map[scenarioKey]*phase
	order     []scenarioKey
	loadStart [3]float64
	// pixelDiff is how many pixels of renderhook's PNG differ from the
	// floor's; -1 if not compared.
	pixelDiff int
	// unsettled counts rounds after which a side's queue still held jobs
	// when the next round began; settled is the time spent waiting.
	unsettled int
	settled   time.Duration
}

// settler is a side with background work of its own (renderhook's
// callbacks), which it can wait for between rounds.
type settler interface {
	settle(ctx context.Context, limit time.Duration) (bool, error)
}

// settle lets s finish its background work, so that it is not charged to
// the next side's round.
func (m *measurement) settle(ctx context.Context, s side) error {
	st, ok := s.(settler)
	if !ok {
		return nil
	}
	t0 := time.Now()
	done, err := st.settle(ctx, settleLimit)
	m.settled += time.Since(t0)
	if err != nil {
		return fmt.Errorf("%s: wait for its queue: %w", s.name(), err)
	}
	if !done {
		m.unsettled++
	}
	return nil
}

func (m *measurement) add(k scenarioKey, ph phase) {
	if m.runs == nil {
		m.runs = map[scenarioKey]*phase{}
	}
	acc, ok := m.runs[k]
	if !ok {
		acc = &phase{sample: ph.sample}
		m.runs[k] = acc
		m.order = append(m.order, k)
	}
	acc.latMs = append(acc.latMs, ph.latMs...)
	acc.renderIDs = append(acc.renderIDs, ph.renderIDs...)
	acc.wall += ph.wall
}

// measure warms every side up, then runs each phase in alternating rounds.
// The renderhook server without callbacks (nocb) takes part in the
// sequential PNG rounds only, the figure its difference is judged on.
//
// The v1 side (v1) and the floor with a fresh context per render (fresh)
// take part in the sequential PNG rounds too.
func (m *measurement) measure(ctx context.Context, sides []side, fl *floor, rh, nocb *renderhookSide, v1 *v1Side, fresh *freshFloor) error {
	p := m.plan
	m.pixelDiff = -1
	m.progress("warming up: %d sequential and %d concurrent renders per side", p.Warmup, 2*p.Clients)
	samples := map[string][]byte{}
	for _, s := range append(slices.Clone(sides), nocb, v1, fresh) {
		ph, err := runPhase(ctx, s, formatPNG, p.Warmup, 1)
		if err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
		samples[s.name()] = ph.sample
		if s == side(fresh) {
			continue // sequential only
		}
		if _, err := runPhase(ctx, s, formatPNG, 2*p.Clients, p.Clients); err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
		if err := m.settle(ctx, s); err != nil {
			return err
		}
	}
	for _, f := range []format{formatJPEG, formatWebP, formatPDF} {
		for _, s := range []side{fl, rh} {
			if _, err := runPhase(ctx, s, f, 3, 1); err != nil {
				return fmt.Errorf("warm up: %w", err)
			}
			if err := m.settle(ctx, s); err != nil {
				return err
			}
		}
	}
	m.unsettled, m.settled = 0, 0 // only the measured rounds count
	diff, err := pixelDiff(samples[fl.name()], samples[rh.name()])
	if err != nil {
		return fmt.Errorf("compare floor and renderhook PNGs: %w", err)
	}
	m.pixelDiff = diff
	if diff > 0 {
		m.progress("warning: renderhook's PNG differs from the floor's in %d pixels", diff)
	}

	if diff, err := pixelDiff(samples[fl.name()], samples[v1.name()]); err != nil {
		return fmt.Errorf("compare floor and v1 PNGs: %w", err)
	} else if diff > 0 {
		m.progress("note: the v1 HTML render's PNG differs from the floor's in %d pixels", diff)
	}
	if err := m.rounds(ctx, append(slices.Clone(sides), nocb, v1, fresh), formatPNG, p.Seq, p.SeqRound, 1); err != nil {
		return err
	}
	if err := m.rounds(ctx, sides, formatPNG, p.Conc, p.ConcRound, p.Clients); err != nil {
		return err
	}
	for _, f := range []format{formatJPEG, formatWebP, formatPDF} {
		if err := m.rounds(ctx, []side{fl, rh}, f, p.Formats, p.FormatRound, 1); err != nil {
			return err
		}
	}
	return nil
}

// rounds measures total renders per side in rounds of per, alternating the
// order of the sides from round to round so neither always goes first.
func (m *measurement) rounds(ctx context.Context, sides []side, f format, total, per, clients int) error {
	n := (total + per - 1) / per
	m.progress("%s, %d client(s): %d renders per side in %d rounds", f, clients, total, n)
	for i := range n {
		count := min(per, total-i*per)
		order := slices.Clone(sides)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			ph, err := runPhase(ctx, s, f, count, clients)
			if err != nil {
				return err
			}
			m.add(scenarioKey{s.name(), f, clients}, ph)
			if err := m.settle(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// stats summarises latencies in milliseconds.
type stats struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P5   float64 `json:"p5"`
	P25  float64 `json:"p25"`
	P50  float64 `json:"p50"`
	P75  float64 `json:"p75"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func summarize(v []float64) stats {
	if len(v) == 0 {
		return stats{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return stats{
		N: len(s), Min: s[0], Max: s[len(s)-1], Mean: round2(sum / float64(len(s))),
		P5: percentile(s, 5), P25: percentile(s, 25), P50: percentile(s, 50),
		P75: percentile(s, 75), P95: percentile(s, 95), P99: percentile(s, 99),
	}
}

// percentile interpolates linearly between the closest ranks of sorted.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	r := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(sorted)-1)
	return round2(sorted[lo] + (sorted[hi]-sorted[lo])*(r-float64(lo)))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
