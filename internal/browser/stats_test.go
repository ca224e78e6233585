package browser

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// TestStatsDuringRenderStorm: with every tab busy and renders queued,
// Stats returns at once and says so, and it returns even while every lock
// of the pool is held (as renders hold them), so a metrics scrape never
// waits for renders nor holds them up.
func TestStatsDuringRenderStorm(t *testing.T) {
	t.Parallel()
	p := newPool(t, Config{MaxTabs: 2, QueueSize: 8})
	srv := newBlockingServer(t)
	slow := pngRequest(Page{HTML: `<img src="` + srv.URL + `/img.png">`, Width: 100, Height: 100})

	const renders = 5 // 2 busy, 3 queued
	errs := make(chan error, renders)
	for range renders {
		go func() { _, err := p.Render(context.Background(), slow); errs <- err }()
	}
	eventually(t, 20*time.Second, "every tab busy and three renders queued", func() bool {
		s := p.Stats()
		return srv.hits.Load() == 2 && s.Busy == 2 && s.Idle == 0 && s.Queued == 3
	})

	// Hold every lock a render takes, then take a snapshot.
	locks := []interface{ Lock() }{&p.sup.mu, &p.slots.mu, &p.tpl.mu, &p.url.mu}
	for _, l := range locks {
		l.Lock()
	}
	got := make(chan Stats, 1)
	go func() { got <- p.Stats() }()
	var s Stats
	select {
	case s = <-got:
	case <-time.After(5 * time.Second):
		t.Error("Stats blocked on a lock held by renders")
	}
	pid := make(chan int, 1)
	go func() { pid <- p.BrowserPID() }()
	select {
	case n := <-pid:
		if n <= 0 {
			t.Errorf("BrowserPID() = %d while running", n)
		}
	case <-time.After(5 * time.Second):
		t.Error("BrowserPID blocked on a lock held by renders")
	}
	p.url.mu.Unlock()
	p.tpl.mu.Unlock()
	p.slots.mu.Unlock()
	p.sup.mu.Unlock()
	if t.Failed() {
		t.FailNow() // a blocked Stats would still be waiting
	}
	if s.Tabs != 2 || s.Busy != 2 || s.Idle != 0 || s.Queued != 3 || s.Crashes != 0 || s.Restarts != 0 {
		t.Errorf("Stats() under load = %+v, want 2 tabs, 2 busy, 0 idle, 3 queued, no crash or restart", s)
	}

	srv.release()
	for range renders {
		if err := <-errs; err != nil {
			t.Errorf("render: %v", err)
		}
	}
	eventually(t, 10*time.Second, "the pool to be idle", func() bool {
		s := p.Stats()
		return s.Busy == 0 && s.Queued == 0 && s.Idle == 2 && s.Renders == renders
	})
}

// TestConfigWithDefaults: every default is stated by WithDefaults, derived
// ones follow the fields they derive from, explicit values stay, and
// applying it twice changes nothing.
func TestConfigWithDefaults(t *testing.T) {
	d := Config{}.WithDefaults()
	if d.MaxTabs != DefaultMaxTabs || d.QueueSize != QueuePerTab*DefaultMaxTabs || d.SpaceMaxConcurrent != DefaultMaxTabs/2 ||
		d.RecycleAfter != DefaultRecycleAfter || d.RenderTimeout != DefaultRenderTimeout || d.StartTimeout != DefaultStartTimeout ||
		d.URLSpares != DefaultURLSpares || d.Logger == nil {
		t.Errorf("Config{}.WithDefaults() = %+v", d)
	}
	if d.MaxTabs != 4 || d.QueueSize != 64 || d.SpaceMaxConcurrent != 2 || d.RecycleAfter != 500 ||
		d.RenderTimeout != 30*time.Second || d.URLSpares != 2 {
		t.Errorf("defaults changed: %+v", d)
	}
	one := Config{MaxTabs: 1, URLSpares: -1}.WithDefaults()
	if one.QueueSize != 16 || one.SpaceMaxConcurrent != 1 || one.URLSpares != -1 {
		t.Errorf("Config{MaxTabs: 1, URLSpares: -1}.WithDefaults() = %+v", one)
	}
	if again := one.WithDefaults(); !reflect.DeepEqual(again, one) {
		t.Errorf("WithDefaults twice: %+v, then %+v", one, again)
	}
	set := Config{MaxTabs: 8, QueueSize: 3, SpaceMaxConcurrent: 5, RecycleAfter: 7, RenderTimeout: time.Second}.WithDefaults()
	if set.MaxTabs != 8 || set.QueueSize != 3 || set.SpaceMaxConcurrent != 5 || set.RecycleAfter != 7 || set.RenderTimeout != time.Second {
		t.Errorf("explicit values changed: %+v", set)
	}
}
