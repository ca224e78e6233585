package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

func (s *Store) SetRateLimit(ctx context.Context, spaceID string, perMinute int) error {
	if perMinute <= 0 {
		_, err := s.write.ExecContext(ctx, `DELETE FROM rate_limits WHERE space_id = ?`, spaceID)
		return interpretError(err)
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO rate_limits (space_id, per_minute, tokens, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (space_id) DO UPDATE SET per_minute = excluded.per_minute, tokens = excluded.tokens, updated_at = excluded.updated_at`,
		spaceID, perMinute, float64(perMinute), ms(time.Now()))
	return interpretError(err)
}

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
	t := ms(now)
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

func (s *Store) GetRateLimit(ctx context.Context, spaceID string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT per_minute FROM rate_limits WHERE space_id = ?`, spaceID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, interpretError(err)
}

func (t *tx) CountQueuedRenders(ctx context.Context, spaceID string, upTo int) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM renders WHERE space_id = ? AND status = ? LIMIT ?)`,
		spaceID, store.RenderQueued, upTo).Scan(&n)
	return n, interpretError(err)
}
