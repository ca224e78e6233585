package query

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// --- settings ---

// Setting implements store.Store.
func (db *Queries) Setting(ctx context.Context, name, value string) (string, error) {
	if _, err := db.write.Exec(ctx, `INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`, name, db.d.Text(value)); err != nil {
		return "", db.d.Err(err)
	}
	var v string
	err := db.write.QueryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	return v, db.d.Err(err)
}

// --- spaces ---

// CreateSpace implements store.Store.
func (db *Queries) CreateSpace(ctx context.Context, sp *store.Space) error {
	store.FillRenderKeys(sp)
	_, err := db.write.Exec(ctx, `INSERT INTO spaces(id, name, credit_limit, credits_used, created_at, webhook_secret,
		render_key, render_secret, get_render_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sp.ID, db.d.Text(sp.Name), sp.CreditLimit, sp.CreditsUsed, Ms(sp.CreatedAt), sp.WebhookSecret, sp.RenderKey, sp.RenderSecret, sp.GetRenderToken)
	return db.d.Err(err)
}

// GetSpace implements store.Store.
func (db *Queries) GetSpace(ctx context.Context, id string) (*store.Space, error) {
	sp, err := ScanSpace(db.read.QueryRow(ctx, `SELECT `+SpaceCols+` FROM spaces WHERE id = ?`, id))
	return one(db.d, sp, err)
}

// GetSpaceByRenderKey implements store.Store.
func (db *Queries) GetSpaceByRenderKey(ctx context.Context, key string) (*store.Space, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	sp, err := ScanSpace(db.read.QueryRow(ctx, `SELECT `+SpaceCols+` FROM spaces WHERE render_key = ?`, db.d.Text(key)))
	return one(db.d, sp, err)
}

// ListSpaces implements store.Store.
func (db *Queries) ListSpaces(ctx context.Context) ([]*store.Space, error) {
	return List(ctx, db.d, db.read, ScanSpace, `SELECT `+SpaceCols+` FROM spaces ORDER BY created_at, id`)
}

// SetWebhookSecret implements store.Store.
func (db *Queries) SetWebhookSecret(ctx context.Context, spaceID, secret, prev string, rotatedAt *time.Time) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE spaces SET webhook_secret = ?, webhook_secret_prev = ?, webhook_secret_rotated_at = ? WHERE id = ?`,
		secret, prev, NullMs(rotatedAt), spaceID))
}

// RotateRenderSecret implements store.Store.
func (db *Queries) RotateRenderSecret(ctx context.Context, spaceID, secret string, prevUntil time.Time) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE spaces SET render_secret_prev = render_secret, render_secret_prev_until = ?, render_secret = ? WHERE id = ?`,
		Ms(prevUntil), secret, spaceID))
}

// RotateGetRenderToken implements store.Store.
func (db *Queries) RotateGetRenderToken(ctx context.Context, spaceID, token string, prevUntil time.Time) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE spaces SET get_render_token_prev = get_render_token, get_render_token_prev_until = ?, get_render_token = ? WHERE id = ?`,
		Ms(prevUntil), token, spaceID))
}

// --- tokens ---

// CreateToken implements store.Store.
func (db *Queries) CreateToken(ctx context.Context, t *store.Token) error {
	_, err := db.write.Exec(ctx, `INSERT INTO tokens(id, space_id, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.SpaceID, db.d.Text(t.Prefix), t.Hash, Ms(t.CreatedAt))
	return db.d.Err(err)
}

// GetTokenByHash implements store.Store.
func (db *Queries) GetTokenByHash(ctx context.Context, hash []byte) (*store.Token, error) {
	t, err := ScanToken(db.read.QueryRow(ctx, `SELECT `+TokenCols+` FROM tokens WHERE hash = ? AND revoked_at IS NULL`, hash))
	return one(db.d, t, err)
}

// ListTokens implements store.Store.
func (db *Queries) ListTokens(ctx context.Context, spaceID string) ([]*store.Token, error) {
	return List(ctx, db.d, db.read, ScanToken, `SELECT `+TokenCols+` FROM tokens WHERE space_id = ? ORDER BY created_at, id`, spaceID)
}

// RevokeToken implements store.Store.
func (db *Queries) RevokeToken(ctx context.Context, spaceID, id string) error {
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE space_id = ? AND id = ? AND revoked_at IS NULL`,
		time.Now().UnixMilli(), spaceID, id))
}

// --- templates ---

func nonNilVars(v []store.Variable) []store.Variable {
	if v == nil {
		return []store.Variable{}
	}
	return v
}

