package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// --- renders ---

// CreateRender implements store.Tx.
func (t Tx) CreateRender(ctx context.Context, r *store.Render) error {
	text := t.d.Text
	_, err := t.c.Exec(ctx, `INSERT INTO renders(id, space_id, request_id, page_id, template_id, format, status, width, height, size,
		blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at,
		cache_key, metadata, custom_id, skip_webhooks, file_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.SpaceID, text(r.RequestID), text(r.PageID), text(r.TemplateID), text(r.Format), r.Status, r.Width, r.Height, r.Size,
		text(r.BlobKey), text(r.ContentType), text(r.Error), r.QueueMs, r.RenderMs, r.TotalMs, Ms(r.CreatedAt), NullMs(r.StoredAt),
		text(r.Options), text(r.WebhookURL), NullMs(r.StartedAt), NullMs(r.EndedAt), text(r.CacheKey), text(r.Metadata),
		text(r.CustomID), r.SkipWebhooks, text(r.FileURL))
	return t.d.Err(err)
}

// CreateRender implements store.Store.
func (db *Queries) CreateRender(ctx context.Context, r *store.Render) error {
	return db.tx(db.write).CreateRender(ctx, r)
}

// UpdateRender implements store.Tx.
func (t Tx) UpdateRender(ctx context.Context, r *store.Render) error {
	text := t.d.Text
	return t.d.MustAffect(t.c.Exec(ctx, `UPDATE renders SET status = ?, width = ?, height = ?, size = ?, blob_key = ?, content_type = ?, error = ?,
		queue_ms = ?, render_ms = ?, total_ms = ?, stored_at = ?, started_at = ?, ended_at = ?, file_url = ? WHERE id = ?`,
		r.Status, r.Width, r.Height, r.Size, text(r.BlobKey), text(r.ContentType), text(r.Error), r.QueueMs, r.RenderMs, r.TotalMs,
		NullMs(r.StoredAt), NullMs(r.StartedAt), NullMs(r.EndedAt), text(r.FileURL), r.ID))
}

// SpoolRender implements store.Tx.
func (t Tx) SpoolRender(ctx context.Context, renderID string, data []byte, at time.Time) error {
	_, err := t.c.Exec(ctx, `INSERT INTO render_spool(render_id, data, created_at) VALUES (?, ?, ?)`, renderID, data, Ms(at))
	return t.d.Err(err)
}

// CountQueuedRenders implements store.Tx.
func (t Tx) CountQueuedRenders(ctx context.Context, spaceID string, upTo int) (int, error) {
	var n int
	err := t.c.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM renders WHERE space_id = ? AND status = ? LIMIT ?) q`,
		spaceID, store.RenderQueued, upTo).Scan(&n)
	return n, t.d.Err(err)
}

// GetRender implements store.Store.
func (db *Queries) GetRender(ctx context.Context, spaceID, id string) (*store.Render, error) {
	return getIn(ctx, db, ScanRender, RenderCols, "renders", spaceID, id)
}

// FindRender implements store.Store.
func (db *Queries) FindRender(ctx context.Context, id string) (*store.Render, error) {
	return findAny(ctx, db, ScanRender, RenderCols, "renders", id)
}

// FindCachedRender implements store.Store.
func (db *Queries) FindCachedRender(ctx context.Context, spaceID, cacheKey string, since time.Time) (*store.Render, error) {
	if cacheKey == "" {
		return nil, store.ErrNotFound
	}
	r, err := ScanRender(db.read.QueryRow(ctx, `SELECT `+RenderCols+` FROM renders
		WHERE space_id = ? AND cache_key = ? AND status = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1`,
		spaceID, db.d.Text(cacheKey), store.RenderSucceeded, Ms(since)))
	return one(db.d, r, err)
}

// GetSpool implements store.Store.
func (db *Queries) GetSpool(ctx context.Context, renderID string) ([]byte, error) {
	var data []byte
	err := db.read.QueryRow(ctx, `SELECT data FROM render_spool WHERE render_id = ?`, renderID).Scan(&data)
	return data, db.d.Err(err)
}

// MarkRenderStored implements store.Store.
func (db *Queries) MarkRenderStored(ctx context.Context, renderID string, at time.Time) error {
	return db.begin(ctx, func(c Conn) error { return db.tx(c).markStored(ctx, renderID, at) })
}

