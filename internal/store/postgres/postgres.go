// Package postgres is the PostgreSQL driver of store.Store, on pgx/v5 and a
// pgxpool. It keeps the SQLite driver's tables and columns (times as unix
// milliseconds, JSON as TEXT) so both dialects behave alike; what differs
// is only what PostgreSQL needs: $n placeholders, BYTEA, RETURNING, row
// locks where SQLite relied on its single writer, and an advisory lock so
// that several nodes starting at once migrate one at a time.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/internal/query"
)

//go:embed migrations
var migrationFS embed.FS // this dialect's own migrations; the shared ones are in query

// Config configures the PostgreSQL store.
type Config struct {
	// URL is the connection string: postgres://user:pass@host:port/db?…
	// or libpq's key=value form. A search_path parameter (one schema name)
	// puts renderhook's and River's tables in that schema, which Migrate
	// creates when missing.
	URL string
	// MaxConns bounds the pool; default the URL's pool_max_conns, else
	// max(30, 8 × CPUs): the delivery workers (delivery.DefaultWorkers,
	// hundreds) each hold one only for a query at a time. River keeps one
	// connection for LISTEN and uses a few more for its maintenance.
	MaxConns int32
}

// Store is the PostgreSQL implementation of store.Store: the statements
// both dialects share (query.Queries) on its pool, and PostgreSQL's own
// below.
type Store struct {
	query.Queries
	pool   *pgxpool.Pool
	schema string // from search_path, "" for the server's default
}

var _ store.Store = (*Store)(nil)

// schemaRE is what Migrate agrees to create from a search_path.
var schemaRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,62}$`)

// Open connects to the database at cfg.URL and checks it answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: URL is required")
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	// The URL's pool_max_conns, when given, holds unless MaxConns is set.
	switch {
	case cfg.MaxConns > 0:
		pc.MaxConns = cfg.MaxConns
	case !strings.Contains(cfg.URL, "pool_max_conns"):
		pc.MaxConns = int32(min(max(30, 8*runtime.NumCPU()), math.MaxInt32)) //nolint:gosec // G115: clamped just before
	}
	s := &Store{}
	if sp, ok := pc.ConnConfig.RuntimeParams["search_path"]; ok {
		sp = strings.TrimSpace(sp)
		if !schemaRE.MatchString(sp) {
			return nil, fmt.Errorf("postgres: search_path %q: want one schema name (letters, digits, _)", sp)
		}
		s.schema = sp
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s.pool = pool
	c := conn{pool}
	s.Queries = query.New(dialect, c, c, func(ctx context.Context, fn func(query.Conn) error) error {
		return s.inTx(ctx, func(tx pgx.Tx) error { return fn(conn{tx}) })
	})
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return s, nil
}

// Pool returns the connection pool, for tests that reach into the
// database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// QueueDB hands the job queue the pool (River's riverpgxv5 driver shares
// the database and its transactions) and the migration lock.
func (s *Store) QueueDB() store.QueueDB {
	return store.QueueDB{Pgx: s.pool, MigrationLock: s.WithMigrationLock}
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// migrationLock is the advisory lock key every node takes while migrating,
// renderhook's tables and River's alike.
const migrationLock int64 = 0x72656e6465726877 // "renderhw"

// WithMigrationLock runs fn while holding the migration lock (a session
// advisory lock on a connection of its own), so nodes starting at once
// migrate one after the other. The job queue runs River's migrations
// under it too; they cannot share one transaction (a new enum value must
// be committed before it is used).
func (s *Store) WithMigrationLock(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			// A lock that cannot be released dies with its connection.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn(ctx)
}

// Migrate applies the embedded migrations in order, each in a transaction,
// holding the migration lock.
func (s *Store) Migrate(ctx context.Context) error {
	if s.schema != "" {
		if _, err := s.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil &&
			!isCode(err, "23505", "42P06") { // two nodes creating it at once
			return fmt.Errorf("create schema %s: %w", s.schema, err)
		}
	}
	return s.WithMigrationLock(ctx, s.migrate)
}

func (s *Store) migrate(ctx context.Context) error {
	return s.ApplyMigrations(ctx, migrationFS, func(ctx context.Context, c query.Conn, script string) error {
		// The simple protocol runs a multi-statement file in one go, its
		// text as written (no placeholders to rebind).
		_, err := c.(conn).q.Exec(ctx, script, pgx.QueryExecModeSimpleProtocol)
		return err
	})
}

func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return interpretError(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return interpretError(err)
	}
	return interpretError(tx.Commit(ctx))
}

// interpretError maps driver errors onto the store's sentinel errors.
func interpretError(err error) error { return query.MapErr(err, pgx.ErrNoRows, conflict) }

// conflict reports a unique or foreign-key violation, with its message.
func conflict(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "23503") { // unique_violation, foreign_key_violation
		return pe.Message, true
	}
	return "", false
}

func isCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}

// dialect is what the shared statements need of PostgreSQL: strings made
// storable, and row locks where a transaction rewrites what it read.
var dialect = &query.Dialect{Text: text, Err: interpretError, ForUpdate: " FOR UPDATE", Schema: query.PostgresSchema}

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn runs the shared statements on the pool or a transaction, their ?
// placeholders rebound to PostgreSQL's $n.
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, bind(q), args...)
	return tag.RowsAffected(), err
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) query.Row {
	return c.q.QueryRow(ctx, bind(q), args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (query.Rows, error) {
	rows, err := c.q.Query(ctx, bind(q), args...) //nolint:sqlclosecheck // the caller closes them (query.List)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// bound caches bind's results: the shared statements are few and fixed,
// apart from the filters of a listing, which are few in combination.
var bound sync.Map // string -> string

// bind numbers the ? placeholders of q ($1, $2, …), outside quoted text.
func bind(q string) string {
	if v, ok := bound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	bound.Store(q, b.String())
	return b.String()
}

// text makes s storable in a TEXT column. PostgreSQL refuses NUL bytes and
// invalid UTF-8, which SQLite keeps; both can reach the store from request
// paths, bodies and template sources, and refusing them would fail the
// whole transaction a render is recorded in. They become U+FFFD.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func (s *Store) SwapQueueNode(ctx context.Context, nodeID, clientID string) (string, error) {
	var prev *string
	err := s.pool.QueryRow(ctx, `WITH prev AS (SELECT client_id FROM queue_nodes WHERE node_id = $1)
		INSERT INTO queue_nodes(node_id, client_id, started_at) VALUES ($1, $2, $3)
		ON CONFLICT(node_id) DO UPDATE SET client_id = excluded.client_id, started_at = excluded.started_at
		RETURNING (SELECT client_id FROM prev)`, text(nodeID), text(clientID), query.Ms(time.Now())).Scan(&prev)
	if err != nil {
		return "", interpretError(err)
	}
	if prev == nil {
		return "", nil
	}
	return *prev, nil
}

func (s *Store) DeleteTemplate(ctx context.Context, spaceID, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pages WHERE space_id = $1 AND (draft_template_id = $2 OR published_template_id = $2)`,
			spaceID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			// Pages only use templates of their own space, so the
			// template is this space's.
			return fmt.Errorf("%w: template is used by %d page(s)", store.ErrConflict, n)
		}
		// A page created since the count makes the foreign key refuse the
		// delete: ErrConflict too.
		return dialect.MustAffect(conn{tx}.Exec(ctx, `DELETE FROM templates WHERE space_id = ? AND id = ?`, spaceID, id))
	})
}
