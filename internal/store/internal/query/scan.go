package query

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// The columns each scanner reads, in its order.
const (
	SpaceCols = `id, name, credit_limit, credits_used, created_at, webhook_secret, webhook_secret_prev, webhook_secret_rotated_at,
	render_key, render_secret, get_render_token, render_secret_prev, render_secret_prev_until, get_render_token_prev, get_render_token_prev_until`
	TokenCols        = `id, space_id, prefix, hash, created_at, last_used_at, revoked_at` //nolint:gosec // G101: column names, no credential
	TemplateCols     = `id, space_id, name, html, width, height, variables, require_get_render_token, render_type, created_at, updated_at`
	PageCols         = `id, space_id, draft_template_id, draft_name, draft_values, published_template_id, published_name, published_values, published_at, created_at, updated_at`
	RenderCols       = `id, space_id, request_id, page_id, template_id, format, status, width, height, size, blob_key, content_type, error, queue_ms, render_ms, total_ms, created_at, stored_at, options, webhook_url, started_at, ended_at, cache_key, metadata, custom_id, skip_webhooks, file_url`
	SpaceStorageCols = `space_id, bucket, endpoint, region, force_path_style, access_key, secret_sealed, updated_at`
	LogCols          = `id, space_id, created_at, method, path, query, body, status, duration_ms, token_prefix, render_id, format, size,
	file_key, queue_ms, render_ms, total_ms, error_code, error, callback_status, callbacks, cache_hit, trace_id, renderer`
	EndpointCols = `id, space_id, url, description, events, enabled, disabled_reason, secret, secret_prev, secret_rotated_at, failing_since, created_at, updated_at`
	DeliveryCols = `id, space_id, endpoint_id, url, event, render_id, payload, status, attempts, created_at, updated_at`
)

// ScanSpace reads SpaceCols.
func ScanSpace(row Row) (*store.Space, error) {
	var sp store.Space
	if err := row.Scan(&sp.ID, &sp.Name, &sp.CreditLimit, &sp.CreditsUsed, ms(&sp.CreatedAt), &sp.WebhookSecret, &sp.WebhookSecretPrev, nullMs(&sp.WebhookSecretRotatedAt),
		&sp.RenderKey, &sp.RenderSecret, &sp.GetRenderToken, &sp.RenderSecretPrev, nullMs(&sp.RenderSecretPrevUntil), &sp.GetRenderTokenPrev, nullMs(&sp.GetRenderTokenPrevUntil)); err != nil {
		return nil, err
	}
	return &sp, nil
}

// ScanToken reads TokenCols.
func ScanToken(row Row) (*store.Token, error) {
	var t store.Token
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Prefix, &t.Hash, ms(&t.CreatedAt), nullMs(&t.LastUsedAt), nullMs(&t.RevokedAt)); err != nil {
		return nil, err
	}
	return &t, nil
}

// ScanTemplate reads TemplateCols.
func ScanTemplate(row Row) (*store.Template, error) {
	var t store.Template
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Name, &t.HTML, &t.Width, &t.Height, jsonText("template variables", &t.Variables),
		&t.RequireGetRenderToken, &t.RenderType, ms(&t.CreatedAt), ms(&t.UpdatedAt)); err != nil {
		return nil, err
	}
	return &t, nil
}

