package sqlite

import (
	"context"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// TouchToken and GetRenderByBlobKey serve the conformance suite only
// (storetest.Store); nothing in production reads or writes them.

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ms(at), id))
}

func (s *Store) GetRenderByBlobKey(ctx context.Context, key string) (*store.Render, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return scanRender(s.read.QueryRowContext(ctx, `SELECT `+renderCols+` FROM renders WHERE blob_key = ?`, key))
}
