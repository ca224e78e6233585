package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renderhook/renderhook/internal/store"
)

func (s *Store) SetWebhookSecret(ctx context.Context, spaceID, secret, prev string, rotatedAt *time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE spaces SET webhook_secret = $1, webhook_secret_prev = $2, webhook_secret_rotated_at = $3 WHERE id = $4`,
		secret, prev, nullMs(rotatedAt), spaceID))
}

func updateRender(ctx context.Context, q querier, r *store.Render) error {
	return mustAffect(q.Exec(ctx, `UPDATE renders SET status = $1, width = $2, height = $3, size = $4, blob_key = $5, content_type = $6, error = $7,
		queue_ms = $8, render_ms = $9, total_ms = $10, stored_at = $11, started_at = $12, ended_at = $13 WHERE id = $14`,
		r.Status, r.Width, r.Height, r.Size, text(r.BlobKey), text(r.ContentType), text(r.Error), r.QueueMs, r.RenderMs, r.TotalMs,
		nullMs(r.StoredAt), nullMs(r.StartedAt), nullMs(r.EndedAt), r.ID))
}

func (t *tx) UpdateRender(ctx context.Context, r *store.Render) error {
	return updateRender(ctx, t.tx, r)
}

func (t *tx) SetLogCallbacks(ctx context.Context, renderID string, m map[string]store.CallbackState) error {
	b, err := json.Marshal(nonNilCallbacks(m))
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `UPDATE request_logs SET callbacks = $1, callback_status = $2 WHERE render_id = $3 AND NOT cache_hit`,
		string(b), store.OverallCallbackStatus(m), renderID)
	return interpretError(err)
}

func (t *tx) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	return createDelivery(ctx, t.tx, d)
}

func (s *Store) MarkRenderStarted(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE renders SET status = $1, started_at = $2 WHERE id = $3 AND status IN ($4, $5)`,
		store.RenderRendering, ms(at), id, store.RenderQueued, store.RenderRendering))
}

// --- endpoints ---

const endpointCols = `id, space_id, url, description, events, enabled, disabled_reason, secret, secret_prev, secret_rotated_at, failing_since, created_at, updated_at`

func scanEndpoint(row scanner) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var rotated, failing *int64
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
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_endpoints(id, space_id, url, description, events, enabled, disabled_reason, secret,
		secret_prev, secret_rotated_at, failing_since, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, e.SpaceID, text(e.URL), text(e.Description), eventsJSON(e.Events), e.Enabled, text(e.DisabledReason), e.Secret, e.SecretPrev,
		nullMs(e.SecretRotatedAt), nullMs(e.FailingSince), ms(e.CreatedAt), ms(e.UpdatedAt))
	return interpretError(err)
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	return scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE space_id = $1 AND id = $2`, spaceID, id))
}

func (s *Store) FindWebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	return scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = $1`, id))
}

func (s *Store) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return list(ctx, s.pool, scanEndpoint, listEndpointsSQL, spaceID)
}

func (t *tx) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return list(ctx, t.tx, scanEndpoint, listEndpointsSQL, spaceID)
}

const listEndpointsSQL = `SELECT ` + endpointCols + ` FROM webhook_endpoints WHERE space_id = $1 ORDER BY created_at, id`

