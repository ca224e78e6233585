package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

func (s *Store) SetWebhookSecret(ctx context.Context, spaceID, secret, prev string, rotatedAt *time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE spaces SET webhook_secret = ?, webhook_secret_prev = ?, webhook_secret_rotated_at = ? WHERE id = ?`,
		secret, prev, nullMs(rotatedAt), spaceID))
}

func updateRender(ctx context.Context, db execer, r *store.Render) error {
	res, err := db.ExecContext(ctx, `UPDATE renders SET status = ?, width = ?, height = ?, size = ?, blob_key = ?, content_type = ?, error = ?,
		queue_ms = ?, render_ms = ?, total_ms = ?, stored_at = ?, started_at = ?, ended_at = ? WHERE id = ?`,
		r.Status, r.Width, r.Height, r.Size, r.BlobKey, r.ContentType, r.Error, r.QueueMs, r.RenderMs, r.TotalMs,
		nullMs(r.StoredAt), nullMs(r.StartedAt), nullMs(r.EndedAt), r.ID)
	return mustAffect(res, err)
}

func (t *tx) UpdateRender(ctx context.Context, r *store.Render) error {
	return updateRender(ctx, t.tx, r)
}

func (t *tx) SetLogCallbacks(ctx context.Context, renderID string, m map[string]store.CallbackState) error {
	b, err := json.Marshal(nonNilCallbacks(m))
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `UPDATE request_logs SET callbacks = ?, callback_status = ? WHERE render_id = ? AND NOT cache_hit`,
		string(b), store.OverallCallbackStatus(m), renderID)
	return interpretError(err)
}

func (t *tx) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	return createDelivery(ctx, t.tx, d)
}

func (s *Store) MarkRenderStarted(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE renders SET status = ?, started_at = ? WHERE id = ? AND status IN (?, ?)`,
		store.RenderRendering, ms(at), id, store.RenderQueued, store.RenderRendering))
}

// --- endpoints ---

const endpointCols = `id, space_id, url, description, events, enabled, disabled_reason, secret, secret_prev, secret_rotated_at, failing_since, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var rotated, failing sql.NullInt64
	var created, updated int64
	if err := row.Scan(&e.ID, &e.SpaceID, &e.URL, &e.Description, &events, &e.Enabled, &e.DisabledReason, &e.Secret, &e.SecretPrev,
		&rotated, &failing, &created, &updated); err != nil {
		return nil, interpretError(err)
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	e.SecretRotatedAt, e.FailingSince = fromNullMs(rotated), fromNullMs(failing)
	e.CreatedAt, e.UpdatedAt = fromMs(created), fromMs(updated)
	return &e, nil
}

func eventsJSON(ev []string) string {
	if ev == nil {
		ev = []string{}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO webhook_endpoints(id, space_id, url, description, events, enabled, disabled_reason, secret,
		secret_prev, secret_rotated_at, failing_since, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.SpaceID, e.URL, e.Description, eventsJSON(e.Events), e.Enabled, e.DisabledReason, e.Secret, e.SecretPrev,
		nullMs(e.SecretRotatedAt), nullMs(e.FailingSince), ms(e.CreatedAt), ms(e.UpdatedAt))
	return interpretError(err)
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	return scanEndpoint(s.read.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) FindWebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	return scanEndpoint(s.read.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = ?`, id))
}

func (s *Store) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return listEndpoints(ctx, s.read, spaceID)
}

func (t *tx) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return listEndpoints(ctx, t.tx, spaceID)
}

func listEndpoints(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, spaceID string) ([]*store.WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE space_id = ? ORDER BY created_at, id`, spaceID)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, interpretError(rows.Err())
}

func (s *Store) PatchWebhookEndpoint(ctx context.Context, spaceID, id string, p store.EndpointPatch) (*store.WebhookEndpoint, error) {
	set, args := []string{"updated_at = ?"}, []any{ms(p.At)}
	if p.URL != nil {
		set, args = append(set, "url = ?"), append(args, *p.URL)
	}
	if p.Description != nil {
		set, args = append(set, "description = ?"), append(args, *p.Description)
	}
	if p.Events != nil {
		set, args = append(set, "events = ?"), append(args, eventsJSON(*p.Events))
	}
	switch {
	case p.Enabled == nil:
	case *p.Enabled:
		set = append(set, "enabled = true", "disabled_reason = ''", "failing_since = NULL")
	default:
		// CASE reads the stored row: a reason already there (a 410) stays.
		set = append(set, "disabled_reason = CASE WHEN enabled THEN ? ELSE disabled_reason END", "enabled = false")
		args = append(args, p.DisabledReason)
	}
	args = append(args, spaceID, id)
	return scanEndpoint(s.write.QueryRowContext(ctx, `UPDATE webhook_endpoints SET `+strings.Join(set, ", ")+
		` WHERE space_id = ? AND id = ? RETURNING `+endpointCols, args...))
}

func (s *Store) RotateWebhookEndpointSecret(ctx context.Context, spaceID, id, old, secret string, at time.Time) (*store.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.write.QueryRowContext(ctx, `UPDATE webhook_endpoints SET secret_prev = secret, secret = ?, secret_rotated_at = ?,
		updated_at = ? WHERE space_id = ? AND id = ? AND secret = ? RETURNING `+endpointCols, secret, ms(at), ms(at), spaceID, id, old))
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.GetWebhookEndpoint(ctx, spaceID, id); gerr == nil {
			return nil, store.ErrConflict
		}
	}
	return e, err
}

func (s *Store) SetWebhookEndpointHealth(ctx context.Context, id string, h store.EndpointHealth) (bool, error) {
	var query string
	var args []any
	switch {
	case h.OK:
		query = `UPDATE webhook_endpoints SET failing_since = NULL, updated_at = ? WHERE id = ? AND failing_since IS NOT NULL`
		args = []any{ms(h.At), id}
	case h.DisableReason == "":
		query = `UPDATE webhook_endpoints SET failing_since = ?, updated_at = ? WHERE id = ? AND failing_since IS NULL AND enabled`
		args = []any{ms(h.At), ms(h.At), id}
	case h.FailingBefore == nil:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled`
		args = []any{h.DisableReason, ms(h.At), id}
	default:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = ?, updated_at = ?
			WHERE id = ? AND enabled AND failing_since IS NOT NULL AND failing_since <= ?`
		args = []any{h.DisableReason, ms(h.At), id, ms(*h.FailingBefore)}
	}
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return false, interpretError(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (s *Store) DeleteWebhookEndpoint(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.write.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE space_id = ? AND id = ?`, spaceID, id))
}

