package query

import (
	"encoding/json"
	"fmt"

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
	var created int64
	var rotated, secretUntil, tokenUntil *int64
	if err := row.Scan(&sp.ID, &sp.Name, &sp.CreditLimit, &sp.CreditsUsed, &created, &sp.WebhookSecret, &sp.WebhookSecretPrev, &rotated,
		&sp.RenderKey, &sp.RenderSecret, &sp.GetRenderToken, &sp.RenderSecretPrev, &secretUntil, &sp.GetRenderTokenPrev, &tokenUntil); err != nil {
		return nil, err
	}
	sp.CreatedAt = FromMs(created)
	sp.WebhookSecretRotatedAt = FromNullMs(rotated)
	sp.RenderSecretPrevUntil = FromNullMs(secretUntil)
	sp.GetRenderTokenPrevUntil = FromNullMs(tokenUntil)
	return &sp, nil
}

// ScanToken reads TokenCols.
func ScanToken(row Row) (*store.Token, error) {
	var t store.Token
	var created int64
	var used, revoked *int64
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Prefix, &t.Hash, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = FromMs(created)
	t.LastUsedAt = FromNullMs(used)
	t.RevokedAt = FromNullMs(revoked)
	return &t, nil
}

// ScanTemplate reads TemplateCols.
func ScanTemplate(row Row) (*store.Template, error) {
	var t store.Template
	var vars string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.SpaceID, &t.Name, &t.HTML, &t.Width, &t.Height, &vars, &t.RequireGetRenderToken, &t.RenderType, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(vars), &t.Variables); err != nil {
		return nil, fmt.Errorf("decode template variables: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = FromMs(created), FromMs(updated)
	return &t, nil
}

// ScanPage reads PageCols.
func ScanPage(row Row) (*store.Page, error) {
	var p store.Page
	var dvals string
	var ptpl, pname, pvals *string
	var pat *int64
	var created, updated int64
	if err := row.Scan(&p.ID, &p.SpaceID, &p.Draft.TemplateID, &p.Draft.Name, &dvals, &ptpl, &pname, &pvals, &pat, &created, &updated); err != nil {
		return nil, err
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
	p.PublishedAt = FromNullMs(pat)
	p.CreatedAt, p.UpdatedAt = FromMs(created), FromMs(updated)
	return &p, nil
}

// ScanRender reads RenderCols.
func ScanRender(row Row) (*store.Render, error) {
	var r store.Render
	var created int64
	var stored, started, ended *int64
	if err := row.Scan(&r.ID, &r.SpaceID, &r.RequestID, &r.PageID, &r.TemplateID, &r.Format, &r.Status, &r.Width, &r.Height, &r.Size,
		&r.BlobKey, &r.ContentType, &r.Error, &r.QueueMs, &r.RenderMs, &r.TotalMs, &created, &stored,
		&r.Options, &r.WebhookURL, &started, &ended, &r.CacheKey, &r.Metadata, &r.CustomID, &r.SkipWebhooks, &r.FileURL); err != nil {
		return nil, err
	}
	r.CreatedAt = FromMs(created)
	r.StoredAt = FromNullMs(stored)
	r.StartedAt, r.EndedAt = FromNullMs(started), FromNullMs(ended)
	return &r, nil
}

// ScanSpaceStorage reads SpaceStorageCols.
func ScanSpaceStorage(row Row) (*store.SpaceStorage, error) {
	var s store.SpaceStorage
	var updated int64
	if err := row.Scan(&s.SpaceID, &s.Bucket, &s.Endpoint, &s.Region, &s.ForcePathStyle, &s.AccessKey, &s.SecretSealed, &updated); err != nil {
		return nil, err
	}
	s.UpdatedAt = FromMs(updated)
	return &s, nil
}

// ScanLog reads LogCols.
func ScanLog(row Row) (*store.RequestLog, error) {
	var l store.RequestLog
	var created int64
	var cbs string
	if err := row.Scan(&l.ID, &l.SpaceID, &created, &l.Method, &l.Path, &l.Query, &l.Body, &l.Status, &l.DurationMs,
		&l.TokenPrefix, &l.RenderID, &l.Format, &l.Size, &l.FileKey, &l.QueueMs, &l.RenderMs, &l.TotalMs,
		&l.ErrorCode, &l.Error, &l.CallbackStatus, &cbs, &l.CacheHit, &l.TraceID, &l.Renderer); err != nil {
		return nil, err
	}
	l.CreatedAt = FromMs(created)
	if err := json.Unmarshal([]byte(cbs), &l.Callbacks); err != nil {
		return nil, fmt.Errorf("decode callbacks: %w", err)
	}
	return &l, nil
}

// ScanEndpoint reads EndpointCols.
func ScanEndpoint(row Row) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var rotated, failing *int64
	var created, updated int64
	if err := row.Scan(&e.ID, &e.SpaceID, &e.URL, &e.Description, &events, &e.Enabled, &e.DisabledReason, &e.Secret, &e.SecretPrev,
		&rotated, &failing, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	e.SecretRotatedAt, e.FailingSince = FromNullMs(rotated), FromNullMs(failing)
	e.CreatedAt, e.UpdatedAt = FromMs(created), FromMs(updated)
	return &e, nil
}

// ScanDelivery reads DeliveryCols, then the extra columns into extra.
func ScanDelivery(row Row, extra ...any) (*store.Delivery, error) {
	var d store.Delivery
	var payload, attempts string
	var created, updated int64
	dest := append([]any{&d.ID, &d.SpaceID, &d.EndpointID, &d.URL, &d.Event, &d.RenderID, &payload, &d.Status, &attempts,
		&created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.Payload = []byte(payload)
	if err := json.Unmarshal([]byte(attempts), &d.Attempts); err != nil {
		return nil, fmt.Errorf("decode attempts: %w", err)
	}
	d.CreatedAt, d.UpdatedAt = FromMs(created), FromMs(updated)
	return &d, nil
}
