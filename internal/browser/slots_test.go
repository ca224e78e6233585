package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// gateServer serves /img?n=NAME only once the test lets NAME through
// (let), and records the order in which requests arrived.
type gateServer struct {
	*httptest.Server
	mu      sync.Mutex
	arrived []string
	gates   map[string]chan struct{}
	closed  chan struct{}
}

func newGateServer(t *testing.T) *gateServer {
	t.Helper()
	g := &gateServer{gates: make(map[string]chan struct{}), closed: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("n")
		g.mu.Lock()
		g.arrived = append(g.arrived, name)
		gate := g.gateLocked(name)
		g.mu.Unlock()
		select {
		case <-gate:
		case <-g.closed:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(solidPNG(t, 4, 4, green))
	}))
	// Close waits for handlers; unblock them first (cleanups run last
	// registered first).
	t.Cleanup(g.Close)
	t.Cleanup(func() { close(g.closed) })
	return g
}

func (g *gateServer) gateLocked(name string) chan struct{} {
	c, ok := g.gates[name]
	if !ok {
		c = make(chan struct{})
		g.gates[name] = c
	}
	return c
}

func (g *gateServer) order() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.arrived)
}

// let serves name's request, now or when it arrives.
func (g *gateServer) let(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gateLocked(name))
}

// wantStarted waits until n requests have reached the gate and checks that
// the nth was render name's (why says why it should be).
func (g *gateServer) wantStarted(t *testing.T, n int, name, why string) {
	t.Helper()
	g.waitArrived(t, n)
	if got := g.order()[n-1]; got != name {
		t.Fatalf("render %d to start was %s, want %s (%s)", n, got, name, why)
	}
}

// waitArrived waits until n requests have reached the gate.
func (g *gateServer) waitArrived(t *testing.T, n int) {
	t.Helper()
	eventually(t, 30*time.Second, "requests to arrive", func() bool { return len(g.order()) >= n })
}

// waiters counts renders of space waiting for a slot.
func waiters(p *Pool, space string) int {
	p.slots.mu.Lock()
	defer p.slots.mu.Unlock()
	if s := p.slots.spaces[space]; s != nil {
		return len(s.waiting)
	}
	return 0
}

// gatedRender starts a render of space whose page loads the gate's image
// named name; the returned channel gets its error once it returns.
func gatedRender(t *testing.T, p *Pool, g *gateServer, space, name string) <-chan error {
	t.Helper()
	req := pngRequest(Page{HTML: `<img src="` + g.URL + `/img?n=` + name + `">`, Width: 20, Height: 20})
	req.SpaceID = space
	done := make(chan error, 1)
	go func() {
		_, err := p.Render(context.Background(), req)
		done <- err
	}()
	return done
}

// gatedURLRender is gatedRender for a URL (HTML) render.
func gatedURLRender(t *testing.T, p *Pool, g *gateServer, space, name string) <-chan error {
	t.Helper()
	req := URLRequest{HTML: `<img src="` + g.URL + `/img?n=` + name + `">`, Format: FormatPNG, Width: 20, Height: 20, SpaceID: space}
	done := make(chan error, 1)
	go func() {
		_, err := p.RenderURL(context.Background(), req)
		done <- err
	}()
	return done
}

