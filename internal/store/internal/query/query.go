// Package query holds what the SQLite and PostgreSQL drivers of
// store.Store share: the statements whose SQL and scanning are the same in
// both dialects, written once with ? placeholders, and the row scanners.
// Each driver embeds Queries (and its transactions a Tx) and supplies what
// differs: a Conn that rebinds the placeholders and runs them, its error
// mapping and how strings are made storable. Statements that differ
// between the dialects stay in their driver.
package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// Row is one result row, as *sql.Row and pgx.Row read it.
type Row interface{ Scan(dest ...any) error }

// Rows is a result set, as *sql.Rows and pgx.Rows read it.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Conn runs statements written with ? placeholders on one dialect's
// connection, pool or transaction.
type Conn interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Dialect is what the shared statements need to know of a driver.
type Dialect struct {
	// Text makes a string storable in a TEXT column (PostgreSQL refuses
	// NUL and invalid UTF-8; SQLite keeps them as they are).
	Text func(string) string
	// Err maps the driver's errors onto store.ErrNotFound and
	// store.ErrConflict; it leaves other errors, and mapped ones, alone.
	Err func(error) error
	// ForUpdate is appended to a SELECT whose row a transaction then
	// rewrites: " FOR UPDATE" where concurrent writers must be kept out
	// (PostgreSQL), "" where the single writer already does (SQLite).
	ForUpdate string
	// Schema renders the shared migrations for this dialect.
	Schema Schema
}

// MapErr is the error mapping of both drivers (their Dialect.Err): noRows,
// the driver's own "no row" error, is store.ErrNotFound, and an error that
// conflict says is a constraint violation is store.ErrConflict with the
// driver's message; nil and other errors are left alone.
func MapErr(err, noRows error, conflict func(error) (msg string, ok bool)) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, noRows) {
		return store.ErrNotFound
	}
	if msg, ok := conflict(err); ok {
		return fmt.Errorf("%w: %s", store.ErrConflict, msg)
	}
	return err
}

// Queries runs the shared statements of a store.
type Queries struct {
	d           *Dialect
	read, write Conn
	begin       func(ctx context.Context, fn func(Conn) error) error
}

// New makes the shared part of a store: reads go to read, writes (and
// reads that must see them) to write, and begin runs fn in a transaction,
// committed when fn returns nil, with errors mapped by d.Err.
func New(d *Dialect, read, write Conn, begin func(ctx context.Context, fn func(Conn) error) error) Queries {
	return Queries{d: d, read: read, write: write, begin: begin}
}

// Tx runs the shared statements of a store transaction.
type Tx struct {
	d *Dialect
	c Conn
}

// NewTx makes the shared part of a transaction on c.
func NewTx(d *Dialect, c Conn) Tx { return Tx{d: d, c: c} }

// tx is the store's own statements as a Tx on c.
func (db *Queries) tx(c Conn) Tx { return Tx{d: db.d, c: c} }

// Ms is a time as the tables keep it: unix milliseconds.
func Ms(t time.Time) int64 { return t.UnixMilli() }

// FromMs reads a time kept as unix milliseconds.
func FromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// FromNullMs reads a nullable time kept as unix milliseconds.
func FromNullMs(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := FromMs(*v)
	return &t
}

// NullMs is a nullable time as the tables keep it.
func NullMs(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// MustAffect maps a statement that changed no row to store.ErrNotFound.
func (d *Dialect) MustAffect(n int64, err error) error {
	if err != nil {
		return d.Err(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// count returns how many rows a statement changed.
func (d *Dialect) count(n int64, err error) (int64, error) {
	if err != nil {
		return 0, d.Err(err)
	}
	return n, nil
}

// List runs a query on c and scans every row with scan.
func List[T any](ctx context.Context, d *Dialect, c Conn, scan func(Row) (*T, error), sql string, args ...any) ([]*T, error) {
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		return nil, d.Err(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, d.Err(err)
		}
		out = append(out, v)
	}
	return out, d.Err(rows.Err())
}

// one maps the error of a scanned row.
func one[T any](d *Dialect, v *T, err error) (*T, error) {
	if err != nil {
		return nil, d.Err(err)
	}
	return v, nil
}

// getIn reads the row of table whose id is id within space spaceID, with
// scan reading cols.
func getIn[T any](ctx context.Context, db *Queries, scan func(Row) (*T, error), cols, table, spaceID, id string) (*T, error) {
	v, err := scan(db.read.QueryRow(ctx, `SELECT `+cols+` FROM `+table+` WHERE space_id = ? AND id = ?`, spaceID, id))
	return one(db.d, v, err)
}

// findAny reads the row of table whose id is id, in whichever space, with
// scan reading cols.
func findAny[T any](ctx context.Context, db *Queries, scan func(Row) (*T, error), cols, table, id string) (*T, error) {
	v, err := scan(db.read.QueryRow(ctx, `SELECT `+cols+` FROM `+table+` WHERE id = ?`, id))
	return one(db.d, v, err)
}
