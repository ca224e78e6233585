package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// tx is the PostgreSQL store.Tx: the shared statements on the transaction.
type tx struct {
	query.Tx
	tx pgx.Tx
}

// QueueTx hands River's riverpgxv5 driver the pgx.Tx.
func (t *tx) QueueTx() store.QueueTx { return store.QueueTx{Pgx: t.tx} }

// InTx runs fn in one transaction (READ COMMITTED).
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.inTx(ctx, func(t pgx.Tx) error { return fn(&tx{Tx: query.NewTx(dialect, conn{t}), tx: t}) })
}
