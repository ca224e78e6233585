package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// database/sql does not cache prepared statements, and modernc's driver
// compiles every query it is given afresh: profiles showed SQLite's parser
// taking about 45% of the CPU of a webhook delivery (our queries and
// River's). This driver wrapper keeps a bounded per-connection cache of
// prepared statements, keyed by SQL text, and runs single-statement
// queries through it. Multi-statement scripts (migrations) bypass it.

// stmtCacheSize bounds the statements kept per connection.
const stmtCacheSize = 256

// cachingDriver wraps modernc's driver.
type cachingDriver struct{ d *sqlite.Driver }

func (c cachingDriver) Open(name string) (driver.Conn, error) {
	conn, err := c.d.Open(name)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn), nil
}

// connector lets sql.OpenDB use the wrapper with a fixed DSN.
type connector struct {
	dsn string
	drv cachingDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// The interfaces modernc's connection implements that database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

type cachingConn struct {
	driver.Conn
	inner innerConn
	mu    sync.Mutex
	lru   *list.List // of *cachedStmt, most recent first
	byKey map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	// busy is set while rows read from stmt are open: the same query run
	// again before they are closed (say, inside the loop) gets its own
	// statement rather than resetting this one under the reader.
	busy bool
}

func newCachingConn(c driver.Conn) driver.Conn {
	inner, ok := c.(innerConn)
	if !ok {
		return c // a driver without the context interfaces: no cache
	}
	return &cachingConn{Conn: c, inner: inner, lru: list.New(), byKey: map[string]*list.Element{}}
}

// cacheable reports whether query is one statement (a trailing semicolon
// allowed): preparing a script would compile only its first statement.
func cacheable(query string) bool {
	q := strings.TrimRight(strings.TrimSpace(query), "; \n\t")
	return !strings.Contains(q, ";")
}

func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[query]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cachedStmt), nil
	}
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byKey[query] = c.lru.PushFront(cs)
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		c.lru.Remove(old)
		ev := old.Value.(*cachedStmt)
		delete(c.byKey, ev.query)
		if !ev.busy {
			_ = ev.stmt.Close()
		} // a busy one is closed by its rows
	}
	return cs, nil
}

// viaCache runs query on its cached statement (cached), or on the
// connection itself (direct) when it is not cacheable or its statement is
// busy with rows still open.
func viaCache[T any](ctx context.Context, c *cachingConn, query string, direct func() (T, error), cached func(*cachedStmt) (T, error)) (T, error) {
	if !cacheable(query) {
		return direct()
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		var zero T
		return zero, err
	}
	if cs.busy {
		return direct()
	}
	return cached(cs)
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return viaCache(ctx, c, query, func() (driver.Result, error) { return c.inner.ExecContext(ctx, query, args) },
		func(cs *cachedStmt) (driver.Result, error) {
			return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
		})
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return viaCache(ctx, c, query, func() (driver.Rows, error) { return c.inner.QueryContext(ctx, query, args) }, func(cs *cachedStmt) (driver.Rows, error) {
		rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil {
			return nil, err
		}
		cs.busy = true // until its rows close
		return &cachedRows{Rows: rows, c: c, cs: cs}, nil
	})
}

// cachedRows frees its statement for reuse when closed.
type cachedRows struct {
	driver.Rows
	c  *cachingConn
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.c.mu.Lock()
	r.cs.busy = false
	if _, cached := r.c.byKey[r.cs.query]; !cached || r.c.byKey[r.cs.query].Value.(*cachedStmt) != r.cs {
		_ = r.cs.stmt.Close() // evicted while we read
	}
	r.c.mu.Unlock()
	return err
}

// PrepareContext serves explicit Prepare calls from the cache too; the
// statement handed out must not be closed by its user, so wrap it.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if !cacheable(query) {
		return c.inner.PrepareContext(ctx, query)
	}
	// Explicit prepares get their own statement: their lifetime is the
	// caller's, which the cache cannot see.
	return c.inner.PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	c.byKey = map[string]*list.Element{}
	c.mu.Unlock()
	return errors.Join(append(errs, c.inner.Close())...)
}

// ResetSession and IsValid forward to the connection when it has them.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue keeps the driver's own argument conversions.
func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
