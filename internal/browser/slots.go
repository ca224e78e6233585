package browser

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Render slots.
//
// A render (template or URL) holds one of MaxTabs slots while it runs.
// When none is free, renders wait in the pool's waiting list, one queue per
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

// spaceSlots is a space's share of the slots: how many it holds, and its
// renders waiting for one, oldest first.
type spaceSlots struct {
	running  int
	waiting  []*slotWaiter
	lastDone time.Time // when a render of the space last gave back a slot
}

// slotWaiter is a render waiting for a slot; granted is closed once it has
// one (under Pool.mu, which also guards ok).
type slotWaiter struct {
	space   string
	granted chan struct{}
	ok      bool
}

// takeSlot waits for a render slot for space (see above). Errors are
// ErrStopped or wrap ctx's error.
func (p *Pool) takeSlot(ctx context.Context, space string) error {
	p.mu.Lock()
	if p.running < p.cfg.MaxTabs && p.mayRunLocked(space) {
		// No waiter could take this slot: dispatchLocked hands out every
		// slot a waiter may take as soon as it frees up.
		p.grantLocked(space)
		p.mu.Unlock()
		return nil
	}
	w := &slotWaiter{space: space, granted: make(chan struct{})}
	s := p.spaceLocked(space)
	s.waiting = append(s.waiting, w)
	if len(s.waiting) == 1 {
		p.turns = append(p.turns, space)
	}
	p.mu.Unlock()

	var err error
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		err = fmt.Errorf("wait for a render slot: %w", ctx.Err())
	case <-p.stopCh:
		err = ErrStopped
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.ok { // granted meanwhile: hand it on
		p.releaseSlotLocked(space)
		return err
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(o *slotWaiter) bool { return o == w })
	if len(s.waiting) == 0 {
		p.dropTurnLocked(space)
	}
	p.forgetSpaceLocked(space)
	// A space that stops waiting can leave another alone on the pool,
	// and so free to go over its cap.
	p.dispatchLocked()
	return err
}

// releaseSlotLocked gives back a slot of space and hands freed slots to
// waiters.
func (p *Pool) releaseSlotLocked(space string) {
	p.running--
	s := p.spaces[space]
	s.running--
	s.lastDone = time.Now()
	if len(p.spaces) > 4*p.cfg.MaxTabs { // many spaces came and went
		for space := range p.spaces {
			p.forgetSpaceLocked(space)
		}
	}
	p.dispatchLocked()
}

// dispatchLocked grants free slots to waiting renders: taking turns over the
// spaces that wait (p.turns, from p.nextTurn on), each turn the oldest
// render of a space that may run one more.
func (p *Pool) dispatchLocked() {
	for p.running < p.cfg.MaxTabs && len(p.turns) > 0 {
		granted := false
		for range len(p.turns) {
			if p.nextTurn >= len(p.turns) {
				p.nextTurn = 0
			}
			space := p.turns[p.nextTurn]
			if !p.mayRunLocked(space) {
				p.nextTurn++
				continue
			}
			s := p.spaces[space]
			w := s.waiting[0]
			s.waiting = slices.Delete(s.waiting, 0, 1)
			if len(s.waiting) == 0 {
				p.turns = slices.Delete(p.turns, p.nextTurn, p.nextTurn+1) // the next space moves up
			} else {
				p.nextTurn++
			}
			p.grantLocked(space)
			w.ok = true
			close(w.granted)
			granted = true
			break
		}
		if !granted {
			break // every waiting space is at its cap
		}
	}
	p.armLingerLocked()
}

// armLingerLocked makes sure dispatchLocked runs again when a space stops
// counting as active, if renders wait while slots are free: they may be
// held back by the cap only because of that space.
func (p *Pool) armLingerLocked() {
	if p.lingerTimer != nil || p.running >= p.cfg.MaxTabs || len(p.turns) == 0 {
		return
	}
	var first time.Time
	for _, s := range p.spaces {
		if s.running == 0 && len(s.waiting) == 0 && (first.IsZero() || s.lastDone.Before(first)) {
			first = s.lastDone
		}
	}
	if first.IsZero() {
		return
	}
	p.lingerTimer = time.AfterFunc(time.Until(first.Add(spaceLinger)), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.lingerTimer = nil
		p.dispatchLocked()
	})
}

// mayRunLocked reports whether space may hold one more slot: it is under its
// cap, or no other space is active.
func (p *Pool) mayRunLocked(space string) bool {
	s := p.spaces[space]
	if s == nil || s.running < p.cfg.SpaceMaxConcurrent {
		return true
	}
	for other := range p.spaces {
		if other != space && !p.forgetSpaceLocked(other) {
			return false
		}
	}
	return true
}

func (p *Pool) grantLocked(space string) {
	p.running++
	p.spaceLocked(space).running++
}

// spaceLocked returns space's entry, making it if needed.
func (p *Pool) spaceLocked(space string) *spaceSlots {
	s := p.spaces[space]
	if s == nil {
		s = &spaceSlots{}
		p.spaces[space] = s
	}
	return s
}

// forgetSpaceLocked drops space's entry, and reports true, once the space
// is no longer active: it neither runs nor waits, and its last render
// finished spaceLinger ago (or it never ran one).
func (p *Pool) forgetSpaceLocked(space string) bool {
	s := p.spaces[space]
	if s == nil {
		return true
	}
	if s.running > 0 || len(s.waiting) > 0 || !s.lastDone.IsZero() && time.Since(s.lastDone) < spaceLinger {
		return false
	}
	delete(p.spaces, space)
	return true
}

// dropTurnLocked removes space from the turns, keeping p.nextTurn on the
// space that was to come next.
func (p *Pool) dropTurnLocked(space string) {
	i := slices.Index(p.turns, space)
	if i < 0 {
		return
	}
	p.turns = slices.Delete(p.turns, i, i+1)
	if i < p.nextTurn {
		p.nextTurn--
	}
}
