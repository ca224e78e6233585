package sqlite

import (
	"context"
	"database/sql"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

// tx is the SQLite store.Tx: the shared statements on the transaction.
type tx struct {
	query.Tx
	tx *sql.Tx
}

// QueueTx hands River's riversqlite driver the *sql.Tx.
func (t *tx) QueueTx() store.QueueTx { return store.QueueTx{SQL: t.tx} }

// InTx runs fn in a write transaction.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.inTx(ctx, func(t *sql.Tx) error { return fn(&tx{Tx: query.NewTx(dialect, conn{t}), tx: t}) })
}