func (s *Store) PatchWebhookEndpoint(ctx context.Context, spaceID, id string, p store.EndpointPatch) (*store.WebhookEndpoint, error) {
	args := []any{ms(p.At)}
	set := []string{"updated_at = $1"}
	arg := func(col string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf(col, len(args)))
	}
	if p.URL != nil {
		arg("url = $%d", text(*p.URL))
	}
	if p.Description != nil {
		arg("description = $%d", text(*p.Description))
	}
	if p.Events != nil {
		arg("events = $%d", eventsJSON(*p.Events))
	}
	switch {
	case p.Enabled == nil:
	case *p.Enabled:
		set = append(set, "enabled = true", "disabled_reason = ''", "failing_since = NULL")
	default:
		// CASE reads the stored row: a reason already there (a 410) stays.
		arg("disabled_reason = CASE WHEN enabled THEN $%d ELSE disabled_reason END", text(p.DisabledReason))
		set = append(set, "enabled = false")
	}
	args = append(args, spaceID, id)
	return scanEndpoint(s.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET `+strings.Join(set, ", ")+
		fmt.Sprintf(` WHERE space_id = $%d AND id = $%d RETURNING `, len(args)-1, len(args))+endpointCols, args...))
}

func (s *Store) RotateWebhookEndpointSecret(ctx context.Context, spaceID, id, old, secret string, at time.Time) (*store.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `UPDATE webhook_endpoints SET secret_prev = secret, secret = $1, secret_rotated_at = $2,
		updated_at = $2 WHERE space_id = $3 AND id = $4 AND secret = $5 RETURNING `+endpointCols, secret, ms(at), spaceID, id, old))
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
		query = `UPDATE webhook_endpoints SET failing_since = NULL, updated_at = $1 WHERE id = $2 AND failing_since IS NOT NULL`
		args = []any{ms(h.At), id}
	case h.DisableReason == "":
		query = `UPDATE webhook_endpoints SET failing_since = $1, updated_at = $2 WHERE id = $3 AND failing_since IS NULL AND enabled`
		args = []any{ms(h.At), ms(h.At), id}
	case h.FailingBefore == nil:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND enabled`
		args = []any{h.DisableReason, ms(h.At), id}
	default:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1, updated_at = $2
			WHERE id = $3 AND enabled AND failing_since IS NOT NULL AND failing_since <= $4`
		args = []any{h.DisableReason, ms(h.At), id, ms(*h.FailingBefore)}
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return false, interpretError(err)
	}
	return tag.RowsAffected() > 0, nil
}

func (s *Store) DeleteWebhookEndpoint(ctx context.Context, spaceID, id string) error {
	return mustAffect(s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE space_id = $1 AND id = $2`, spaceID, id))
}

// --- deliveries ---

