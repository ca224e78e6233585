// Package sqlite is the SQLite driver of store.Store, on the pure-Go
// modernc.org/sqlite. It keeps one connection for writes and a small pool
// for reads, in WAL mode, so readers never wait on the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/renderhook/renderhook/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures the SQLite store.
type Config struct {
	// Path is the database file. Its directory is created when missing.
	Path string
	// BusyTimeout is how long a statement waits on a lock; default 10s.
	BusyTimeout time.Duration
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	write *sql.DB // exactly one connection: SQLite has one writer
	read  *sql.DB
}

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
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS renderhook_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.up.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad version: %w", base, err)
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", base, err)
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM renderhook_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO renderhook_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				version, base, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
	}
	return nil
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
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		}
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}

func nullMs(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return interpretError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// --- settings ---

func (s *Store) Setting(ctx context.Context, name, value string) (string, error) {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`, name, value); err != nil {
		return "", interpretError(err)
	}
	var v string
	err := s.write.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	return v, interpretError(err)
}

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
		nodeID, clientID, ms(time.Now())); err != nil {
		return "", interpretError(err)
	}
	return prev, interpretError(tx.Commit())
}

// --- spaces ---

func (s *Store) CreateSpace(ctx context.Context, sp *store.Space) error {
	store.FillRenderKeys(sp)
	_, err := s.write.ExecContext(ctx, `INSERT INTO spaces(id, name, credit_limit, credits_used, created_at, webhook_secret,
		render_key, render_secret, get_render_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sp.ID, sp.Name, sp.CreditLimit, sp.CreditsUsed, ms(sp.CreatedAt), sp.WebhookSecret, sp.RenderKey, sp.RenderSecret, sp.GetRenderToken)
	return interpretError(err)
}

const spaceCols = `id, name, credit_limit, credits_used, created_at, webhook_secret, webhook_secret_prev, webhook_secret_rotated_at,
	render_key, render_secret, get_render_token, render_secret_prev, render_secret_prev_until, get_render_token_prev, get_render_token_prev_until`

func scanSpace(row interface{ Scan(...any) error }) (*store.Space, error) {
	var sp store.Space
	var created int64
	var rotated, secretUntil, tokenUntil sql.NullInt64
	if err := row.Scan(&sp.ID, &sp.Name, &sp.CreditLimit, &sp.CreditsUsed, &created, &sp.WebhookSecret, &sp.WebhookSecretPrev, &rotated,
		&sp.RenderKey, &sp.RenderSecret, &sp.GetRenderToken, &sp.RenderSecretPrev, &secretUntil, &sp.GetRenderTokenPrev, &tokenUntil); err != nil {
		return nil, interpretError(err)
	}
	sp.CreatedAt = fromMs(created)
	sp.WebhookSecretRotatedAt = fromNullMs(rotated)
	sp.RenderSecretPrevUntil = fromNullMs(secretUntil)
	sp.GetRenderTokenPrevUntil = fromNullMs(tokenUntil)
	return &sp, nil
}

func (s *Store) GetSpace(ctx context.Context, id string) (*store.Space, error) {
	return scanSpace(s.read.QueryRowContext(ctx, `SELECT `+spaceCols+` FROM spaces WHERE id = ?`, id))
}

func (s *Store) GetSpaceByRenderKey(ctx context.Context, key string) (*store.Space, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return scanSpace(s.read.QueryRowContext(ctx, `SELECT `+spaceCols+` FROM spaces WHERE render_key = ?`, key))
}

func (s *Store) ListSpaces(ctx context.Context) ([]*store.Space, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+spaceCols+` FROM spaces ORDER BY created_at, id`)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.Space
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, interpretError(rows.Err())
}

// --- tokens ---

func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO tokens(id, space_id, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.SpaceID, t.Prefix, t.Hash, ms(t.CreatedAt))
	return interpretError(err)
}

const tokenCols = `id, space_id, prefix, hash, created_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*store.Token, error) {
	var t store.Token
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Prefix, &t.Hash, &created, &used, &revoked); err != nil {
		return nil, interpretError(err)
	}
	t.CreatedAt = fromMs(created)
	t.LastUsedAt = fromNullMs(used)
	t.RevokedAt = fromNullMs(revoked)
	return &t, nil
}

func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	return scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ? AND revoked_at IS NULL`, hash))
}

func (s *Store) ListTokens(ctx context.Context, spaceID string) ([]*store.Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE space_id = ? ORDER BY created_at, id`, spaceID)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, interpretError(rows.Err())
}

func (s *Store) RevokeToken(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE space_id = ? AND id = ? AND revoked_at IS NULL`,
		time.Now().UnixMilli(), spaceID, id))
}

