package browser

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Admission and render slots, shared by template and URL renders.
//
// A render is first admitted (or refused at once with ErrQueueFull, see
// admit), then waits for a slot.
//
// A render (template or URL) holds one of MaxTabs slots while it runs.
// When none is free, renders wait in the scheduler's waiting list, one queue per
// space, and freed slots go round-robin across the spaces that wait, first
// come first served within a space. So a space that floods the pool makes
// another space wait for one freed slot, not behind its whole backlog.
//
// A space holds at most SpaceMaxConcurrent slots while other spaces are
// active (run, wait, or finished a render within spaceLinger), so they
// always find tabs it leaves free, and their own tabs (see pickLocked) stay
// theirs rather than being taken over between two of their renders. Alone
// on the pool a space may use every tab: a single-tenant server keeps its
// throughput. When a second space arrives the first's renders in flight
// finish as they are, and its waiters get no new slot until it is back
// under its cap.

// spaceLinger is how long a space counts as active after its last render.
// A client rendering one page after another leaves gaps of a few
// milliseconds; without the linger a flooding space would be alone in each
// gap, take every tab, and so replace the calm space's tab (a new browser
// context and renderer, 100 ms or more) before its next render.
const spaceLinger = 2 * time.Second

// scheduler admits renders of both kinds and hands out their MaxTabs render
// slots round-robin across spaces. Its lock is a leaf: nothing else is locked
// while it is held, and it calls nothing that locks.
type scheduler struct {
	cfg   Config
	sup   *supervisor // for running and stopCh only
	stats *counters
	// active counts calls inside Render and RenderURL past admission;
	// Stop waits for them.
	active sync.WaitGroup

	// mu guards the fields below, and each slotWaiter's ok.
	mu          sync.Mutex
	admitted    int                    // renders admitted and not yet done
	admittedBy  map[string]int         // admitted, per space
	running     int                    // render slots held
	spaces      map[string]*spaceSlots // slots held and renders waiting, by space; active spaces only
	turns       []string               // spaces with renders waiting, in the order they take turns
	nextTurn    int                    // index in turns of the space whose turn is next
	lingerTimer *time.Timer            // runs dispatchLocked when a space stops being active
	stopped     bool                   // Stop began; no linger timer is armed any more
}

func newScheduler(cfg Config, sup *supervisor, stats *counters) *scheduler {
	return &scheduler{cfg: cfg, sup: sup, stats: stats,
		admittedBy: make(map[string]int), spaces: make(map[string]*spaceSlots)}
}

// enter admits a render of space (see admit) unless ctx is done already;
// what names the render in that error.
func (g *scheduler) enter(ctx context.Context, space, what string) (done func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return g.admit(space)
}

// admit counts a render of space in, or refuses it at once: ErrStopped when
// the pool is not running, ErrQueueFull when MaxTabs renders run and
// QueueSize more wait, except that a space with none admitted may still
// take one of MaxTabs reserved seats. Template and URL renders share the
// count; done counts it out.
func (g *scheduler) admit(space string) (done func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	limit := g.cfg.MaxTabs + g.cfg.QueueSize
	if g.admittedBy[space] == 0 {
		// A space with nothing admitted may take one of MaxTabs seats
		// beyond the queue, so a flood of another space (which always has
		// renders admitted) cannot turn every other space away with 503:
		// their next render waits its turn in the round-robin instead.
		limit += g.cfg.MaxTabs
	}
	switch {
	case !g.sup.running():
		return nil, ErrStopped
	case g.admitted >= limit:
		return nil, ErrQueueFull
	}
	g.admitted++
	g.admittedBy[space]++
	g.stats.admitted.Add(1)
	g.active.Add(1)
	return func() {
		g.mu.Lock()
		g.admitted--
		if g.admittedBy[space]--; g.admittedBy[space] == 0 {
			delete(g.admittedBy, space)
		}
		g.stats.admitted.Add(-1)
		g.mu.Unlock()
		g.active.Done()
	}, nil
}

// stop stops the linger timer for good.
func (g *scheduler) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.lingerTimer != nil {
		g.lingerTimer.Stop()
	}
}

// spaceSlots is a space's share of the slots: how many it holds, and its
// renders waiting for one, oldest first.
type spaceSlots struct {
	running  int
	waiting  []*slotWaiter
	lastDone time.Time // when a render of the space last gave back a slot
}

// slotWaiter is a render waiting for a slot; granted is closed once it has
// one (under scheduler.mu, which also guards ok).
type slotWaiter struct {
	space   string
	granted chan struct{}
	ok      bool
}

