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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renderhook/renderhook/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

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

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
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
		pc.MaxConns = int32(max(30, 8*runtime.NumCPU()))
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
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return s, nil
}

// Pool returns the connection pool, for components (such as the job
// queue) that must share the database and its transactions.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema is the schema named by the URL's search_path, or "".
func (s *Store) Schema() string { return s.schema }

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
	if _, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS renderhook_migrations (
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
		if err := s.inTx(ctx, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM renderhook_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// The simple protocol runs a multi-statement file in one go.
			if _, err := tx.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO renderhook_migrations(version, name, applied_at) VALUES ($1, $2, $3)`,
				version, base, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
	}
	return nil
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
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "23503": // unique_violation, foreign_key_violation
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
		}
	}
	return err
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

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type scanner interface{ Scan(...any) error }

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), sql string, args ...any) ([]*T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, interpretError(rows.Err())
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMs(*v)
	return &t
}

func nullMs(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
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

func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return interpretError(err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// --- settings ---

func (s *Store) Setting(ctx context.Context, name, value string) (string, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings(name, value) VALUES ($1, $2) ON CONFLICT(name) DO NOTHING`, name, text(value)); err != nil {
		return "", interpretError(err)
	}
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	return v, interpretError(err)
}

func (s *Store) SwapQueueNode(ctx context.Context, nodeID, clientID string) (string, error) {
	var prev *string
	err := s.pool.QueryRow(ctx, `WITH prev AS (SELECT client_id FROM queue_nodes WHERE node_id = $1)
		INSERT INTO queue_nodes(node_id, client_id, started_at) VALUES ($1, $2, $3)
		ON CONFLICT(node_id) DO UPDATE SET client_id = excluded.client_id, started_at = excluded.started_at
		RETURNING (SELECT client_id FROM prev)`, text(nodeID), text(clientID), ms(time.Now())).Scan(&prev)
	if err != nil {
		return "", interpretError(err)
	}
	if prev == nil {
		return "", nil
	}
	return *prev, nil
}

// --- spaces ---

func (s *Store) CreateSpace(ctx context.Context, sp *store.Space) error {
	store.FillRenderKeys(sp)
	_, err := s.pool.Exec(ctx, `INSERT INTO spaces(id, name, credit_limit, credits_used, created_at, webhook_secret,
		render_key, render_secret, get_render_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		sp.ID, text(sp.Name), sp.CreditLimit, sp.CreditsUsed, ms(sp.CreatedAt), sp.WebhookSecret, sp.RenderKey, sp.RenderSecret, sp.GetRenderToken)
	return interpretError(err)
}

const spaceCols = `id, name, credit_limit, credits_used, created_at, webhook_secret, webhook_secret_prev, webhook_secret_rotated_at,
	render_key, render_secret, get_render_token, render_secret_prev, render_secret_prev_until, get_render_token_prev, get_render_token_prev_until`

func scanSpace(row scanner) (*store.Space, error) {
	var sp store.Space
	var created int64
	var rotated, secretUntil, tokenUntil *int64
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
	return scanSpace(s.pool.QueryRow(ctx, `SELECT `+spaceCols+` FROM spaces WHERE id = $1`, id))
}

func (s *Store) GetSpaceByRenderKey(ctx context.Context, key string) (*store.Space, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return scanSpace(s.pool.QueryRow(ctx, `SELECT `+spaceCols+` FROM spaces WHERE render_key = $1`, text(key)))
}

func (s *Store) ListSpaces(ctx context.Context) ([]*store.Space, error) {
	return list(ctx, s.pool, scanSpace, `SELECT `+spaceCols+` FROM spaces ORDER BY created_at, id`)
}

// --- tokens ---

func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens(id, space_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.SpaceID, text(t.Prefix), t.Hash, ms(t.CreatedAt))
	return interpretError(err)
}

const tokenCols = `id, space_id, prefix, hash, created_at, last_used_at, revoked_at`

func scanToken(row scanner) (*store.Token, error) {
	var t store.Token
	var created int64
	var used, revoked *int64
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Prefix, &t.Hash, &created, &used, &revoked); err != nil {
		return nil, interpretError(err)
	}
	t.CreatedAt = fromMs(created)
	t.LastUsedAt = fromNullMs(used)
	t.RevokedAt = fromNullMs(revoked)
	return &t, nil
}

func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1 AND revoked_at IS NULL`, hash))
}