// --- templates ---

func (s *Store) CreateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO templates(id, space_id, name, html, width, height, variables, require_get_render_token, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.SpaceID, t.Name, t.HTML, t.Width, t.Height, string(vars), t.RequireGetRenderToken, ms(t.CreatedAt), ms(t.UpdatedAt))
	return interpretError(err)
}

func nonNilVars(v []store.Variable) []store.Variable {
	if v == nil {
		return []store.Variable{}
	}
	return v
}

const templateCols = `id, space_id, name, html, width, height, variables, require_get_render_token, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (*store.Template, error) {
	var t store.Template
	var vars string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Name, &t.HTML, &t.Width, &t.Height, &vars, &t.RequireGetRenderToken, &created, &updated); err != nil {
		return nil, interpretError(err)
	}
	if err := json.Unmarshal([]byte(vars), &t.Variables); err != nil {
		return nil, fmt.Errorf("decode template variables: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = fromMs(created), fromMs(updated)
	return &t, nil
}

func (s *Store) GetTemplate(ctx context.Context, spaceID, id string) (*store.Template, error) {
	return scanTemplate(s.read.QueryRowContext(ctx, `SELECT `+templateCols+` FROM templates WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) ListTemplates(ctx context.Context, spaceID string) ([]*store.Template, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+templateCols+` FROM templates WHERE space_id = ? ORDER BY created_at, id`, spaceID)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, interpretError(rows.Err())
}

func (s *Store) UpdateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	return mustAffect(s.write.ExecContext(ctx, `UPDATE templates SET name = ?, html = ?, width = ?, height = ?, variables = ?, require_get_render_token = ?, updated_at = ?
		WHERE space_id = ? AND id = ?`,
		t.Name, t.HTML, t.Width, t.Height, string(vars), t.RequireGetRenderToken, ms(t.UpdatedAt), t.SpaceID, t.ID))
}

func (s *Store) DeleteTemplate(ctx context.Context, spaceID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pages WHERE space_id = ? AND (draft_template_id = ? OR published_template_id = ?)`,
			spaceID, id, id).Scan(&n); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE space_id = ? AND id = ?`, spaceID, id)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: template is used by %d page(s)", store.ErrConflict, n)
		}
		return nil
	})
}

// --- pages ---

