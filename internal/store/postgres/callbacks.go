package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
)

// tx is the PostgreSQL store.Tx.
type tx struct{ tx pgx.Tx }

func (t *tx) CreateRender(ctx context.Context, r *store.Render) error {
	return createRender(ctx, t.tx, r)
}

func (t *tx) SpoolRender(ctx context.Context, renderID string, data []byte, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO render_spool(render_id, data, created_at) VALUES ($1, $2, $3)`, renderID, data, ms(at))
	return interpretError(err)
}

func (t *tx) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	return createRequestLog(ctx, t.tx, l)
}

// QueueTx hands River's riverpgxv5 driver the pgx.Tx.
func (t *tx) QueueTx() store.QueueTx { return store.QueueTx{Pgx: t.tx} }

// InTx runs fn in one transaction (READ COMMITTED).
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.inTx(ctx, func(t pgx.Tx) error { return fn(&tx{t}) })
}

func (s *Store) FindRender(ctx context.Context, id string) (*store.Render, error) {
	return scanRender(s.pool.QueryRow(ctx, `SELECT `+renderCols+` FROM renders WHERE id = $1`, id))
}

func (s *Store) GetSpool(ctx context.Context, renderID string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM render_spool WHERE render_id = $1`, renderID).Scan(&data)
	return data, interpretError(err)
}

func (s *Store) MarkRenderStored(ctx context.Context, renderID string, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE renders SET stored_at = COALESCE(stored_at, $1) WHERE id = $2`, ms(at), renderID)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM render_spool WHERE render_id = $1`, renderID)
		return err
	})
}

// --- request logs ---

func createRequestLog(ctx context.Context, q querier, l *store.RequestLog) error {
	cbs, err := json.Marshal(nonNilCallbacks(l.Callbacks))
	if err != nil {
		return fmt.Errorf("encode callbacks: %w", err)
	}
	_, err = q.Exec(ctx, `INSERT INTO request_logs(id, space_id, created_at, method, path, query, body, status, duration_ms,
		token_prefix, render_id, format, size, file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		l.ID, l.SpaceID, ms(l.CreatedAt), text(l.Method), text(l.Path), text(l.Query), text(l.Body), l.Status, l.DurationMs,
		text(l.TokenPrefix), text(l.RenderID), text(l.Format), l.Size, text(l.FileKey), l.QueueMs, l.RenderMs, l.TotalMs,
		text(l.ErrorCode), text(l.Error), nonEmpty(l.CallbackStatus, store.CallbackNone), string(cbs), l.CacheHit)
	return interpretError(err)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNilCallbacks(m map[string]store.CallbackState) map[string]store.CallbackState {
	if m == nil {
		return map[string]store.CallbackState{}
	}
	return m
}

func (s *Store) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	return createRequestLog(ctx, s.pool, l)
}

const logCols = `id, space_id, created_at, method, path, query, body, status, duration_ms, token_prefix, render_id, format, size,
	file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit`

func scanLog(row scanner) (*store.RequestLog, error) {
	var l store.RequestLog
	var created int64
	var cbs string
	if err := row.Scan(&l.ID, &l.SpaceID, &created, &l.Method, &l.Path, &l.Query, &l.Body, &l.Status, &l.DurationMs,
		&l.TokenPrefix, &l.RenderID, &l.Format, &l.Size, &l.FileKey, &l.QueueMs, &l.RenderMs, &l.TotalMs,
		&l.ErrorCode, &l.Error, &l.CallbackStatus, &cbs, &l.CacheHit); err != nil {
		return nil, interpretError(err)
	}
	l.CreatedAt = fromMs(created)
	if err := json.Unmarshal([]byte(cbs), &l.Callbacks); err != nil {
		return nil, fmt.Errorf("decode callbacks: %w", err)
	}
	return &l, nil
}

func (s *Store) GetRequestLog(ctx context.Context, spaceID, id string) (*store.RequestLog, error) {
	return scanLog(s.pool.QueryRow(ctx, `SELECT `+logCols+` FROM request_logs WHERE space_id = $1 AND id = $2`, spaceID, id))
}

// args numbers query arguments as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

func (s *Store) ListRequestLogs(ctx context.Context, p store.ListLogsParams) ([]*store.RequestLog, error) {
	var a args
	q := `SELECT ` + logCols + ` FROM request_logs WHERE space_id = ` + a.add(p.SpaceID)
	if p.After != nil {
		at := a.add(ms(p.After.CreatedAt))
		q += ` AND (created_at < ` + at + ` OR (created_at = ` + at + ` AND id < ` + a.add(p.After.ID) + `))`
	}
	if p.StatusMin > 0 {
		q += ` AND status >= ` + a.add(p.StatusMin)
	}
	if p.StatusMax > 0 {
		q += ` AND status <= ` + a.add(p.StatusMax)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + a.add(max(1, p.Limit))
	return list(ctx, s.pool, scanLog, q, a...)
}

func (s *Store) AttachLogFile(ctx context.Context, renderID, fileKey string) error {
	_, err := s.pool.Exec(ctx, `UPDATE request_logs SET file_key = $1 WHERE render_id = $2 AND NOT cache_hit`, text(fileKey), renderID)
	return interpretError(err)
}

func (s *Store) SetCallbackState(ctx context.Context, renderID, callback string, st store.CallbackState) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id, cbs string
		// FOR UPDATE: the callbacks of one render run concurrently, and
		// each rewrites the whole map.
		err := tx.QueryRow(ctx, `SELECT id, callbacks FROM request_logs WHERE render_id = $1 AND NOT cache_hit FOR UPDATE`, renderID).Scan(&id, &cbs)
		if err != nil {
			return err
		}
		m := map[string]store.CallbackState{}
		if err := json.Unmarshal([]byte(cbs), &m); err != nil {
			return fmt.Errorf("decode callbacks: %w", err)
		}
		m[callback] = st
		out, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE request_logs SET callbacks = $1, callback_status = $2 WHERE id = $3`,
			string(out), store.OverallCallbackStatus(m), id)
		return err
	})
}

