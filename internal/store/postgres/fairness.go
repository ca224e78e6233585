package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// TakeRateToken refills the bucket for the time since its last take and
// takes one token if there is one, in one UPDATE. The row lock the UPDATE
// takes serialises concurrent takes of one space across nodes, and every
// SET expression reads the row as it was before this take.
func (s *Store) TakeRateToken(ctx context.Context, spaceID string, now time.Time) (store.RateDecision, error) {
	const refilled = `LEAST(per_minute, tokens + GREATEST(0, $1::bigint - updated_at) * per_minute / 60000.0)`
	var (
		perMinute int
		tokens    float64
		ok        bool
	)
	err := s.pool.QueryRow(ctx, `UPDATE rate_limits SET
			tokens = CASE WHEN `+refilled+` >= 1 THEN `+refilled+` - 1 ELSE `+refilled+` END,
			last_ok = `+refilled+` >= 1,
			updated_at = GREATEST(updated_at, $1::bigint)
		WHERE space_id = $2 RETURNING per_minute, tokens, last_ok`,
		query.Ms(now), spaceID).Scan(&perMinute, &tokens, &ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.RateDecision{Allowed: true}, nil
	}
	if err != nil {
		return store.RateDecision{}, interpretError(err)
	}
	return store.RateDecisionFrom(ok, perMinute, tokens, now), nil
}
