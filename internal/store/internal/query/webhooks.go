package query

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// --- endpoints ---

func eventsJSON(ev []string) string {
	if ev == nil {
		ev = []string{}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// CreateWebhookEndpoint implements store.Store.
func (db *Queries) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	text := db.d.Text
	_, err := db.write.Exec(ctx, `INSERT INTO webhook_endpoints(id, space_id, url, description, events, enabled, disabled_reason, secret,
		secret_prev, secret_rotated_at, failing_since, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.SpaceID, text(e.URL), text(e.Description), eventsJSON(e.Events), e.Enabled, text(e.DisabledReason), e.Secret, e.SecretPrev,
		NullMs(e.SecretRotatedAt), NullMs(e.FailingSince), Ms(e.CreatedAt), Ms(e.UpdatedAt))
	return db.d.Err(err)
}

// GetWebhookEndpoint implements store.Store.
func (db *Queries) GetWebhookEndpoint(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	return getIn(ctx, db, ScanEndpoint, EndpointCols, "webhook_endpoints", spaceID, id)
}

// FindWebhookEndpoint implements store.Store.
func (db *Queries) FindWebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	return findAny(ctx, db, ScanEndpoint, EndpointCols, "webhook_endpoints", id)
}

const listEndpointsSQL = `SELECT ` + EndpointCols + ` FROM webhook_endpoints WHERE space_id = ? ORDER BY created_at, id`

// ListWebhookEndpoints implements store.Store.
func (db *Queries) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return List(ctx, db.d, db.read, ScanEndpoint, listEndpointsSQL, spaceID)
}

// ListWebhookEndpoints implements store.Tx.
func (t Tx) ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*store.WebhookEndpoint, error) {
	return List(ctx, t.d, t.c, ScanEndpoint, listEndpointsSQL, spaceID)
}

// PatchWebhookEndpoint implements store.Store: one UPDATE … RETURNING.
func (db *Queries) PatchWebhookEndpoint(ctx context.Context, spaceID, id string, p store.EndpointPatch) (*store.WebhookEndpoint, error) {
	set, args := []string{"updated_at = ?"}, []any{Ms(p.At)}
	if p.URL != nil {
		set, args = append(set, "url = ?"), append(args, db.d.Text(*p.URL))
	}
	if p.Description != nil {
		set, args = append(set, "description = ?"), append(args, db.d.Text(*p.Description))
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
		args = append(args, db.d.Text(p.DisabledReason))
	}
	args = append(args, spaceID, id)
	e, err := ScanEndpoint(db.write.QueryRow(ctx, `UPDATE webhook_endpoints SET `+strings.Join(set, ", ")+
		` WHERE space_id = ? AND id = ? RETURNING `+EndpointCols, args...))
	return one(db.d, e, err)
}

// RotateWebhookEndpointSecret implements store.Store.
func (db *Queries) RotateWebhookEndpointSecret(ctx context.Context, spaceID, id, old, secret string, at time.Time) (*store.WebhookEndpoint, error) {
	e, err := ScanEndpoint(db.write.QueryRow(ctx, `UPDATE webhook_endpoints SET secret_prev = secret, secret = ?, secret_rotated_at = ?,
		updated_at = ? WHERE space_id = ? AND id = ? AND secret = ? RETURNING `+EndpointCols, secret, Ms(at), Ms(at), spaceID, id, old))
	e, err = one(db.d, e, err)
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := db.GetWebhookEndpoint(ctx, spaceID, id); gerr == nil {
			return nil, store.ErrConflict
		}
	}
	return e, err
}

// SetWebhookEndpointHealth implements store.Store.
func (db *Queries) SetWebhookEndpointHealth(ctx context.Context, id string, h store.EndpointHealth) (bool, error) {
	var query string
	var args []any
	switch {
	case h.OK:
		query = `UPDATE webhook_endpoints SET failing_since = NULL, updated_at = ? WHERE id = ? AND failing_since IS NOT NULL`
		args = []any{Ms(h.At), id}
	case h.DisableReason == "":
		query = `UPDATE webhook_endpoints SET failing_since = ?, updated_at = ? WHERE id = ? AND failing_since IS NULL AND enabled`
		args = []any{Ms(h.At), Ms(h.At), id}
	case h.FailingBefore == nil:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled`
		args = []any{h.DisableReason, Ms(h.At), id}
	default:
		query = `UPDATE webhook_endpoints SET enabled = false, disabled_reason = ?, updated_at = ?
			WHERE id = ? AND enabled AND failing_since IS NOT NULL AND failing_since <= ?`
		args = []any{h.DisableReason, Ms(h.At), id, Ms(*h.FailingBefore)}
	}
	n, err := db.d.count(db.write.Exec(ctx, query, args...))
	return n > 0, err
}

// DeleteWebhookEndpoint implements store.Store.
func (db *Queries) DeleteWebhookEndpoint(ctx context.Context, spaceID, id string) error {
	return db.d.MustAffect(db.write.Exec(ctx, `DELETE FROM webhook_endpoints WHERE space_id = ? AND id = ?`, spaceID, id))
}

// --- deliveries ---

func nonNilAttempts(a []store.DeliveryAttempt) []store.DeliveryAttempt {
	if a == nil {
		return []store.DeliveryAttempt{}
	}
	return a
}

// CreateDelivery implements store.Tx.
func (t Tx) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	att, err := json.Marshal(nonNilAttempts(d.Attempts))
	if err != nil {
		return err
	}
	_, err = t.c.Exec(ctx, `INSERT INTO webhook_deliveries(id, space_id, endpoint_id, url, event, render_id, payload, status, attempts,
		attempt_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.SpaceID, d.EndpointID, t.d.Text(d.URL), d.Event, d.RenderID, t.d.Text(string(d.Payload)), d.Status, string(att), len(d.Attempts),
		Ms(d.CreatedAt), Ms(d.UpdatedAt))
	return t.d.Err(err)
}

// CreateDelivery implements store.Store.
func (db *Queries) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	return db.tx(db.write).CreateDelivery(ctx, d)
}

// GetDelivery implements store.Store.
func (db *Queries) GetDelivery(ctx context.Context, spaceID, id string) (*store.Delivery, error) {
	d, err := ScanDelivery(db.read.QueryRow(ctx, `SELECT `+DeliveryCols+` FROM webhook_deliveries WHERE space_id = ? AND id = ?`, spaceID, id))
	return one(db.d, d, err)
}

// FindDeliveryToSend implements store.Store.
func (db *Queries) FindDeliveryToSend(ctx context.Context, id string) (*store.Delivery, store.RenderFile, error) {
	var f store.RenderFile
	d, err := ScanDelivery(db.read.QueryRow(ctx, `SELECT `+DeliveryCols+`,
		COALESCE((SELECT r.blob_key FROM renders r WHERE r.id = webhook_deliveries.render_id), ''),
		EXISTS (SELECT 1 FROM renders r WHERE r.id = webhook_deliveries.render_id AND r.stored_at IS NOT NULL)
		FROM webhook_deliveries WHERE id = ?`, id), &f.Key, &f.Stored)
	if err != nil {
		return nil, store.RenderFile{}, db.d.Err(err)
	}
	return d, f, nil
}

// ListDeliveries implements store.Store.
func (db *Queries) ListDeliveries(ctx context.Context, p store.ListDeliveriesParams) ([]*store.Delivery, error) {
	q := `SELECT ` + DeliveryCols + ` FROM webhook_deliveries WHERE space_id = ?`
	args := []any{p.SpaceID}
	for _, f := range []struct{ col, v string }{{"render_id", p.RenderID}, {"endpoint_id", p.EndpointID}, {"status", p.Status}} {
		if f.v != "" {
			q += ` AND ` + f.col + ` = ?`
			args = append(args, f.v)
		}
	}
	if p.After != nil {
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, Ms(p.After.CreatedAt), Ms(p.After.CreatedAt), p.After.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, max(1, p.Limit))
	return List(ctx, db.d, db.read, func(row Row) (*store.Delivery, error) { return ScanDelivery(row) }, q, args...)
}

// SetDeliveryStatus implements store.Store.
func (db *Queries) SetDeliveryStatus(ctx context.Context, id, status string) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, updated_at = ? WHERE id = ?`,
		status, time.Now().UnixMilli(), id))
}
