package render

import (
	"context"
	"fmt"

	"github.com/renderhook/renderhook/internal/store"
)

// backlogTiers are the depths of a space's queued async renders at which
// its next job drops one River priority: its first renders are fetched as
// soon as any other space's first ones, while the rest of a deep backlog
// waits behind every space that has little queued. River works jobs by
// priority, then by scheduled time, so a quiet space's render waits at
// most for the jobs already at its priority or higher: the flooding
// space's first backlogTiers[0] jobs, not its whole backlog.
var backlogTiers = [...]int{4, 32, 256}

// backlogPriority is the River priority (1 highest, 4 lowest) for the
// space's next async render, counted in the transaction that queues it.
func backlogPriority(ctx context.Context, tx store.Tx, spaceID string) (int, error) {
	n, err := tx.CountQueuedRenders(ctx, spaceID, backlogTiers[len(backlogTiers)-1]+1)
	if err != nil {
		return 0, fmt.Errorf("count queued renders: %w", err)
	}
	return priorityForBacklog(n), nil
}

// priorityForBacklog maps the count of renders already queued (the new
// one included) to a priority.
func priorityForBacklog(queued int) int {
	for i, t := range backlogTiers {
		if queued <= t {
			return i + 1
		}
	}
	return len(backlogTiers) + 1
}