func (s *Store) DeleteRequestLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM request_logs WHERE created_at < $1`, ms(t))
	if err != nil {
		return 0, interpretError(err)
	}
	return tag.RowsAffected(), nil
}

// countExec runs a statement and returns how many rows it changed.
func (s *Store) countExec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, interpretError(err)
	}
	return tag.RowsAffected(), nil
}

func (s *Store) ScrubRendersBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `UPDATE renders SET options = '', webhook_url = '', metadata = ''
		WHERE created_at < $1 AND (options <> '' OR webhook_url <> '' OR metadata <> '')`, ms(t))
}

func (s *Store) DeleteSpoolBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `DELETE FROM render_spool WHERE created_at < $1`, ms(t))
}

func (s *Store) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `DELETE FROM webhook_deliveries WHERE created_at < $1 AND updated_at < $1`, ms(t))
}

// --- credits ---

func (s *Store) AddCredit(ctx context.Context, spaceID, renderID string, amount int64, at time.Time) (bool, error) {
	added := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO credit_ledger(render_id, space_id, amount, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT(render_id) DO NOTHING`, renderID, spaceID, amount, ms(at))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		added = true
		if _, err := tx.Exec(ctx, `UPDATE renders SET billed_at = $1 WHERE id = $2`, ms(at), renderID); err != nil {
			return err
		}
		return mustAffect(tx.Exec(ctx, `UPDATE spaces SET credits_used = credits_used + $1 WHERE id = $2`, amount, spaceID))
	})
	if err != nil {
		added = false
	}
	return added, err
}

func (s *Store) CreditStatus(ctx context.Context, spaceID string) (store.CreditStatus, error) {
	var c store.CreditStatus
	err := s.pool.QueryRow(ctx, `SELECT credit_limit, credits_used,
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status <> 'failed' AND billed_at IS NULL)
		FROM spaces WHERE id = $1`, spaceID).Scan(&c.Limit, &c.Used, &c.Pending)
	return c, interpretError(err)
}

func (s *Store) Usage(ctx context.Context, spaceID string) (store.Usage, error) {
	var u store.Usage
	err := s.pool.QueryRow(ctx, `SELECT credits_used, credit_limit,
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'succeeded'),
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'failed')
		FROM spaces WHERE id = $1`, spaceID).Scan(&u.CreditsUsed, &u.CreditLimit, &u.Succeeded, &u.Failed)
	return u, interpretError(err)
}
