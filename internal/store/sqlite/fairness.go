package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// TakeRateToken refills the bucket for the time since its last take and
// takes one token if there is one, in one UPDATE: every expression in SET
// reads the row as it was, so refilled is computed once from the old state.
func (s *Store) TakeRateToken(ctx context.Context, spaceID string, now time.Time) (store.RateDecision, error) {
	const refilled = `min(per_minute, tokens + max(0, ? - updated_at) * per_minute / 60000.0)`
	var (
		perMinute int
		tokens    float64
		ok        bool
	)
	t := query.Ms(now)
	err := s.write.QueryRowContext(ctx, `UPDATE rate_limits SET
			tokens = CASE WHEN `+refilled+` >= 1 THEN `+refilled+` - 1 ELSE `+refilled+` END,
			last_ok = `+refilled+` >= 1,
			updated_at = max(updated_at, ?)
		WHERE space_id = ? RETURNING per_minute, tokens, last_ok`,
		t, t, t, t, t, spaceID).Scan(&perMinute, &tokens, &ok)
	if errors.Is(err, sql.ErrNoRows) {
		return store.RateDecision{Allowed: true}, nil
	}
	if err != nil {
		return store.RateDecision{}, interpretError(err)
	}
	return store.RateDecisionFrom(ok, perMinute, tokens, now), nil
}