// takeSlot waits for a render slot for space (see above). Errors are
// ErrStopped or wrap ctx's error.
func (g *scheduler) takeSlot(ctx context.Context, space string) error {
	g.mu.Lock()
	if g.running < g.cfg.MaxTabs && g.mayRunLocked(space) {
		// No waiter could take this slot: dispatchLocked hands out every
		// slot a waiter may take as soon as it frees up.
		g.grantLocked(space)
		g.mu.Unlock()
		return nil
	}
	w := &slotWaiter{space: space, granted: make(chan struct{})}
	s := g.spaceLocked(space)
	s.waiting = append(s.waiting, w)
	if len(s.waiting) == 1 {
		g.turns = append(g.turns, space)
	}
	g.mu.Unlock()

	var err error
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		err = fmt.Errorf("wait for a render slot: %w", ctx.Err())
	case <-g.sup.stopCh:
		err = ErrStopped
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.ok { // granted meanwhile: hand it on
		g.releaseSlotLocked(space)
		return err
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(o *slotWaiter) bool { return o == w })
	if len(s.waiting) == 0 {
		g.dropTurnLocked(space)
	}
	g.forgetSpaceLocked(space)
	// A space that stops waiting can leave another alone on the pool,
	// and so free to go over its cap.
	g.dispatchLocked()
	return err
}

// releaseSlot gives back a slot of space and hands freed slots to waiters.
func (g *scheduler) releaseSlot(space string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseSlotLocked(space)
}

// releaseSlotLocked gives back a slot of space and hands freed slots to
// waiters.
func (g *scheduler) releaseSlotLocked(space string) {
	g.running--
	s := g.spaces[space]
	s.running--
	s.lastDone = time.Now()
	if len(g.spaces) > 4*g.cfg.MaxTabs { // many spaces came and went
		for space := range g.spaces {
			g.forgetSpaceLocked(space)
		}
	}
	g.dispatchLocked()
}

// dispatchLocked grants free slots to waiting renders: taking turns over the
// spaces that wait (g.turns, from g.nextTurn on), each turn the oldest
// render of a space that may run one more.
func (g *scheduler) dispatchLocked() {
	for g.running < g.cfg.MaxTabs && len(g.turns) > 0 {
		granted := false
		for range len(g.turns) {
			if g.nextTurn >= len(g.turns) {
				g.nextTurn = 0
			}
			space := g.turns[g.nextTurn]
			if !g.mayRunLocked(space) {
				g.nextTurn++
				continue
			}
			s := g.spaces[space]
			w := s.waiting[0]
			s.waiting = slices.Delete(s.waiting, 0, 1)
			if len(s.waiting) == 0 {
				g.turns = slices.Delete(g.turns, g.nextTurn, g.nextTurn+1) // the next space moves up
			} else {
				g.nextTurn++
			}
			g.grantLocked(space)
			w.ok = true
			close(w.granted)
			granted = true
			break
		}
		if !granted {
			break // every waiting space is at its cap
		}
	}
	g.armLingerLocked()
}

// armLingerLocked makes sure dispatchLocked runs again when a space stops
// counting as active, if renders wait while slots are free: they may be
// held back by the cap only because of that space.
func (g *scheduler) armLingerLocked() {
	if g.stopped || g.lingerTimer != nil || g.running >= g.cfg.MaxTabs || len(g.turns) == 0 {
		return
	}
	var first time.Time
	for _, s := range g.spaces {
		if s.running == 0 && len(s.waiting) == 0 && (first.IsZero() || s.lastDone.Before(first)) {
			first = s.lastDone
		}
	}
	if first.IsZero() {
		return
	}
	g.lingerTimer = time.AfterFunc(time.Until(first.Add(spaceLinger)), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.lingerTimer = nil
		g.dispatchLocked()
	})
}

// mayRunLocked reports whether space may hold one more slot: it is under its
// cap, or no other space is active.
func (g *scheduler) mayRunLocked(space string) bool {
	s := g.spaces[space]
	if s == nil || s.running < g.cfg.SpaceMaxConcurrent {
		return true
	}
	for other := range g.spaces {
		if other != space && !g.forgetSpaceLocked(other) {
			return false
		}
	}
	return true
}

func (g *scheduler) grantLocked(space string) {
	g.running++
	g.spaceLocked(space).running++
}

// spaceLocked returns space's entry, making it if needed.
func (g *scheduler) spaceLocked(space string) *spaceSlots {
	s := g.spaces[space]
	if s == nil {
		s = &spaceSlots{}
		g.spaces[space] = s
	}
	return s
}

// forgetSpaceLocked drops space's entry, and reports true, once the space
// is no longer active: it neither runs nor waits, and its last render
// finished spaceLinger ago (or it never ran one).
func (g *scheduler) forgetSpaceLocked(space string) bool {
	s := g.spaces[space]
	if s == nil {
		return true
	}
	if s.running > 0 || len(s.waiting) > 0 || !s.lastDone.IsZero() && time.Since(s.lastDone) < spaceLinger {
		return false
	}
	delete(g.spaces, space)
	return true
}

// dropTurnLocked removes space from the turns, keeping g.nextTurn on the
// space that was to come next.
func (g *scheduler) dropTurnLocked(space string) {
	i := slices.Index(g.turns, space)
	if i < 0 {
		return
	}
	g.turns = slices.Delete(g.turns, i, i+1)
	if i < g.nextTurn {
		g.nextTurn--
	}
}
