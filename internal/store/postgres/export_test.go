package postgres

import (
	"context"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// TouchToken and GetRenderByBlobKey serve the conformance suite only
// (storetest.Store); nothing in production reads or writes them.

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, ms(at), id))
}

func (s *Store) GetRenderByBlobKey(ctx context.Context, key string) (*store.Render, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return scanRender(s.pool.QueryRow(ctx, `SELECT `+renderCols+` FROM renders WHERE blob_key = $1`, key))
}
