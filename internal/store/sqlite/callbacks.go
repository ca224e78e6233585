package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// tx is the SQLite store.Tx.
type tx struct{ tx *sql.Tx }

func (t *tx) CreateRender(ctx context.Context, r *store.Render) error {
	return createRender(ctx, t.tx, r)
}

func (t *tx) SpoolRender(ctx context.Context, renderID string, data []byte, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO render_spool(render_id, data, created_at) VALUES (?, ?, ?)`, renderID, data, ms(at))
	return interpretError(err)
}

func (t *tx) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	return createRequestLog(ctx, t.tx, l)
}

// QueueTx hands River's riversqlite driver the *sql.Tx.
func (t *tx) QueueTx() store.QueueTx { return store.QueueTx{SQL: t.tx} }

// InTx runs fn in a write transaction.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.inTx(ctx, func(t *sql.Tx) error { return fn(&tx{t}) })
}

func (s *Store) FindRender(ctx context.Context, id string) (*store.Render, error) {
	return scanRender(s.read.QueryRowContext(ctx, `SELECT `+renderCols+` FROM renders WHERE id = ?`, id))
}

func (s *Store) GetSpool(ctx context.Context, renderID string) ([]byte, error) {
	var data []byte
	err := s.read.QueryRowContext(ctx, `SELECT data FROM render_spool WHERE render_id = ?`, renderID).Scan(&data)
	return data, interpretError(err)
}

func (s *Store) MarkRenderStored(ctx context.Context, renderID string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE renders SET stored_at = COALESCE(stored_at, ?) WHERE id = ?`, ms(at), renderID)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM render_spool WHERE render_id = ?`, renderID)
		return err
	})
}

// --- request logs ---

func createRequestLog(ctx context.Context, db execer, l *store.RequestLog) error {
	cbs, err := json.Marshal(nonNilCallbacks(l.Callbacks))
	if err != nil {
		return fmt.Errorf("encode callbacks: %w", err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO request_logs(id, space_id, created_at, method, path, query, body, status, duration_ms,
		token_prefix, render_id, format, size, file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.SpaceID, ms(l.CreatedAt), l.Method, l.Path, l.Query, l.Body, l.Status, l.DurationMs,
		l.TokenPrefix, l.RenderID, l.Format, l.Size, l.FileKey, l.QueueMs, l.RenderMs, l.TotalMs, l.ErrorCode, l.Error,
		nonEmpty(l.CallbackStatus, store.CallbackNone), string(cbs), l.CacheHit)
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
	return createRequestLog(ctx, s.write, l)
}

const logCols = `id, space_id, created_at, method, path, query, body, status, duration_ms, token_prefix, render_id, format, size,
	file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit`

func scanLog(row interface{ Scan(...any) error }) (*store.RequestLog, error) {
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
	return scanLog(s.read.QueryRowContext(ctx, `SELECT `+logCols+` FROM request_logs WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) ListRequestLogs(ctx context.Context, p store.ListLogsParams) ([]*store.RequestLog, error) {
	q := `SELECT ` + logCols + ` FROM request_logs WHERE space_id = ?`
	args := []any{p.SpaceID}
	if p.After != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, ms(p.After.CreatedAt), ms(p.After.CreatedAt), p.After.ID)
	}
	if p.StatusMin > 0 {
		q += ` AND status >= ?`
		args = append(args, p.StatusMin)
	}
	if p.StatusMax > 0 {
		q += ` AND status <= ?`
		args = append(args, p.StatusMax)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, max(1, p.Limit))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.RequestLog
	for rows.Next() {
		l, err := scanLog(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, interpretError(rows.Err())
}

func (s *Store) AttachLogFile(ctx context.Context, renderID, fileKey string) error {
	_, err := s.write.ExecContext(ctx, `UPDATE request_logs SET file_key = ? WHERE render_id = ? AND NOT cache_hit`, fileKey, renderID)
	return interpretError(err)
}

func (s *Store) SetCallbackState(ctx context.Context, renderID, callback string, st store.CallbackState) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var id, cbs string
		err := tx.QueryRowContext(ctx, `SELECT id, callbacks FROM request_logs WHERE render_id = ? AND NOT cache_hit`, renderID).Scan(&id, &cbs)
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
		_, err = tx.ExecContext(ctx, `UPDATE request_logs SET callbacks = ?, callback_status = ? WHERE id = ?`,
			string(out), store.OverallCallbackStatus(m), id)
		return err
	})
}

func (s *Store) DeleteRequestLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM request_logs WHERE created_at < ?`, ms(t))
	if err != nil {
		return 0, interpretError(err)
	}
	return res.RowsAffected()
}

// countExec runs a statement and returns how many rows it changed.
func (s *Store) countExec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, interpretError(err)
	}
	return res.RowsAffected()
}

func (s *Store) ScrubRendersBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `UPDATE renders SET options = '', webhook_url = '', metadata = ''
		WHERE created_at < ? AND (options <> '' OR webhook_url <> '' OR metadata <> '')`, ms(t))
}

func (s *Store) DeleteSpoolBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `DELETE FROM render_spool WHERE created_at < ?`, ms(t))
}

func (s *Store) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.countExec(ctx, `DELETE FROM webhook_deliveries WHERE created_at < ? AND updated_at < ?`, ms(t), ms(t))
}

// --- credits ---

func (s *Store) AddCredit(ctx context.Context, spaceID, renderID string, amount int64, at time.Time) (bool, error) {
	added := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO credit_ledger(render_id, space_id, amount, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(render_id) DO NOTHING`, renderID, spaceID, amount, ms(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		added = true
		if _, err := tx.ExecContext(ctx, `UPDATE renders SET billed_at = ? WHERE id = ?`, ms(at), renderID); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, `UPDATE spaces SET credits_used = credits_used + ? WHERE id = ?`, amount, spaceID))
	})
	return added, err
}

func (s *Store) CreditStatus(ctx context.Context, spaceID string) (store.CreditStatus, error) {
	var c store.CreditStatus
	err := s.read.QueryRowContext(ctx, `SELECT credit_limit, credits_used,
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status <> 'failed' AND billed_at IS NULL)
		FROM spaces WHERE id = ?`, spaceID).Scan(&c.Limit, &c.Used, &c.Pending)
	return c, interpretError(err)
}

func (s *Store) Usage(ctx context.Context, spaceID string) (store.Usage, error) {
	var u store.Usage
	err := s.read.QueryRowContext(ctx, `SELECT credits_used, credit_limit,
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'succeeded'),
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'failed')
		FROM spaces WHERE id = ?`, spaceID).Scan(&u.CreditsUsed, &u.CreditLimit, &u.Succeeded, &u.Failed)
	return u, interpretError(err)
}