// ScanPage reads PageCols.
func ScanPage(row Row) (*store.Page, error) {
	var p store.Page
	var ptpl, pname, pvals *string
	if err := row.Scan(&p.ID, &p.SpaceID, &p.Draft.TemplateID, &p.Draft.Name, jsonText("page values", &p.Draft.Values), &ptpl, &pname, &pvals,
		nullMs(&p.PublishedAt), ms(&p.CreatedAt), ms(&p.UpdatedAt)); err != nil {
		return nil, err
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
	return &p, nil
}

// ScanRender reads RenderCols.
func ScanRender(row Row) (*store.Render, error) {
	var r store.Render
	if err := row.Scan(&r.ID, &r.SpaceID, &r.RequestID, &r.PageID, &r.TemplateID, &r.Format, &r.Status, &r.Width, &r.Height, &r.Size,
		&r.BlobKey, &r.ContentType, &r.Error, &r.QueueMs, &r.RenderMs, &r.TotalMs, ms(&r.CreatedAt), nullMs(&r.StoredAt),
		&r.Options, &r.WebhookURL, nullMs(&r.StartedAt), nullMs(&r.EndedAt), &r.CacheKey, &r.Metadata, &r.CustomID, &r.SkipWebhooks, &r.FileURL); err != nil {
		return nil, err
	}
	return &r, nil
}

// ScanSpaceStorage reads SpaceStorageCols.
func ScanSpaceStorage(row Row) (*store.SpaceStorage, error) {
	var s store.SpaceStorage
	if err := row.Scan(&s.SpaceID, &s.Bucket, &s.Endpoint, &s.Region, &s.ForcePathStyle, &s.AccessKey, &s.SecretSealed, ms(&s.UpdatedAt)); err != nil {
		return nil, err
	}
	return &s, nil
}

// ScanLog reads LogCols.
func ScanLog(row Row) (*store.RequestLog, error) {
	var l store.RequestLog
	if err := row.Scan(&l.ID, &l.SpaceID, ms(&l.CreatedAt), &l.Method, &l.Path, &l.Query, &l.Body, &l.Status, &l.DurationMs,
		&l.TokenPrefix, &l.RenderID, &l.Format, &l.Size, &l.FileKey, &l.QueueMs, &l.RenderMs, &l.TotalMs,
		&l.ErrorCode, &l.Error, &l.CallbackStatus, jsonText("callbacks", &l.Callbacks), &l.CacheHit, &l.TraceID, &l.Renderer); err != nil {
		return nil, err
	}
	return &l, nil
}

// ScanEndpoint reads EndpointCols.
func ScanEndpoint(row Row) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	if err := row.Scan(&e.ID, &e.SpaceID, &e.URL, &e.Description, jsonText("events", &e.Events), &e.Enabled, &e.DisabledReason, &e.Secret, &e.SecretPrev,
		nullMs(&e.SecretRotatedAt), nullMs(&e.FailingSince), ms(&e.CreatedAt), ms(&e.UpdatedAt)); err != nil {
		return nil, err
	}
	return &e, nil
}

// ScanDelivery reads DeliveryCols, then the extra columns into extra.
func ScanDelivery(row Row, extra ...any) (*store.Delivery, error) {
	var d store.Delivery
	var payload string
	dest := append([]any{&d.ID, &d.SpaceID, &d.EndpointID, &d.URL, &d.Event, &d.RenderID, &payload, &d.Status, jsonText("attempts", &d.Attempts),
		ms(&d.CreatedAt), ms(&d.UpdatedAt)}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.Payload = []byte(payload)
	return &d, nil
}

// The scan destinations of the columns every scanner reads alike: a time
// kept as Unix milliseconds (ms, nullMs when it may be NULL) and a JSON
// document kept as text (jsonText). Both drivers hand a sql.Scanner the
// column's value: int64 for a number, string or []byte for text, nil for
// NULL.
type (
	msCol     struct{ t *time.Time }
	nullMsCol struct{ t **time.Time }
	jsonCol   struct {
		what string
		v    any
	}
)

func ms(t *time.Time) sql.Scanner      { return msCol{t} }
func nullMs(t **time.Time) sql.Scanner { return nullMsCol{t} }

// jsonText decodes the column into v; what names it in an error.
func jsonText(what string, v any) sql.Scanner { return jsonCol{what, v} }

func (c msCol) Scan(src any) error {
	n, ok := src.(int64)
	if !ok {
		return fmt.Errorf("a time in ms is %T, want int64", src)
	}
	*c.t = FromMs(n)
	return nil
}

func (c nullMsCol) Scan(src any) error {
	if src == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (msCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

func (c jsonCol) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("decode %s: a JSON column is %T", c.what, src)
	}
	if err := json.Unmarshal(b, c.v); err != nil {
		return fmt.Errorf("decode %s: %w", c.what, err)
	}
	return nil
}
