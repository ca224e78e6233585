package testkit

import "sync"

// Collected is a list that something running beside the test (a test
// server's handler, a browser's event listener) adds to while the test
// takes what has come so far. The zero value is empty and ready.
type Collected[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends v.
func (c *Collected[T]) Add(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = append(c.items, v)
}

// Take returns what was added since the last Take, and forgets it.
func (c *Collected[T]) Take() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	items := c.items
	c.items = nil
	return items
}
