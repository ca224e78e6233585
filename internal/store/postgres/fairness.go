package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
)

func (s *Store) SetRateLimit(ctx context.Context, spaceID string, perMinute int) error {
	if perMinute <= 0 {
		_, err := s.pool.Exec(ctx, `DELETE FROM rate_limits WHERE space_id = $1`, spaceID)
		return interpretError(err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO rate_limits (space_id, per_minute, tokens, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (space_id) DO UPDATE SET per_minute = excluded.per_minute, tokens = excluded.tokens, updated_at = excluded.updated_at`,
		spaceID, perMinute, float64(perMinute), ms(time.Now()))
	return interpretError(err)
}

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
		ms(now), spaceID).Scan(&perMinute, &tokens, &ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.RateDecision{Allowed: true}, nil
	}
	if err != nil {
		return store.RateDecision{}, interpretError(err)
	}
	return store.RateDecisionFrom(ok, perMinute, tokens, now), nil
}

func (s *Store) GetRateLimit(ctx context.Context, spaceID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT per_minute FROM rate_limits WHERE space_id = $1`, spaceID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, interpretError(err)
}

func (t *tx) CountQueuedRenders(ctx context.Context, spaceID string, upTo int) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM renders WHERE space_id = $1 AND status = $2 LIMIT $3) q`,
		spaceID, store.RenderQueued, upTo).Scan(&n)
	return n, interpretError(err)
}
