package sqlite

import (
	"context"
	"time"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// TouchToken and GetRenderByBlobKey serve the conformance suite only
// (storetest.Store); nothing in production reads or writes them.

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return dialect.MustAffect(conn{s.write}.Exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, query.Ms(at), id))
}

func (s *Store) GetRenderByBlobKey(ctx context.Context, key string) (*store.Render, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	r, err := query.ScanRender(s.read.QueryRowContext(ctx, `SELECT `+query.RenderCols+` FROM renders WHERE blob_key = ?`, key))
	if err != nil {
		return nil, interpretError(err)
	}
	return r, nil
}