// markStored records that a render's bytes reached the blob store and
// drops its spooled copy.
func (t Tx) markStored(ctx context.Context, renderID string, at time.Time) error {
	if err := t.d.MustAffect(t.c.Exec(ctx, `UPDATE renders SET stored_at = COALESCE(stored_at, ?) WHERE id = ?`, Ms(at), renderID)); err != nil {
		return err
	}
	_, err := t.c.Exec(ctx, `DELETE FROM render_spool WHERE render_id = ?`, renderID)
	return err
}

// MarkRenderStarted implements store.Store.
func (db *Queries) MarkRenderStarted(ctx context.Context, id string, at time.Time) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE renders SET status = ?, started_at = ? WHERE id = ? AND status IN (?, ?)`,
		store.RenderRendering, Ms(at), id, store.RenderQueued, store.RenderRendering))
}

// MarkRenderDelayed implements store.Store.
func (db *Queries) MarkRenderDelayed(ctx context.Context, id string) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE renders SET status = ? WHERE id = ? AND status = ?`,
		store.RenderQueued, id, store.RenderRendering))
}

// --- request logs ---

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

// CreateRequestLog implements store.Tx.
func (t Tx) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	cbs, err := json.Marshal(nonNilCallbacks(l.Callbacks))
	if err != nil {
		return fmt.Errorf("encode callbacks: %w", err)
	}
	text := t.d.Text
	_, err = t.c.Exec(ctx, `INSERT INTO request_logs(id, space_id, created_at, method, path, query, body, status, duration_ms,
		token_prefix, render_id, format, size, file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit, trace_id, renderer)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.SpaceID, Ms(l.CreatedAt), text(l.Method), text(l.Path), text(l.Query), text(l.Body), l.Status, l.DurationMs,
		text(l.TokenPrefix), text(l.RenderID), text(l.Format), l.Size, text(l.FileKey), l.QueueMs, l.RenderMs, l.TotalMs,
		text(l.ErrorCode), text(l.Error), nonEmpty(l.CallbackStatus, store.CallbackNone), string(cbs), l.CacheHit, text(l.TraceID), text(l.Renderer))
	return t.d.Err(err)
}

// CreateRequestLog implements store.Store.
func (db *Queries) CreateRequestLog(ctx context.Context, l *store.RequestLog) error {
	return db.tx(db.write).CreateRequestLog(ctx, l)
}

// SetLogCallbacks implements store.Tx.
func (t Tx) SetLogCallbacks(ctx context.Context, renderID, renderer string, m map[string]store.CallbackState) error {
	b, err := json.Marshal(nonNilCallbacks(m))
	if err != nil {
		return err
	}
	_, err = t.c.Exec(ctx, `UPDATE request_logs SET callbacks = ?, callback_status = ?, renderer = ? WHERE render_id = ? AND NOT cache_hit`,
		string(b), store.OverallCallbackStatus(m), t.d.Text(renderer), renderID)
	return t.d.Err(err)
}

// GetRequestLog implements store.Store.
func (db *Queries) GetRequestLog(ctx context.Context, spaceID, id string) (*store.RequestLog, error) {
	l, err := ScanLog(db.read.QueryRow(ctx, `SELECT `+LogCols+` FROM request_logs WHERE space_id = ? AND id = ?`, spaceID, id))
	return one(db.d, l, err)
}

// ListRequestLogs implements store.Store.
func (db *Queries) ListRequestLogs(ctx context.Context, p store.ListLogsParams) ([]*store.RequestLog, error) {
	q := `SELECT ` + LogCols + ` FROM request_logs WHERE space_id = ?`
	args := []any{p.SpaceID}
	if p.After != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, Ms(p.After.CreatedAt), Ms(p.After.CreatedAt), p.After.ID)
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
	return List(ctx, db.d, db.read, ScanLog, q, args...)
}

// AttachLogFile implements store.Store.
func (db *Queries) AttachLogFile(ctx context.Context, renderID, fileKey string) error {
	_, err := db.write.Exec(ctx, `UPDATE request_logs SET file_key = ? WHERE render_id = ? AND NOT cache_hit`, db.d.Text(fileKey), renderID)
	return db.d.Err(err)
}

// SetCallbackState implements store.Store.
func (db *Queries) SetCallbackState(ctx context.Context, renderID, callback string, st store.CallbackState) error {
	return db.begin(ctx, func(c Conn) error {
		return db.tx(c).mergeCallbacks(ctx, renderID, map[string]store.CallbackState{callback: st}, false, nil)
	})
}

// mergeCallbacks sets the states m names on the log entry of a render
// (keepSucceeded: except one already succeeded, which stands), recomputes
// its overall status and, with fileKey, attaches the file, in one read and
// one write. ErrNotFound: the render has no log entry.
func (t Tx) mergeCallbacks(ctx context.Context, renderID string, m map[string]store.CallbackState, keepSucceeded bool, fileKey *string) error {
	var id, cbs string
	// The callbacks of one render may run concurrently, and each rewrites
	// the whole map: the row is locked (or the writer is single).
	err := t.c.QueryRow(ctx, `SELECT id, callbacks FROM request_logs WHERE render_id = ? AND NOT cache_hit`+t.d.ForUpdate, renderID).Scan(&id, &cbs)
	if err != nil {
		return t.d.Err(err)
	}
	all := map[string]store.CallbackState{}
	if err := json.Unmarshal([]byte(cbs), &all); err != nil {
		return fmt.Errorf("decode callbacks: %w", err)
	}
	for name, st := range m {
		if keepSucceeded && all[name].State == store.CallbackSucceeded {
			continue
		}
		all[name] = st
	}
	out, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if fileKey != nil {
		_, err = t.c.Exec(ctx, `UPDATE request_logs SET callbacks = ?, callback_status = ?, file_key = ? WHERE id = ?`,
			string(out), store.OverallCallbackStatus(all), t.d.Text(*fileKey), id)
	} else {
		_, err = t.c.Exec(ctx, `UPDATE request_logs SET callbacks = ?, callback_status = ? WHERE id = ?`,
			string(out), store.OverallCallbackStatus(all), id)
	}
	return t.d.Err(err)
}

// RecordFollowUp implements store.Store.
func (db *Queries) RecordFollowUp(ctx context.Context, f store.FollowUp) (bool, error) {
	billed := false
	err := db.begin(ctx, func(c Conn) error {
		t := db.tx(c)
		billed = false
		if f.Credit {
			added, err := t.addCredit(ctx, f.SpaceID, f.RenderID, 1, f.At)
			if err != nil {
				return fmt.Errorf("add credit: %w", err)
			}
			billed = added
		}
		if f.Stored {
			if err := t.markStored(ctx, f.RenderID, f.At); err != nil {
				return fmt.Errorf("mark stored: %w", err)
			}
		}
		var fileKey *string
		if f.AttachFile {
			fileKey = &f.FileKey
		}
		if err := t.mergeCallbacks(ctx, f.RenderID, f.Callbacks, true, fileKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("record callback states: %w", err)
		}
		return nil
	})
	if err != nil {
		billed = false
	}
	return billed, err
}

// --- retention ---

// DeleteRequestLogsBefore implements store.Store.
func (db *Queries) DeleteRequestLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	return db.d.count(db.write.Exec(ctx, `DELETE FROM request_logs WHERE created_at < ?`, Ms(t)))
}

// ScrubRendersBefore implements store.Store.
func (db *Queries) ScrubRendersBefore(ctx context.Context, t time.Time) (int64, error) {
	return db.d.count(db.write.Exec(ctx, `UPDATE renders SET options = '', webhook_url = '', metadata = ''
		WHERE created_at < ? AND (options <> '' OR webhook_url <> '' OR metadata <> '')`, Ms(t)))
}

// DeleteSpoolBefore implements store.Store.
func (db *Queries) DeleteSpoolBefore(ctx context.Context, t time.Time) (int64, error) {
	return db.d.count(db.write.Exec(ctx, `DELETE FROM render_spool WHERE created_at < ?`, Ms(t)))
}

// DeleteDeliveriesBefore implements store.Store.
func (db *Queries) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	return db.d.count(db.write.Exec(ctx, `DELETE FROM webhook_deliveries WHERE created_at < ? AND updated_at < ?`, Ms(t), Ms(t)))
}

// --- credits and rate limits ---

// AddCredit implements store.Store.
func (db *Queries) AddCredit(ctx context.Context, spaceID, renderID string, amount int64, at time.Time) (bool, error) {
	added := false
	err := db.begin(ctx, func(c Conn) error {
		var err error
		added, err = db.tx(c).addCredit(ctx, spaceID, renderID, amount, at)
		return err
	})
	if err != nil {
		added = false
	}
	return added, err
}

// addCredit bills a render once (the ledger's key is its id) and reports
// whether it did now.
func (t Tx) addCredit(ctx context.Context, spaceID, renderID string, amount int64, at time.Time) (bool, error) {
	n, err := t.c.Exec(ctx, `INSERT INTO credit_ledger(render_id, space_id, amount, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(render_id) DO NOTHING`, renderID, spaceID, amount, Ms(at))
	if err != nil || n == 0 {
		return false, t.d.Err(err)
	}
	if _, err := t.c.Exec(ctx, `UPDATE renders SET billed_at = ? WHERE id = ?`, Ms(at), renderID); err != nil {
		return false, t.d.Err(err)
	}
	return true, t.d.MustAffect(t.c.Exec(ctx, `UPDATE spaces SET credits_used = credits_used + ? WHERE id = ?`, amount, spaceID))
}

// CreditStatus implements store.Store.
func (db *Queries) CreditStatus(ctx context.Context, spaceID string) (store.CreditStatus, error) {
	var c store.CreditStatus
	// An unlimited space (credit_limit 0) skips counting what is unbilled:
	// nothing is checked against it, and under load the count is most of
	// the query.
	err := db.read.QueryRow(ctx, `SELECT credit_limit, credits_used,
		CASE WHEN credit_limit > 0 THEN
			(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status <> 'failed' AND billed_at IS NULL)
		ELSE 0 END
		FROM spaces WHERE id = ?`, spaceID).Scan(&c.Limit, &c.Used, &c.Pending)
	return c, db.d.Err(err)
}

// Usage implements store.Store.
func (db *Queries) Usage(ctx context.Context, spaceID string) (store.Usage, error) {
	var u store.Usage
	err := db.read.QueryRow(ctx, `SELECT credits_used, credit_limit,
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'succeeded'),
		(SELECT COUNT(*) FROM renders WHERE space_id = spaces.id AND status = 'failed')
		FROM spaces WHERE id = ?`, spaceID).Scan(&u.CreditsUsed, &u.CreditLimit, &u.Succeeded, &u.Failed)
	return u, db.d.Err(err)
}

// SetRateLimit implements store.Store.
func (db *Queries) SetRateLimit(ctx context.Context, spaceID string, perMinute int) error {
	if perMinute <= 0 {
		_, err := db.write.Exec(ctx, `DELETE FROM rate_limits WHERE space_id = ?`, spaceID)
		return db.d.Err(err)
	}
	_, err := db.write.Exec(ctx, `INSERT INTO rate_limits (space_id, per_minute, tokens, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (space_id) DO UPDATE SET per_minute = excluded.per_minute, tokens = excluded.tokens, updated_at = excluded.updated_at`,
		spaceID, perMinute, float64(perMinute), Ms(time.Now()))
	return db.d.Err(err)
}

// GetRateLimit implements store.Store.
func (db *Queries) GetRateLimit(ctx context.Context, spaceID string) (int, error) {
	var n int
	err := db.d.Err(db.read.QueryRow(ctx, `SELECT per_minute FROM rate_limits WHERE space_id = ?`, spaceID).Scan(&n))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// --- a space's own bucket ---

// PutSpaceStorage implements store.Store.
func (db *Queries) PutSpaceStorage(ctx context.Context, s *store.SpaceStorage) error {
	text := db.d.Text
	_, err := db.write.Exec(ctx, `INSERT INTO space_storage(space_id, bucket, endpoint, region, force_path_style, access_key, secret_sealed, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (space_id) DO UPDATE SET bucket = excluded.bucket, endpoint = excluded.endpoint, region = excluded.region,
		force_path_style = excluded.force_path_style, access_key = excluded.access_key, secret_sealed = excluded.secret_sealed,
		updated_at = excluded.updated_at`,
		s.SpaceID, text(s.Bucket), text(s.Endpoint), text(s.Region), s.ForcePathStyle, text(s.AccessKey), text(s.SecretSealed), Ms(s.UpdatedAt))
	return db.d.Err(err)
}

// GetSpaceStorage implements store.Store.
func (db *Queries) GetSpaceStorage(ctx context.Context, spaceID string) (*store.SpaceStorage, error) {
	s, err := ScanSpaceStorage(db.read.QueryRow(ctx, `SELECT `+SpaceStorageCols+` FROM space_storage WHERE space_id = ?`, spaceID))
	return one(db.d, s, err)
}

// DeleteSpaceStorage implements store.Store.
func (db *Queries) DeleteSpaceStorage(ctx context.Context, spaceID string) error {
	_, err := db.write.Exec(ctx, `DELETE FROM space_storage WHERE space_id = ?`, spaceID)
	return db.d.Err(err)
}

// ListSpaceStorage implements store.Store.
func (db *Queries) ListSpaceStorage(ctx context.Context) ([]*store.SpaceStorage, error) {
	return List(ctx, db.d, db.read, ScanSpaceStorage, `SELECT `+SpaceStorageCols+` FROM space_storage ORDER BY space_id`)
}
