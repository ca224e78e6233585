package browser

import (
	"errors"
	"testing"
)

// TestAdmitReservesSeatsForQuietSpaces: a space that fills the queue gets
// ErrQueueFull, but another space with nothing admitted still gets in (up
// to MaxTabs such seats), so one tenant's flood beyond the queue does not
// turn every other tenant away with 503 before the round-robin can serve
// them.
func TestAdmitReservesSeatsForQuietSpaces(t *testing.T) {
	p, err := New(Config{MaxTabs: 2, QueueSize: 2, ChromiumPath: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	p.sup.setStateLocked(stateRunning) // no browser needed to admit
	var dones []func()
	take := func(space string) error {
		done, err := p.slots.admit(space)
		if err == nil {
			dones = append(dones, done)
		}
		return err
	}
	for i := range 4 { // MaxTabs + QueueSize
		if err := take("flood"); err != nil {
			t.Fatalf("flood render %d: %v", i, err)
		}
	}
	if err := take("flood"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("flood past the queue: %v, want ErrQueueFull", err)
	}
	// Two quiet spaces (MaxTabs reserved seats) each get one in.
	for _, sp := range []string{"calm1", "calm2"} {
		if err := take(sp); err != nil {
			t.Fatalf("%s, nothing admitted, past a full queue: %v", sp, err)
		}
	}
	// A second render of a quiet space, or a third quiet space, is over.
	for _, sp := range []string{"calm1", "calm3"} {
		if err := take(sp); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("%s beyond the reserved seats: %v, want ErrQueueFull", sp, err)
		}
	}
	for _, d := range dones {
		d()
	}
	if p.slots.admitted != 0 || len(p.slots.admittedBy) != 0 || p.Stats().Queued != 0 {
		t.Fatalf("after every done: admitted %d, by space %v", p.slots.admitted, p.slots.admittedBy)
	}
}