func wantDone(t *testing.T, done <-chan error, what string) {
	t.Helper()
	if err := receive(t, done, 30*time.Second, what+" did not return"); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestRenderRoundRobin: with the pool saturated, freed slots go to the
// spaces that wait in turn, not first come first served: B's render, queued
// behind three of A's, runs second. B's is a URL render: template and URL
// renders share the slots and the turns.
func TestRenderRoundRobin(t *testing.T) {
	g := newGateServer(t)
	p := newPool(t, Config{MaxTabs: 1, Egress: loopbackGuard(t)})
	var done []<-chan error
	done = append(done, gatedRender(t, p, g, "A", "A0"))
	g.waitArrived(t, 1) // A0 holds the only slot
	for i, name := range []string{"A1", "A2", "A3"} {
		done = append(done, gatedRender(t, p, g, "A", name))
		eventually(t, 10*time.Second, name+" to wait", func() bool { return waiters(p, "A") == i+1 })
	}
	done = append(done, gatedURLRender(t, p, g, "B", "B1"))
	eventually(t, 10*time.Second, "B1 to wait", func() bool {
		select {
		case err := <-done[4]:
			t.Fatalf("B1 returned at once: %v", err)
		default:
		}
		return waiters(p, "B") == 1
	})

	for n := 1; n < 5; n++ {
		g.let(g.order()[n-1])
		g.waitArrived(t, n+1)
	}
	g.let(g.order()[4])
	for i, d := range done {
		wantDone(t, d, "render "+[]string{"A0", "A1", "A2", "A3", "B1"}[i])
	}
	if got, want := g.order(), []string{"A0", "A1", "B1", "A2", "A3"}; !slices.Equal(got, want) {
		t.Errorf("renders ran in the order %v, want %v", got, want)
	}
}

// TestSpaceMaxConcurrent: a space alone on the pool uses every tab; once
// another space renders, it gets no slot beyond SpaceMaxConcurrent, even
// with a tab free, so a third space's render starts at once; alone again,
// it may use every tab again.
func TestSpaceMaxConcurrent(t *testing.T) {
	g := newGateServer(t)
	p := newPool(t, Config{MaxTabs: 3, SpaceMaxConcurrent: 1})
	a0 := gatedRender(t, p, g, "A", "A0")
	a1 := gatedRender(t, p, g, "A", "A1")
	g.waitArrived(t, 2) // alone, A runs two renders with a cap of one
	b0 := gatedRender(t, p, g, "B", "B0")
	g.waitArrived(t, 3) // B's starts on the third tab
	a2 := gatedRender(t, p, g, "A", "A2")
	eventually(t, 10*time.Second, "A2 to wait", func() bool { return waiters(p, "A") == 1 })

	g.let("A0")
	wantDone(t, a0, "A0")
	// The slot was freed and handed on before that render returned, so
	// this is the decision: A, still running one render while B runs,
	// is at its cap, and A2 waits with a slot free.
	p.slots.mu.Lock()
	running, waiting := p.slots.running, len(p.slots.spaces["A"].waiting)
	p.slots.mu.Unlock()
	if running != 2 || waiting != 1 {
		t.Fatalf("after one of A's renders returned: %d slots held and %d of A's renders waiting, want 2 and 1 (A2 held back by the cap)", running, waiting)
	}
	c0 := gatedRender(t, p, g, "C", "C0")
	g.wantStarted(t, 4, "C0", "on the slot A may not take")

	// B and C finish: once they no longer count as active (spaceLinger
	// later), A is alone again and A2 starts next to A's other render,
	// over the cap.
	g.let("B0")
	g.let("C0")
	wantDone(t, b0, "B0")
	wantDone(t, c0, "C0")
	g.wantStarted(t, 5, "A2", "over A's cap, alone again")
	g.let("A1")
	g.let("A2")
	wantDone(t, a1, "A1")
	wantDone(t, a2, "A2")
	if st := p.Stats(); st.Busy != 0 || st.Queued != 0 {
		t.Errorf("Stats after all renders: %+v, want none busy or queued", st)
	}
}

// TestRenderSlotCancelled: a render that gives up waiting leaves the
// waiting list, and a slot granted to it as it gave up goes to the next.
func TestRenderSlotCancelled(t *testing.T) {
	g := newGateServer(t)
	p := newPool(t, Config{MaxTabs: 1})
	a0 := gatedRender(t, p, g, "A", "A0")
	g.waitArrived(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	req := pngRequest(colourPage("red", 10, 10))
	req.SpaceID = "B"
	gaveUp := make(chan error, 1)
	go func() {
		_, err := p.Render(ctx, req)
		gaveUp <- err
	}()
	eventually(t, 10*time.Second, "B to wait", func() bool { return waiters(p, "B") == 1 })
	a1 := gatedRender(t, p, g, "A", "A1")
	eventually(t, 10*time.Second, "A1 to wait", func() bool { return waiters(p, "A") == 1 })
	cancel()
	if err := receive(t, gaveUp, 10*time.Second, "the cancelled render did not return"); err == nil {
		t.Fatal("the cancelled render succeeded")
	}
	if n := waiters(p, "B"); n != 0 {
		t.Errorf("%d of B's renders still waiting after it gave up", n)
	}
	g.let("A0")
	wantDone(t, a0, "A0")
	g.waitArrived(t, 2)
	g.let("A1")
	wantDone(t, a1, "A1")
	p.slots.mu.Lock()
	defer p.slots.mu.Unlock()
	if p.slots.running != 0 || len(p.slots.turns) != 0 || p.slots.spaces["B"] != nil {
		t.Errorf("slots left: running %d, spaces %v, turns %v", p.slots.running, p.slots.spaces, p.slots.turns)
	}
}
