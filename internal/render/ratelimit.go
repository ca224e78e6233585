package render

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// ErrRateLimited: the space has used its render requests for now (429).
var ErrRateLimited = errors.New("rate limit reached")

// RateLimitError is a refused request with the bucket's state, for the
// X-RateLimit-* and Retry-After headers.
type RateLimitError struct{ store.RateDecision }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: the space may make %d render requests a minute; retry after %s",
		ErrRateLimited, e.Limit, e.Reset.UTC().Format(time.RFC3339))
}

func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// DefaultRateLimitRefresh is how long a node trusts what it last read of
// a space's limit (whether it has one, and its size) before reading it
// again; a limit set or removed takes effect within it on every node. The
// bucket itself is always taken from in the database.
const DefaultRateLimitRefresh = 5 * time.Second

// rateLimits remembers which spaces have a limit, so renders of spaces
// without one cost no database write.
type rateLimits struct {
	mu sync.Mutex
	m  map[string]rateEntry
}

type rateEntry struct {
	perMinute int
	read      time.Time
}

// checkRate takes one request from the space's bucket when it has a limit.
func (s *Service) checkRate(ctx context.Context, spaceID string) error {
	now := time.Now()
	refresh := s.cfg.RateLimitRefresh
	if refresh == 0 {
		refresh = DefaultRateLimitRefresh
	}
	s.rates.mu.Lock()
	e, ok := s.rates.m[spaceID]
	s.rates.mu.Unlock()
	if !ok || now.Sub(e.read) >= refresh {
		n, err := s.cfg.Store.GetRateLimit(ctx, spaceID)
		if err != nil {
			return fmt.Errorf("read rate limit: %w", err)
		}
		e = rateEntry{perMinute: n, read: now}
		s.rates.mu.Lock()
		if s.rates.m == nil || len(s.rates.m) > 100_000 {
			s.rates.m = map[string]rateEntry{}
		}
		s.rates.m[spaceID] = e
		s.rates.mu.Unlock()
	}
	if e.perMinute == 0 {
		return nil
	}
	d, err := s.cfg.Store.TakeRateToken(ctx, spaceID, now)
	if err != nil {
		return fmt.Errorf("take rate token: %w", err)
	}
	if !d.Allowed {
		return &RateLimitError{d}
	}
	return nil
}
