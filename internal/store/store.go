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
	// WebhookSecret signs deliveries to per-request webhook_url targets;
	// WebhookSecretPrev keeps signing for 24 h after a rotation.
	WebhookSecret          string
	WebhookSecretPrev      string
	WebhookSecretRotatedAt *time.Time
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
	// StoredAt is when the bytes reached the blob store; nil while they
	// wait in the spool for the store callback.
	StoredAt *time.Time
	// Options is the JSON of an async render's options, for its job.
	Options string
	// WebhookURL is the request's own webhook target, if any.
	WebhookURL string
	StartedAt  *time.Time
	EndedAt    *time.Time
}

// Render statuses.
const (
	RenderQueued    = "queued"
	RenderRendering = "rendering"
	RenderSucceeded = "succeeded"
	RenderFailed    = "failed"
)

// WebhookEndpoint is a URL a space has configured to receive events.
type WebhookEndpoint struct {
	ID              string
	SpaceID         string
	URL             string
	Description     string
	Events          []string // empty means every event
	Enabled         bool
	DisabledReason  string
	Secret          string
	SecretPrev      string
	SecretRotatedAt *time.Time
	// FailingSince is when the current run of failed deliveries began.
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Wants reports whether the endpoint subscribes to event.
func (e *WebhookEndpoint) Wants(event string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, ev := range e.Events {
		if ev == event || ev == "*" {
			return true
		}
	}
	return false
}

// DeliveryAttempt is one try at delivering a webhook.
type DeliveryAttempt struct {
	At           time.Time `json:"at"`
	StatusCode   int       `json:"statusCode"`
	DurationMs   int64     `json:"durationMs"`
	Error        string    `json:"error,omitempty"`
	ResponseBody string    `json:"responseBody,omitempty"`
}

// Delivery is one webhook message to one target, with its attempts.
type Delivery struct {
	ID         string // also the webhook-id header, stable across attempts
	SpaceID    string
	EndpointID string // "" for a request's own webhook_url
	URL        string
	Event      string
	RenderID   string
	Payload    []byte
	Status     string
	Attempts   []DeliveryAttempt
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // not tried yet, or being retried
	DeliverySucceeded = "succeeded" // a 2xx answer
	DeliveryFailed    = "failed"    // the last attempt failed; more will follow
	DeliveryExhausted = "exhausted" // failed, and no attempts are left
)

// ListDeliveriesParams filters a space's deliveries, newest first.
type ListDeliveriesParams struct {
	SpaceID    string
	RenderID   string
	EndpointID string
	Status     string
	Limit      int
	After      *LogCursor
}

// Callback names: the post-render work every recorded render gets.
const (
	CallbackStore   = "store"
	CallbackLog     = "log"
	CallbackCredits = "credits"
)

// Callback states, per callback and overall (RequestLog.CallbackStatus).
const (
	CallbackNone      = "none"
	CallbackPending   = "pending"
	CallbackRetrying  = "retrying"
	CallbackSucceeded = "succeeded"
	CallbackFailed    = "failed"
)

// CallbackState is the progress of one post-render callback.
type CallbackState struct {
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// RequestLog is the log entry of one request to a render endpoint.
type RequestLog struct {
	ID             string // the request id
	SpaceID        string
	CreatedAt      time.Time
	Method         string
	Path           string
	Query          string
	Body           string
	Status         int
	DurationMs     int64
	TokenPrefix    string
	RenderID       string
	Format         string
	Size           int64
	FileKey        string
	QueueMs        int64
	RenderMs       int64
	TotalMs        int64
	ErrorCode      string
	Error          string
	CallbackStatus string
	Callbacks      map[string]CallbackState
}

// LogCursor is a position in a space's log, newest first.
type LogCursor struct {
	CreatedAt time.Time
	ID        string
}

// ListLogsParams selects a page of a space's request log.
type ListLogsParams struct {
	SpaceID string
	Limit   int
	// After continues a listing after this entry (older entries).
	After *LogCursor
	// StatusMin and StatusMax bound the HTTP status, inclusive; 0 is open.
	StatusMin, StatusMax int
}

// CreditStatus is what the credit-limit check needs.
type CreditStatus struct {
	Limit int64 // 0 is unlimited
	Used  int64 // counted by the credits callback
	// Pending counts renders the credits callback has not counted yet:
	// succeeded ones, and async ones still queued or rendering. They are
	// spent all the same.
	Pending int64
}

// Usage summarises a space's consumption.
type Usage struct {
	CreditsUsed int64
	CreditLimit int64
	Succeeded   int64
	Failed      int64
}

// Tx is a store transaction, for work that must commit together: a render,
// its spooled bytes, its log entry and the jobs that follow it up.
type Tx interface {
	CreateRender(ctx context.Context, r *Render) error
	SpoolRender(ctx context.Context, renderID string, data []byte, at time.Time) error
	CreateRequestLog(ctx context.Context, l *RequestLog) error
	// UpdateRender rewrites a render's outcome (async renders finishing).
	UpdateRender(ctx context.Context, r *Render) error
	// SetLogCallbacks resets the callback states on a render's log entry.
	SetLogCallbacks(ctx context.Context, renderID string, m map[string]CallbackState) error
	CreateDelivery(ctx context.Context, d *Delivery) error
	// ListWebhookEndpoints reads the space's endpoints inside the
	// transaction: a fan-out must not wait for a second connection while
	// it holds one (a full PostgreSQL pool would deadlock).
	ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*WebhookEndpoint, error)
	// Driver is the driver's own transaction (*sql.Tx for SQLite), for the
	// job queue to insert its jobs in.
	Driver() any
}

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
	// SetWebhookSecret replaces the space's signing secret, keeping the
	// previous one for the rotation window.
	SetWebhookSecret(ctx context.Context, spaceID, secret, prev string, rotatedAt *time.Time) error
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

	// InTx runs fn in one transaction, committed when fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error

	CreateRender(ctx context.Context, r *Render) error
	GetRender(ctx context.Context, spaceID, id string) (*Render, error)
	// FindRender looks a render up by id alone, for background jobs.
	FindRender(ctx context.Context, id string) (*Render, error)
	// GetSpool returns the spooled bytes of a render.
	GetSpool(ctx context.Context, renderID string) ([]byte, error)
	// MarkRenderStored records that the bytes reached the blob store and
	// drops the spooled copy, in one transaction.
	MarkRenderStored(ctx context.Context, renderID string, at time.Time) error

	CreateRequestLog(ctx context.Context, l *RequestLog) error
	GetRequestLog(ctx context.Context, spaceID, id string) (*RequestLog, error)
	ListRequestLogs(ctx context.Context, p ListLogsParams) ([]*RequestLog, error)
	// AttachLogFile puts the stored file's key on the log entry of a render.
	AttachLogFile(ctx context.Context, renderID, fileKey string) error
	// SetCallbackState records one callback's progress on the log entry of
	// a render and recomputes the entry's overall callback status.
	SetCallbackState(ctx context.Context, renderID, callback string, st CallbackState) error
	// DeleteRequestLogsBefore deletes log entries older than t.
	DeleteRequestLogsBefore(ctx context.Context, t time.Time) (int64, error)

	// MarkRenderStarted moves a queued async render to rendering.
	MarkRenderStarted(ctx context.Context, id string, at time.Time) error

	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	GetWebhookEndpoint(ctx context.Context, spaceID, id string) (*WebhookEndpoint, error)
	FindWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context, spaceID string) ([]*WebhookEndpoint, error)
	// UpdateWebhookEndpoint rewrites every mutable field.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	DeleteWebhookEndpoint(ctx context.Context, spaceID, id string) error

	CreateDelivery(ctx context.Context, d *Delivery) error
	GetDelivery(ctx context.Context, spaceID, id string) (*Delivery, error)
	FindDelivery(ctx context.Context, id string) (*Delivery, error)
	// FindDeliveryToSend is FindDelivery plus whether the delivery's render
	// has its file in the blob store (false when it has no render): what
	// the delivery worker reads before each attempt, in one query.
	FindDeliveryToSend(ctx context.Context, id string) (d *Delivery, renderStored bool, err error)
	ListDeliveries(ctx context.Context, p ListDeliveriesParams) ([]*Delivery, error)
	// RecordDeliveryAttempt appends an attempt and sets the status.
	RecordDeliveryAttempt(ctx context.Context, id string, a DeliveryAttempt, status string) error
	// SetDeliveryStatus sets the status (e.g. pending on redelivery).
	SetDeliveryStatus(ctx context.Context, id, status string) error

	// AddCredit bills a render once: a ledger row keyed by render id and
	// the space's counter change in one transaction. It reports false
	// when the render was billed already.
	AddCredit(ctx context.Context, spaceID, renderID string, amount int64, at time.Time) (bool, error)
	CreditStatus(ctx context.Context, spaceID string) (CreditStatus, error)
	Usage(ctx context.Context, spaceID string) (Usage, error)
	// GetRenderByBlobKey finds a render by the key its bytes are stored under.
	GetRenderByBlobKey(ctx context.Context, key string) (*Render, error)
}

// OverallCallbackStatus summarises per-callback states: failed if any
// failed, succeeded when all did, none when there are none, else pending.
func OverallCallbackStatus(m map[string]CallbackState) string {
	if len(m) == 0 {
		return CallbackNone
	}
	all := true
	for _, st := range m {
		switch st.State {
		case CallbackFailed:
			return CallbackFailed
		case CallbackSucceeded:
		default:
			all = false
		}
	}
	if all {
		return CallbackSucceeded
	}
	return CallbackPending
}