// --- deliveries ---

func createDelivery(ctx context.Context, db execer, d *store.Delivery) error {
	att, err := json.Marshal(nonNilAttempts(d.Attempts))
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_deliveries(id, space_id, endpoint_id, url, event, render_id, payload, status, attempts,
		attempt_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.SpaceID, d.EndpointID, d.URL, d.Event, d.RenderID, string(d.Payload), d.Status, string(att), len(d.Attempts),
		ms(d.CreatedAt), ms(d.UpdatedAt))
	return interpretError(err)
}

func nonNilAttempts(a []store.DeliveryAttempt) []store.DeliveryAttempt {
	if a == nil {
		return []store.DeliveryAttempt{}
	}
	return a
}

func (s *Store) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	return createDelivery(ctx, s.write, d)
}

const deliveryCols = `id, space_id, endpoint_id, url, event, render_id, payload, status, attempts, created_at, updated_at`

func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (*store.Delivery, error) {
	var d store.Delivery
	var payload, attempts string
	var created, updated int64
	dest := append([]any{&d.ID, &d.SpaceID, &d.EndpointID, &d.URL, &d.Event, &d.RenderID, &payload, &d.Status, &attempts,
		&created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, interpretError(err)
	}
	d.Payload = []byte(payload)
	if err := json.Unmarshal([]byte(attempts), &d.Attempts); err != nil {
		return nil, fmt.Errorf("decode attempts: %w", err)
	}
	d.CreatedAt, d.UpdatedAt = fromMs(created), fromMs(updated)
	return &d, nil
}

func (s *Store) GetDelivery(ctx context.Context, spaceID, id string) (*store.Delivery, error) {
	return scanDelivery(s.read.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE space_id = ? AND id = ?`, spaceID, id))
}

func (s *Store) FindDeliveryToSend(ctx context.Context, id string) (*store.Delivery, store.RenderFile, error) {
	var f store.RenderFile
	d, err := scanDelivery(s.read.QueryRowContext(ctx, `SELECT `+deliveryCols+`,
		COALESCE((SELECT r.blob_key FROM renders r WHERE r.id = webhook_deliveries.render_id), ''),
		EXISTS (SELECT 1 FROM renders r WHERE r.id = webhook_deliveries.render_id AND r.stored_at IS NOT NULL)
		FROM webhook_deliveries WHERE id = ?`, id), &f.Key, &f.Stored)
	if err != nil {
		return nil, store.RenderFile{}, err
	}
	return d, f, nil
}

func (s *Store) ListDeliveries(ctx context.Context, p store.ListDeliveriesParams) ([]*store.Delivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE space_id = ?`
	args := []any{p.SpaceID}
	if p.RenderID != "" {
		q += ` AND render_id = ?`
		args = append(args, p.RenderID)
	}
	if p.EndpointID != "" {
		q += ` AND endpoint_id = ?`
		args = append(args, p.EndpointID)
	}
	if p.Status != "" {
		q += ` AND status = ?`
		args = append(args, p.Status)
	}
	if p.After != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, ms(p.After.CreatedAt), ms(p.After.CreatedAt), p.After.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, max(1, p.Limit))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	var out []*store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, interpretError(rows.Err())
}

// recordAttemptSQL appends an attempt with json_insert's '$[#]', in
// place: no read-modify-write.
const recordAttemptSQL = `UPDATE webhook_deliveries SET attempts = json_insert(attempts, '$[#]', json(?)),
	attempt_count = attempt_count + 1, status = ?, updated_at = ? WHERE id = ?`

// RecordDeliveryAttempts runs the attempts' UPDATEs in one transaction on
// the single write connection: one commit for the lot.
func (s *Store) RecordDeliveryAttempts(ctx context.Context, recs []store.AttemptRecord) ([]bool, error) {
	found := make([]bool, len(recs))
	if len(recs) == 0 {
		return found, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range recs {
			one, err := json.Marshal(r.Attempt)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, recordAttemptSQL, string(one), r.Status, ms(r.Attempt.At), r.DeliveryID)
			if err != nil {
				return interpretError(err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			found[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

func (s *Store) SetDeliveryStatus(ctx context.Context, id, status string) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, updated_at = ? WHERE id = ?`,
		status, time.Now().UnixMilli(), id))
}

func (s *Store) RotateRenderSecret(ctx context.Context, spaceID, secret string, prevUntil time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE spaces SET render_secret_prev = render_secret, render_secret_prev_until = ?, render_secret = ? WHERE id = ?`,
		ms(prevUntil), secret, spaceID))
}

func (s *Store) RotateGetRenderToken(ctx context.Context, spaceID, token string, prevUntil time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, `UPDATE spaces SET get_render_token_prev = get_render_token, get_render_token_prev_until = ?, get_render_token = ? WHERE id = ?`,
		ms(prevUntil), token, spaceID))
}