func (s *Store) ListTokens(ctx context.Context, spaceID string) ([]*store.Token, error) {
	return list(ctx, s.pool, scanToken, `SELECT `+tokenCols+` FROM tokens WHERE space_id = $1 ORDER BY created_at, id`, spaceID)
}

func (s *Store) RevokeToken(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE space_id = $2 AND id = $3 AND revoked_at IS NULL`,
		time.Now().UnixMilli(), spaceID, id))
}

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, ms(at), id))
}

// --- templates ---

func (s *Store) CreateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO templates(id, space_id, name, html, width, height, variables, require_get_render_token, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, t.SpaceID, text(t.Name), text(t.HTML), t.Width, t.Height, string(vars), t.RequireGetRenderToken, ms(t.CreatedAt), ms(t.UpdatedAt))
	return interpretError(err)
}

func nonNilVars(v []store.Variable) []store.Variable {
	if v == nil {
		return []store.Variable{}
	}
	return v
}

const templateCols = `id, space_id, name, html, width, height, variables, require_get_render_token, created_at, updated_at`

func scanTemplate(row scanner) (*store.Template, error) {
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
	return scanTemplate(s.pool.QueryRow(ctx, `SELECT `+templateCols+` FROM templates WHERE space_id = $1 AND id = $2`, spaceID, id))
}

func (s *Store) ListTemplates(ctx context.Context, spaceID string) ([]*store.Template, error) {
	return list(ctx, s.pool, scanTemplate, `SELECT `+templateCols+` FROM templates WHERE space_id = $1 ORDER BY created_at, id`, spaceID)
}

func (s *Store) UpdateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	return mustAffect(s.pool.Exec(ctx, `UPDATE templates SET name = $1, html = $2, width = $3, height = $4, variables = $5,
		require_get_render_token = $6, updated_at = $7 WHERE space_id = $8 AND id = $9`,
		text(t.Name), text(t.HTML), t.Width, t.Height, string(vars), t.RequireGetRenderToken, ms(t.UpdatedAt), t.SpaceID, t.ID))
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
		return mustAffect(tx.Exec(ctx, `DELETE FROM templates WHERE space_id = $1 AND id = $2`, spaceID, id))
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
	return mustAffect(s.pool.Exec(ctx, `INSERT INTO pages(id, space_id, draft_template_id, draft_name, draft_values, created_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM templates WHERE space_id = $2 AND id = $3)`,
		p.ID, p.SpaceID, p.Draft.TemplateID, text(p.Draft.Name), string(vals), ms(p.CreatedAt), ms(p.UpdatedAt)))
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

const pageCols = `id, space_id, draft_template_id, draft_name, draft_values, published_template_id, published_name, published_values, published_at, created_at, updated_at`

func scanPage(row scanner) (*store.Page, error) {
	var p store.Page
	var dvals string
	var ptpl, pname, pvals *string
	var pat *int64
	var created, updated int64
	if err := row.Scan(&p.ID, &p.SpaceID, &p.Draft.TemplateID, &p.Draft.Name, &dvals, &ptpl, &pname, &pvals, &pat, &created, &updated); err != nil {
		return nil, interpretError(err)
	}
	if err := json.Unmarshal([]byte(dvals), &p.Draft.Values); err != nil {
		return nil, fmt.Errorf("decode page values: %w", err)
	}
	if ptpl != nil {
		p.Published = &store.PageVersion{TemplateID: *ptpl}
		if pname != nil {
			p.Published.Name = *pname
		}
		pv := "{}"
		if pvals != nil {
			pv = *pvals
		}
		if err := json.Unmarshal([]byte(pv), &p.Published.Values); err != nil {
			return nil, fmt.Errorf("decode published values: %w", err)
		}
	}
	p.PublishedAt = fromNullMs(pat)
	p.CreatedAt, p.UpdatedAt = fromMs(created), fromMs(updated)
	return &p, nil
}

func (s *Store) GetPage(ctx context.Context, spaceID, id string) (*store.Page, error) {
	return scanPage(s.pool.QueryRow(ctx, `SELECT `+pageCols+` FROM pages WHERE space_id = $1 AND id = $2`, spaceID, id))
}

func (s *Store) FindPage(ctx context.Context, id string) (*store.Page, error) {
	return scanPage(s.pool.QueryRow(ctx, `SELECT `+pageCols+` FROM pages WHERE id = $1`, id))
}

func (s *Store) ListPages(ctx context.Context, spaceID string) ([]*store.Page, error) {
	return list(ctx, s.pool, scanPage, `SELECT `+pageCols+` FROM pages WHERE space_id = $1 ORDER BY created_at, id`, spaceID)
}

func (s *Store) UpdatePageDraft(ctx context.Context, p *store.Page) error {
	vals, err := json.Marshal(nonNilMap(p.Draft.Values))
	if err != nil {
		return fmt.Errorf("encode values: %w", err)
	}
	return mustAffect(s.pool.Exec(ctx, `UPDATE pages SET draft_template_id = $1, draft_name = $2, draft_values = $3, updated_at = $4
		WHERE space_id = $5 AND id = $6 AND EXISTS (SELECT 1 FROM templates WHERE space_id = $5 AND id = $1)`,
		p.Draft.TemplateID, text(p.Draft.Name), string(vals), ms(p.UpdatedAt), p.SpaceID, p.ID))
}

func (s *Store) PublishPage(ctx context.Context, spaceID, id string, at time.Time) (*store.Page, error) {
	return scanPage(s.pool.QueryRow(ctx, `UPDATE pages SET published_template_id = draft_template_id, published_name = draft_name,
		published_values = draft_values, published_at = $1, updated_at = $1 WHERE space_id = $2 AND id = $3 RETURNING `+pageCols,
		ms(at), spaceID, id))
}

func (s *Store) DeletePage(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.pool.Exec(ctx, `DELETE FROM pages WHERE space_id = $1 AND id = $2`, spaceID, id))
}

// --- renders ---

func (s *Store) CreateRender(ctx context.Context, r *store.Render) error {
	return createRender(ctx, s.pool, r)
}

func createRender(ctx context.Context, q querier, r *store.Render) error {
	_, err := q.Exec(ctx, `INSERT INTO renders(id, space_id, request_id, page_id, template_id, format, status, width, height, size,
		blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at,
		cache_key, metadata)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		r.ID, r.SpaceID, text(r.RequestID), text(r.PageID), text(r.TemplateID), text(r.Format), r.Status, r.Width, r.Height, r.Size,
		text(r.BlobKey), text(r.ContentType), text(r.Error), r.QueueMs, r.RenderMs, r.TotalMs, ms(r.CreatedAt), nullMs(r.StoredAt),
		text(r.Options), text(r.WebhookURL), nullMs(r.StartedAt), nullMs(r.EndedAt), text(r.CacheKey), text(r.Metadata))
	return interpretError(err)
}

const renderCols = `id, space_id, request_id, page_id, template_id, format, status, width, height, size, blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at, cache_key, metadata`

func scanRender(row scanner) (*store.Render, error) {
	var r store.Render
	var created int64
	var stored, started, ended *int64
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
	return scanRender(s.pool.QueryRow(ctx, `SELECT `+renderCols+` FROM renders WHERE space_id = $1 AND id = $2`, spaceID, id))
}

func (s *Store) FindCachedRender(ctx context.Context, spaceID, cacheKey string, since time.Time) (*store.Render, error) {
	if cacheKey == "" {
		return nil, store.ErrNotFound
	}
	return scanRender(s.pool.QueryRow(ctx, `SELECT `+renderCols+` FROM renders
		WHERE space_id = $1 AND cache_key = $2 AND status = $3 AND created_at >= $4 ORDER BY created_at DESC LIMIT 1`,
		spaceID, text(cacheKey), store.RenderSucceeded, ms(since)))
}

func (s *Store) GetRenderByBlobKey(ctx context.Context, key string) (*store.Render, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return scanRender(s.pool.QueryRow(ctx, `SELECT `+renderCols+` FROM renders WHERE blob_key = $1`, key))
}