func createDelivery(ctx context.Context, q querier, d *store.Delivery) error {
	att, err := json.Marshal(nonNilAttempts(d.Attempts))
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO webhook_deliveries(id, space_id, endpoint_id, url, event, render_id, payload, status, attempts,
		attempt_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, d.SpaceID, d.EndpointID, text(d.URL), d.Event, d.RenderID, text(string(d.Payload)), d.Status, string(att), len(d.Attempts),
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
	return createDelivery(ctx, s.pool, d)
}

const deliveryCols = `id, space_id, endpoint_id, url, event, render_id, payload, status, attempts, created_at, updated_at`

func scanDelivery(row scanner, extra ...any) (*store.Delivery, error) {
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
	return scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE space_id = $1 AND id = $2`, spaceID, id))
}

func (s *Store) FindDeliveryToSend(ctx context.Context, id string) (*store.Delivery, store.RenderFile, error) {
	var f store.RenderFile
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryCols+`,
		COALESCE((SELECT r.blob_key FROM renders r WHERE r.id = webhook_deliveries.render_id), ''),
		EXISTS (SELECT 1 FROM renders r WHERE r.id = webhook_deliveries.render_id AND r.stored_at IS NOT NULL)
		FROM webhook_deliveries WHERE id = $1`, id), &f.Key, &f.Stored)
	if err != nil {
		return nil, store.RenderFile{}, err
	}
	return d, f, nil
}

func (s *Store) ListDeliveries(ctx context.Context, p store.ListDeliveriesParams) ([]*store.Delivery, error) {
	var a args
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE space_id = ` + a.add(p.SpaceID)
	if p.RenderID != "" {
		q += ` AND render_id = ` + a.add(p.RenderID)
	}
	if p.EndpointID != "" {
		q += ` AND endpoint_id = ` + a.add(p.EndpointID)
	}
	if p.Status != "" {
		q += ` AND status = ` + a.add(p.Status)
	}
	if p.After != nil {
		at := a.add(ms(p.After.CreatedAt))
		q += ` AND (created_at < ` + at + ` OR (created_at = ` + at + ` AND id < ` + a.add(p.After.ID) + `))`
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + a.add(max(1, p.Limit))
	return list(ctx, s.pool, func(row scanner) (*store.Delivery, error) { return scanDelivery(row) }, q, a...)
}

// recordAttemptsSQL appends attempts, passed as parallel arrays, to their
// deliveries' JSON arrays in place (no read-modify-write), like SQLite's
// json_insert(attempts, '$[#]', …): the array is TEXT written by
// json.Marshal, so it is compact and ends with ']'. A row joined to two
// attempts would be updated once only (PostgreSQL applies one of an
// UPDATE … FROM's matches), so each statement gets distinct ids.
const recordAttemptsSQL = `UPDATE webhook_deliveries d SET
	attempts = CASE WHEN d.attempts = '[]' THEN '[' || v.one || ']' ELSE left(d.attempts, -1) || ',' || v.one || ']' END,
	attempt_count = d.attempt_count + 1, status = v.status, updated_at = v.at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(id, one, status, at)
	WHERE d.id = v.id
	RETURNING d.id`

func (s *Store) RecordDeliveryAttempts(ctx context.Context, recs []store.AttemptRecord) ([]bool, error) {
	// json.Marshal escapes NUL and replaces invalid UTF-8, so an
	// attempt's text is storable as it is.
	ones := make([]string, len(recs))
	for i, r := range recs {
		one, err := json.Marshal(r.Attempt)
		if err != nil {
			return nil, err
		}
		ones[i] = string(one)
	}
	// Rounds of distinct ids, in order: a delivery's second attempt in
	// the batch goes into the round after its first.
	var rounds [][]int
	round := map[string]int{} // delivery id -> the next round it may join
	for i, r := range recs {
		k := round[r.DeliveryID]
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], i)
		round[r.DeliveryID] = k + 1
	}
	found := make([]bool, len(recs))
	run := func(q querier) error {
		for _, idx := range rounds {
			ids, one, status, at := make([]string, len(idx)), make([]string, len(idx)), make([]string, len(idx)), make([]int64, len(idx))
			for j, i := range idx {
				ids[j], one[j], status[j], at[j] = recs[i].DeliveryID, ones[i], recs[i].Status, ms(recs[i].Attempt.At)
			}
			rows, err := q.Query(ctx, recordAttemptsSQL, ids, one, status, at)
			if err != nil {
				return interpretError(err)
			}
			updated := make(map[string]bool, len(idx))
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return interpretError(err)
				}
				updated[id] = true
			}
			if err := rows.Err(); err != nil {
				return interpretError(err)
			}
			for _, i := range idx {
				found[i] = updated[recs[i].DeliveryID]
			}
		}
		return nil
	}
	var err error
	switch len(rounds) {
	case 0:
	case 1:
		err = run(s.pool) // one statement: atomic on its own
	default:
		err = s.inTx(ctx, func(tx pgx.Tx) error { return run(tx) })
	}
	if err != nil {
		return nil, err
	}
	return found, nil
}

func (s *Store) SetDeliveryStatus(ctx context.Context, id, status string) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, updated_at = $2 WHERE id = $3`,
		status, time.Now().UnixMilli(), id))
}

func (s *Store) RotateRenderSecret(ctx context.Context, spaceID, secret string, prevUntil time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE spaces SET render_secret_prev = render_secret, render_secret_prev_until = $1, render_secret = $2 WHERE id = $3`,
		ms(prevUntil), secret, spaceID))
}

func (s *Store) RotateGetRenderToken(ctx context.Context, spaceID, token string, prevUntil time.Time) error {
	return mustAffect(s.pool.Exec(ctx, `UPDATE spaces SET get_render_token_prev = get_render_token, get_render_token_prev_until = $1, get_render_token = $2 WHERE id = $3`,
		ms(prevUntil), token, spaceID))
}
