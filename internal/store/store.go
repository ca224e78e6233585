// Package store defines renderhook's persistence: the domain records it keeps
// and the one Store interface every database driver implements. Dialect
// details (SQL, error codes, migrations) live in the driver packages below
// this one; nothing above this package sees SQL.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every driver. Drivers map their own errors
// (sql.ErrNoRows, constraint violations) onto these at the boundary.
var (
	// ErrNotFound means no row matched, including rows of another space.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness or foreign-key rule was violated.
	ErrConflict = errors.New("conflict")
)

// Space is the tenant every other record belongs to.
type Space struct {
	ID          string
	Name        string
	CreditLimit int64 // 0 means unlimited
	CreditsUsed int64
	CreatedAt   time.Time
}

// Token is an API token. Only the SHA-256 of the secret is kept; Prefix is
// the first characters of the secret, shown in lists and logs.
type Token struct {
	ID         string
	SpaceID    string
	Prefix     string
	Hash       []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Variable declares one template variable.
type Variable struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // string|number|boolean|color|image
	Default any    `json:"default,omitempty"`
}

// Template is HTML (Go html/template) with declared variables and a size.
type Template struct {
	ID                    string
	SpaceID               string
	Name                  string
	HTML                  string
	Width                 int
	Height                int
	Variables             []Variable
	RequireGetRenderToken bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// PageVersion is one version (draft or published) of a page's content.
type PageVersion struct {
	TemplateID string         `json:"templateId"`
	Name       string         `json:"name"`
	Values     map[string]any `json:"values"`
}

// Page is an instance of a template. Edits change Draft; publishing copies
// Draft to Published. Published is nil until the first publish.
type Page struct {
	ID          string
	SpaceID     string
	Draft       PageVersion
	Published   *PageVersion
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Render records one render attempt and where its bytes went.
type Render struct {
	ID          string
	SpaceID     string
	RequestID   string
	PageID      string
	TemplateID  string
	Format      string
	Status      string // succeeded|failed
	Width       int
	Height      int
	Size        int64
	BlobKey     string
	ContentType string
	Error       string
	QueueMs     int64
	RenderMs    int64
	TotalMs     int64
	CreatedAt   time.Time
}

// Render statuses.
const (
	RenderSucceeded = "succeeded"
	RenderFailed    = "failed"
)

// Store is the persistence interface. Every method that reads or changes a
// space-owned record takes the space id and answers ErrNotFound for a
// record of another space, so ids never leak across spaces.
type Store interface {
	// Migrate applies the embedded migrations that have not run yet.
	Migrate(ctx context.Context) error
	// Close releases the database.
	Close() error

	// Setting returns the named server setting, storing value first when
	// the setting does not exist yet; every caller sees the first value.
	Setting(ctx context.Context, name, value string) (string, error)

	CreateSpace(ctx context.Context, s *Space) error
	GetSpace(ctx context.Context, id string) (*Space, error)
	ListSpaces(ctx context.Context) ([]*Space, error)

	CreateToken(ctx context.Context, t *Token) error
	// GetTokenByHash returns the unrevoked token whose hash matches.
	GetTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	ListTokens(ctx context.Context, spaceID string) ([]*Token, error)
	RevokeToken(ctx context.Context, spaceID, id string) error
	TouchToken(ctx context.Context, id string, at time.Time) error

	CreateTemplate(ctx context.Context, t *Template) error
	GetTemplate(ctx context.Context, spaceID, id string) (*Template, error)
	ListTemplates(ctx context.Context, spaceID string) ([]*Template, error)
	UpdateTemplate(ctx context.Context, t *Template) error
	// DeleteTemplate fails with ErrConflict while pages still use it.
	DeleteTemplate(ctx context.Context, spaceID, id string) error

	CreatePage(ctx context.Context, p *Page) error
	GetPage(ctx context.Context, spaceID, id string) (*Page, error)
	// FindPage looks a page up by id alone, for renders that need no token.
	FindPage(ctx context.Context, id string) (*Page, error)
	ListPages(ctx context.Context, spaceID string) ([]*Page, error)
	// UpdatePageDraft replaces the draft version.
	UpdatePageDraft(ctx context.Context, p *Page) error
	// PublishPage copies the draft to the published version.
	PublishPage(ctx context.Context, spaceID, id string, at time.Time) (*Page, error)
	DeletePage(ctx context.Context, spaceID, id string) error

	CreateRender(ctx context.Context, r *Render) error
	GetRender(ctx context.Context, spaceID, id string) (*Render, error)
	// GetRenderByBlobKey finds a render by the key its bytes are stored under.
	GetRenderByBlobKey(ctx context.Context, key string) (*Render, error)
}
