// Package sqlite is the SQLite driver of store.Store, on the pure-Go
// modernc.org/sqlite. It keeps one connection for writes and a small pool
// for reads, in WAL mode, so readers never wait on the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

//go:embed migrations
var migrationFS embed.FS // this dialect's own migrations; the shared ones are in query

// Config configures the SQLite store.
type Config struct {
	// Path is the database file. Its directory is created when missing.
	Path string
	// BusyTimeout is how long a statement waits on a lock; default 10s.
	BusyTimeout time.Duration
}

// Store is the SQLite implementation of store.Store: the statements both
// dialects share (query.Queries) on its two handles, and SQLite's own below.
type Store struct {
	query.Queries
	write *sql.DB // exactly one connection: SQLite has one writer
	read  *sql.DB
}

// dialect is what the shared statements need of SQLite: strings are kept
// as they are, and the single writer serialises read-modify-writes.
var dialect = &query.Dialect{Text: func(s string) string { return s }, Err: interpretError, Schema: query.SQLiteSchema}

var _ store.Store = (*Store)(nil)

// Open opens (creating when missing) the database at cfg.Path.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Path is required")
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database dir: %w", err)
		}
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across process crashes in WAL mode; only an OS
	// crash can lose the last transactions.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_time_format", "sqlite")
	// A file: URI: '%', '?' and '#' in the path are escaped, or SQLite
	// (and the driver, which splits off its own parameters at the first
	// '?') would cut the path there and open another file.
	path := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(cfg.Path)
	dsn := "file:" + path + "?" + q.Encode()

	drv := cachingDriver{d: &sqlite.Driver{}}
	w := sql.OpenDB(connector{dsn: dsn + "&_txlock=immediate", drv: drv})
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r := sql.OpenDB(connector{dsn: dsn, drv: drv})
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	s := &Store{write: w, read: r}
	s.Queries = query.New(dialect, conn{r}, conn{w}, func(ctx context.Context, fn func(query.Conn) error) error {
		return s.inTx(ctx, func(tx *sql.Tx) error { return fn(conn{tx}) })
	})
	if err := w.PingContext(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	return s, nil
}

// DB returns the single-writer handle, for tests that reach into the
// database.
func (s *Store) DB() *sql.DB { return s.write }

// QueueDB hands the job queue the single-writer handle: River's
// riversqlite driver shares the database and its transactions.
func (s *Store) QueueDB() store.QueueDB { return store.QueueDB{SQL: s.write} }

// Close closes both handles.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Migrate applies the embedded migrations in order, each in a transaction.
func (s *Store) Migrate(ctx context.Context) error {
	return s.ApplyMigrations(ctx, migrationFS, func(ctx context.Context, c query.Conn, script string) error {
		_, err := c.Exec(ctx, script) // a script bypasses the statement cache
		return err
	})
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return interpretError(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return interpretError(err)
	}
	return interpretError(tx.Commit())
}

// interpretError maps driver errors onto the store's sentinel errors.
func interpretError(err error) error { return query.MapErr(err, sql.ErrNoRows, conflict) }

// conflict reports a violated constraint (unique, primary key, foreign
// key, or one SQLite does not name), with its message.
func conflict(err error) (string, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return "", false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT:
		return se.Error(), true
	}
	return "", false
}

// conn runs the shared statements on a handle or a transaction; SQLite
// takes their ? placeholders as they are.
type conn struct {
	db interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) query.Row {
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (query.Rows, error) {
	rows, err := c.db.QueryContext(ctx, q, args...) //nolint:sqlclosecheck,rowserrcheck // the caller closes them and checks Err (query.List)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// sqlRows is *sql.Rows as query.Rows (whose Close reports nothing: the
// error that matters is Err's).
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func (s *Store) SwapQueueNode(ctx context.Context, nodeID, clientID string) (string, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return "", interpretError(err)
	}
	defer func() { _ = tx.Rollback() }()
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT client_id FROM queue_nodes WHERE node_id = ?`, nodeID).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", interpretError(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO queue_nodes(node_id, client_id, started_at) VALUES (?, ?, ?)
		ON CONFLICT(node_id) DO UPDATE SET client_id = excluded.client_id, started_at = excluded.started_at`,
		nodeID, clientID, query.Ms(time.Now())); err != nil {
		return "", interpretError(err)
	}
	return prev, interpretError(tx.Commit())
}

func (s *Store) DeleteTemplate(ctx context.Context, spaceID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pages WHERE space_id = ? AND (draft_template_id = ? OR published_template_id = ?)`,
			spaceID, id, id).Scan(&n); err != nil {
			return err
		}
		if err := dialect.MustAffect(conn{tx}.Exec(ctx, `DELETE FROM templates WHERE space_id = ? AND id = ?`, spaceID, id)); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: template is used by %d page(s)", store.ErrConflict, n)
		}
		return nil
	})
}

// ReadDB returns the read pool, for readers that must never wait behind
// (or hold up) the single writer, such as the metrics' job counts.
func (s *Store) ReadDB() *sql.DB { return s.read }