// CreateTemplate implements store.Store.
func (db *Queries) CreateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	_, err = db.write.Exec(ctx, `INSERT INTO templates(id, space_id, name, html, width, height, variables, require_get_render_token, render_type, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.SpaceID, db.d.Text(t.Name), db.d.Text(t.HTML), t.Width, t.Height, string(vars), t.RequireGetRenderToken,
		nonEmpty(t.RenderType, store.RenderTypeHTML), Ms(t.CreatedAt), Ms(t.UpdatedAt))
	return db.d.Err(err)
}

// GetTemplate implements store.Store.
func (db *Queries) GetTemplate(ctx context.Context, spaceID, id string) (*store.Template, error) {
	t, err := ScanTemplate(db.read.QueryRow(ctx, `SELECT `+TemplateCols+` FROM templates WHERE space_id = ? AND id = ?`, spaceID, id))
	return one(db.d, t, err)
}

// ListTemplates implements store.Store.
func (db *Queries) ListTemplates(ctx context.Context, spaceID string) ([]*store.Template, error) {
	return List(ctx, db.d, db.read, ScanTemplate, `SELECT `+TemplateCols+` FROM templates WHERE space_id = ? ORDER BY created_at, id`, spaceID)
}

// UpdateTemplate implements store.Store.
func (db *Queries) UpdateTemplate(ctx context.Context, t *store.Template) error {
	vars, err := json.Marshal(nonNilVars(t.Variables))
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE templates SET name = ?, html = ?, width = ?, height = ?, variables = ?,
		require_get_render_token = ?, render_type = ?, updated_at = ? WHERE space_id = ? AND id = ?`,
		db.d.Text(t.Name), db.d.Text(t.HTML), t.Width, t.Height, string(vars), t.RequireGetRenderToken,
		nonEmpty(t.RenderType, store.RenderTypeHTML), Ms(t.UpdatedAt), t.SpaceID, t.ID))
}

// --- pages ---

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// CreatePage implements store.Store.
func (db *Queries) CreatePage(ctx context.Context, p *store.Page) error {
	vals, err := json.Marshal(nonNilMap(p.Draft.Values))
	if err != nil {
		return fmt.Errorf("encode values: %w", err)
	}
	// The template must belong to the same space; zero rows inserted means
	// it does not (ErrNotFound).
	return db.d.MustAffect(db.write.Exec(ctx, `INSERT INTO pages(id, space_id, draft_template_id, draft_name, draft_values, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM templates WHERE space_id = ? AND id = ?)`,
		p.ID, p.SpaceID, p.Draft.TemplateID, db.d.Text(p.Draft.Name), string(vals), Ms(p.CreatedAt), Ms(p.UpdatedAt), p.SpaceID, p.Draft.TemplateID))
}

// GetPage implements store.Store.
func (db *Queries) GetPage(ctx context.Context, spaceID, id string) (*store.Page, error) {
	return getIn(ctx, db, ScanPage, PageCols, "pages", spaceID, id)
}

// FindPage implements store.Store.
func (db *Queries) FindPage(ctx context.Context, id string) (*store.Page, error) {
	return findAny(ctx, db, ScanPage, PageCols, "pages", id)
}

// ListPages implements store.Store.
func (db *Queries) ListPages(ctx context.Context, spaceID string) ([]*store.Page, error) {
	return List(ctx, db.d, db.read, ScanPage, `SELECT `+PageCols+` FROM pages WHERE space_id = ? ORDER BY created_at, id`, spaceID)
}

// UpdatePageDraft implements store.Store.
func (db *Queries) UpdatePageDraft(ctx context.Context, p *store.Page) error {
	vals, err := json.Marshal(nonNilMap(p.Draft.Values))
	if err != nil {
		return fmt.Errorf("encode values: %w", err)
	}
	return db.d.MustAffect(db.write.Exec(ctx, `UPDATE pages SET draft_template_id = ?, draft_name = ?, draft_values = ?, updated_at = ?
		WHERE space_id = ? AND id = ? AND EXISTS (SELECT 1 FROM templates WHERE space_id = ? AND id = ?)`,
		p.Draft.TemplateID, db.d.Text(p.Draft.Name), string(vals), Ms(p.UpdatedAt), p.SpaceID, p.ID, p.SpaceID, p.Draft.TemplateID))
}

// PublishPage implements store.Store: one UPDATE … RETURNING.
func (db *Queries) PublishPage(ctx context.Context, spaceID, id string, at time.Time) (*store.Page, error) {
	p, err := ScanPage(db.write.QueryRow(ctx, `UPDATE pages SET published_template_id = draft_template_id, published_name = draft_name,
		published_values = draft_values, published_at = ?, updated_at = ? WHERE space_id = ? AND id = ? RETURNING `+PageCols,
		Ms(at), Ms(at), spaceID, id))
	return one(db.d, p, err)
}

// DeletePage implements store.Store.
func (db *Queries) DeletePage(ctx context.Context, spaceID, id string) error {
	return db.d.MustAffect(db.write.Exec(ctx, `DELETE FROM pages WHERE space_id = ? AND id = ?`, spaceID, id))
}
