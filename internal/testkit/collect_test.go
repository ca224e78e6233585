package testkit

import (
	"slices"
	"sync"
	"testing"
)

func TestCollected(t *testing.T) {
	var c Collected[int]
	if got := c.Take(); len(got) != 0 {
		t.Fatalf("empty list took %v", got)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { c.Add(i) })
	}
	wg.Wait()
	got := c.Take()
	slices.Sort(got)
	if len(got) != 100 || got[0] != 0 || got[99] != 99 {
		t.Fatalf("took %d items (%v…), want 0 to 99", len(got), got[:min(len(got), 3)])
	}
	c.Add(7)
	if got := c.Take(); !slices.Equal(got, []int{7}) {
		t.Fatalf("second take %v, want only what came after the first", got)
	}
}