func (s *Store) CreatePage(ctx context.Context, p *store.Page) error {
	vals, err := json.Marshal(nonNilMap(p.Draft.Values))
	if err != nil {
		return fmt.Errorf("encode values: %w", err)
	}
	// The template must belong to the same space; zero rows inserted means
	// it does not (ErrNotFound).
	return mustAffect(s.write.ExecContext(ctx, `INSERT INTO pages(id, space_id, draft_template_id, draft_name, draft_values, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM templates WHERE space_id = ? AND id = ?)`,
		p.ID, p.SpaceID, p.Draft.TemplateID, p.Draft.Name, string(vals), ms(p.CreatedAt), ms(p.UpdatedAt), p.SpaceID, p.Draft.TemplateID))
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

const pageCols = `id, space_id, draft_template_id, draft_name, draft_values, published_template_id, published_name, published_values, published_at, created_at, updated_at`

func scanPage(row interface{ Scan(...any) error }) (*store.Page, error) {
	var p store.Page
	var dvals string
	var ptpl, pname, pvals sql.NullString
	var pat sql.NullInt64
	var created, updated int64
	if err := row.Scan(&p.ID, &p.SpaceID, &p.Draft.TemplateID, &p.Draft.Name, &dvals, &ptpl, &pname, &pvals, &pat, &created, &updated); err != nil {
		return nil, interpretError(err)
	}
	if err := json.Unmarshal([]byte(dvals), &p.Draft.Values); err != nil {
		return nil, fmt.Errorf("decode page values: %w", err)
	}
	if ptpl.Valid {
		p.Published = &store.PageVersion{TemplateID: ptpl.String, Name: pname.String}
		if err := json.Unmarshal([]byte(pvals.String), &p.Published.Values); err != nil {
			return nil, fmt.Errorf("decode published values: %w", err)
		}
	}
	p.PublishedAt = fromNullMs(pat)
	p.CreatedAt, p.UpdatedAt = fromMs(created), fromMs(updated)
	return &p, nil
}

func (s *Store) GetPage(ctx context.Context, spaceID, id string) (*store.Page, error) {
	return scanPage(s.read.QueryRowContext(ctx, `SELECT `+pageCols+` FROM pages WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) FindPage(ctx context.Context, id string) (*store.Page, error) {
	return scanPage(s.read.QueryRowContext(ctx, `SELECT `+pageCols+` FROM pages WHERE id = ?`, id))
}

func (s *Store) ListPages(ctx context.Context, spaceID string) ([]*store.Page, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+pageCols+` FROM pages WHERE space_id = ? ORDER BY created_at, id`, spaceID)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.Page
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, interpretError(rows.Err())
}

func (s *Store) UpdatePageDraft(ctx context.Context, p *store.Page) error {
	vals, err := json.Marshal(nonNilMap(p.Draft.Values))
	if err != nil {
		return fmt.Errorf("encode values: %w", err)
	}
	return mustAffect(s.write.ExecContext(ctx, `UPDATE pages SET draft_template_id = ?, draft_name = ?, draft_values = ?, updated_at = ?
		WHERE space_id = ? AND id = ? AND EXISTS (SELECT 1 FROM templates WHERE space_id = ? AND id = ?)`,
		p.Draft.TemplateID, p.Draft.Name, string(vals), ms(p.UpdatedAt), p.SpaceID, p.ID, p.SpaceID, p.Draft.TemplateID))
}

func (s *Store) PublishPage(ctx context.Context, spaceID, id string, at time.Time) (*store.Page, error) {
	if err := mustAffect(s.write.ExecContext(ctx, `UPDATE pages SET published_template_id = draft_template_id, published_name = draft_name,
		published_values = draft_values, published_at = ?, updated_at = ? WHERE space_id = ? AND id = ?`, ms(at), ms(at), spaceID, id)); err != nil {
		return nil, err
	}
	return scanPage(s.write.QueryRowContext(ctx, `SELECT `+pageCols+` FROM pages WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) DeletePage(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.write.ExecContext(ctx, `DELETE FROM pages WHERE space_id = ? AND id = ?`, spaceID, id))
}

// --- renders ---

func (s *Store) CreateRender(ctx context.Context, r *store.Render) error {
	return createRender(ctx, s.write, r)
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func createRender(ctx context.Context, db execer, r *store.Render) error {
	_, err := db.ExecContext(ctx, `INSERT INTO renders(id, space_id, request_id, page_id, template_id, format, status, width, height, size,
		blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at,
		cache_key, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.SpaceID, r.RequestID, r.PageID, r.TemplateID, r.Format, r.Status, r.Width, r.Height, r.Size,
		r.BlobKey, r.ContentType, r.Error, r.QueueMs, r.RenderMs, r.TotalMs, ms(r.CreatedAt), nullMs(r.StoredAt),
		r.Options, r.WebhookURL, nullMs(r.StartedAt), nullMs(r.EndedAt), r.CacheKey, r.Metadata)
	return interpretError(err)
}

const renderCols = `id, space_id, request_id, page_id, template_id, format, status, width, height, size, blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at, cache_key, metadata`

func scanRender(row interface{ Scan(...any) error }) (*store.Render, error) {
	var r store.Render
	var created int64
	var stored, started, ended sql.NullInt64
	if err := row.Scan(&r.ID, &r.SpaceID, &r.RequestID, &r.PageID, &r.TemplateID, &r.Format, &r.Status, &r.Width, &r.Height, &r.Size,
		&r.BlobKey, &r.ContentType, &r.Error, &r.QueueMs, &r.RenderMs, &r.TotalMs, &created, &stored,
		&r.Options, &r.WebhookURL, &started, &ended, &r.CacheKey, &r.Metadata); err != nil {
		return nil, interpretError(err)
	}
	r.CreatedAt = fromMs(created)
	r.StoredAt = fromNullMs(stored)
	r.StartedAt, r.EndedAt = fromNullMs(started), fromNullMs(ended)
	return &r, nil
}

func (s *Store) GetRender(ctx context.Context, spaceID, id string) (*store.Render, error) {
	return scanRender(s.read.QueryRowContext(ctx, `SELECT `+renderCols+` FROM renders WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) FindCachedRender(ctx context.Context, spaceID, cacheKey string, since time.Time) (*store.Render, error) {
	if cacheKey == "" {
		return nil, store.ErrNotFound
	}
	return scanRender(s.read.QueryRowContext(ctx, `SELECT `+renderCols+` FROM renders
		WHERE space_id = ? AND cache_key = ? AND status = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1`,
		spaceID, cacheKey, store.RenderSucceeded, ms(since)))
}
