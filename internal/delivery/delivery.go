// Package delivery sends renderhook's outbound webhooks: it builds the
// render.succeeded / render.failed payloads in the seed's exact shape, fans
// an event out to the space's endpoints and the request's own webhook_url,
// and delivers each message as a River job: signed afresh on every attempt,
// retried on a schedule, recorded attempt by attempt, and sent only through
// the egress guard.
package delivery

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// Event names.
const (
	EventRenderSucceeded = "render.succeeded"
	EventRenderFailed    = "render.failed"
	EventTest            = "webhook.test"
)

// Events lists the events an endpoint may subscribe to.
var Events = []string{EventRenderSucceeded, EventRenderFailed, EventTest}

// DefaultSchedule is when attempts happen, counted from the previous one:
// immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
// later (each delay ±20% jitter).
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// ParseSchedule parses "0s,5s,5m": the delay before each attempt.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("invalid retry schedule entry %q: want durations such as 0s,5s,5m", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("empty retry schedule")
	}
	return out, nil
}

// Enqueuer inserts jobs in a store transaction.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx store.Tx, args ...river.JobArgs) error
}

// Config configures deliveries.
type Config struct {
	Store store.Store
	Queue Enqueuer
	Guard *egress.Guard
	// SignatureHeader names the seed-scheme signature header; default
	// DefaultSignatureHeader (X-Urlbox-Signature suits Urlbox receivers).
	SignatureHeader string
	// Schedule is the delay before each attempt; default DefaultSchedule.
	Schedule []time.Duration
	// DisableAfter disables an endpoint that has failed without a single
	// success for this long; default DefaultDisableAfter (5 days).
	DisableAfter time.Duration
	// RotationWindow is how long a rotated-out secret keeps signing;
	// default DefaultRotationWindow (24 h).
	RotationWindow time.Duration
	// Timeout bounds one attempt (connecting within it bounded by the
	// guard's dial timeout); default DefaultTimeout (15 s).
	Timeout time.Duration
	// Workers is how many deliveries one node sends at once; default
	// DefaultWorkers. A delivery mostly waits: on the receiver, and on the
	// group commit of its attempt record, so this is far above the number
	// of cores.
	Workers int
	// Files makes the renderUrl of a render.succeeded payload from the
	// render's blob key (a blob.Signer). Every attempt but a prompt first
	// one gets a URL made at send time, so a presigned URL that expires
	// never arrives expired on a retry or a redelivery. Nil sends payloads
	// as they were queued.
	Files FileURLs
	// FileURLLifetime is how long the URLs Files makes work (an S3
	// presigned URL's expiry); 0 means they do not expire. A first attempt
	// sends its queued payload as it is only within half of this after it
	// was queued; later, its renderUrl is made afresh too.
	FileURLLifetime time.Duration
	// MaxInFlightPerEndpoint caps the POSTs one node has under way to one
	// destination (an endpoint, or a webhook_url's host and port); a
	// delivery over it is snoozed without spending an attempt. Default
	// DefaultMaxInFlight(Workers). See fairness.go.
	MaxInFlightPerEndpoint int
	// BreakAfter is how many consecutive timeouts, connection errors,
	// 429s or 5xx open a destination's breaker; default DefaultBreakAfter.
	BreakAfter int
	// BreakerCooldown is how long an open breaker parks deliveries before
	// a probe; doubled by every failed probe up to MaxBreakerCooldown.
	// Default DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// Observer, when set, is told of every recorded attempt and every
	// delivery held back without one (the metrics).
	Observer Observer
	Logger   *slog.Logger
}

// Observer watches deliveries' outcomes: DeliveryAttempt gets each
// recorded attempt with the status it left the delivery in
// (store.DeliverySucceeded, …), DeliveryHeld each snooze without an
// attempt ("parked" by the breaker, "capped" by the in-flight cap).
type Observer interface {
	DeliveryAttempt(status string, a store.DeliveryAttempt)
	DeliveryHeld(state string)
}

// FileURLs makes the URL a stored file is downloaded from.
type FileURLs interface {
	FileURL(ctx context.Context, key string) (string, error)
}

// newSpaceFairness is the service's fairness state: cfg's per-destination
// cap (a destination answering fast may use a quarter of the workers) and
// breaker, and a cap per space of half the workers, so one tenant's
// destinations together cannot hold every worker.
func newSpaceFairness(cfg Config) *fairness {
	f := newFairness(cfg.MaxInFlightPerEndpoint, cfg.Workers/4, cfg.BreakAfter, cfg.BreakerCooldown)
	f.spaceMax = max(cfg.Workers/2, cfg.MaxInFlightPerEndpoint)
	return f
}

// JobLimit is how long one delivery job may run: an attempt's Timeout
// plus room for the database reads and the attempt's record. The queue's
// stuck-job rescue must wait longer than this.
func (c Config) JobLimit() time.Duration { return c.WithDefaults().Timeout + jobMargin }

// jobMargin is what JobLimit leaves beyond an attempt's Timeout: the
// database reads and the attempt's record (recordTimeout).
const jobMargin = 10 * time.Second

// Service fans events out and registers the delivery worker.
type Service struct {
	cfg  Config
	log  *slog.Logger
	rec  *recorder
	fair *fairness
}

// DefaultWorkers is the default Config.Workers. Under a backlog a
// delivery's slot is busy for its POST and its record's group commit, then
// free until River's next fetch (every fetchCooldown): on two cores with
// PostgreSQL, 500 slots drained the bench's 5,000-delivery backlog ~20%
// faster than 100 (5,290–5,410/s against 4,240–4,450/s on a quiet
// machine), with bigger fetches and record batches costing less CPU per
// delivery (0.31 ms against 0.35 ms, server and database), and no change
// to the p99 at 200/s. Every slot may hold a connection to a receiver, so
// a burst to one endpoint opens up to this many.
const DefaultWorkers = 500

// The defaults of the other Config fields, applied by WithDefaults.
const (
	DefaultSignatureHeader = "X-Renderhook-Signature"
	DefaultDisableAfter    = 5 * 24 * time.Hour
	DefaultRotationWindow  = 24 * time.Hour
	DefaultTimeout         = 15 * time.Second
	DefaultBreakAfter      = 5
	DefaultBreakerCooldown = 5 * time.Second
)

// WithDefaults returns c with every zero field that has a default set to
// it: the one place Config's defaults are stated (New applies them; the
// CLI shows them).
func (c Config) WithDefaults() Config {
	c.SignatureHeader = cmp.Or(c.SignatureHeader, DefaultSignatureHeader)
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	c.DisableAfter = cmp.Or(c.DisableAfter, DefaultDisableAfter)
	c.RotationWindow = cmp.Or(c.RotationWindow, DefaultRotationWindow)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	c.MaxInFlightPerEndpoint = cmp.Or(c.MaxInFlightPerEndpoint, DefaultMaxInFlight(c.Workers))
	c.BreakAfter = cmp.Or(c.BreakAfter, DefaultBreakAfter)
	c.BreakerCooldown = cmp.Or(c.BreakerCooldown, DefaultBreakerCooldown)
	return c
}

// New validates cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Queue == nil || cfg.Guard == nil {
		return nil, errors.New("delivery: Store, Queue and Guard are required")
	}
	cfg = cfg.WithDefaults()
	if cfg.MaxInFlightPerEndpoint < 0 || cfg.BreakAfter < 0 || cfg.BreakerCooldown < 0 {
		return nil, errors.New("delivery: MaxInFlightPerEndpoint, BreakAfter and BreakerCooldown must not be negative")
	}
	return &Service{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()).With("component", "delivery"), rec: newRecorder(cfg.Store),
		fair: newSpaceFairness(cfg)}, nil
}

// Meta is the timing block of a payload.
type Meta struct {
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
}

// Extra holds the fields renderhook adds after meta.
type Extra struct {
	RequestID string
	PageID    string
	Format    string
	// Metadata is the client's webhook_metadata, echoed at the top.
	Metadata json.RawMessage
	// In the result, as Urlbox names them: the URLs of a v1 render's
	// stored artifacts (save_html, save_mhtml, save_markdown,
	// save_metadata) and the page's metadata (metadata: true).
	HTMLURL, MHTMLURL, MarkdownURL, MetadataURL string
	PageMetadata                                json.RawMessage
	// CustomData is the JSON of a v1 render's custom_data_variable value.
	CustomData json.RawMessage
	// CustomID is a v1 render's custom_id.
	CustomID string
}

type resultJSON struct {
	RenderURL   string          `json:"renderUrl"`
	Size        int64           `json:"size"`
	HTMLURL     string          `json:"htmlUrl,omitempty"`
	MHTMLURL    string          `json:"mhtmlUrl,omitempty"`
	MarkdownURL string          `json:"markdownUrl,omitempty"`
	MetadataURL string          `json:"metadataUrl,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	CustomData  json.RawMessage `json:"customData,omitempty"`
}

type errorJSON struct {
	Message string `json:"message"`
}

// succeeded and failed keep the seed's key order: event, renderId,
// result|error, meta, then renderhook's extras (extraJSON).
type succeeded struct {
	Event    string     `json:"event"`
	RenderID string     `json:"renderId"`
	Result   resultJSON `json:"result"`
	Meta     Meta       `json:"meta"`
	extraJSON
}

type failed struct {
	Event    string    `json:"event"`
	RenderID string    `json:"renderId"`
	Error    errorJSON `json:"error"`
	Meta     Meta      `json:"meta"`
	extraJSON
}

// extraJSON is what both payloads add after the seed's keys.
type extraJSON struct {
	RequestID string          `json:"requestId,omitempty"`
	PageID    string          `json:"pageId,omitempty"`
	Format    string          `json:"format,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CustomID  string          `json:"customId,omitempty"`
}

func (x Extra) json() extraJSON {
	return extraJSON{x.RequestID, x.PageID, x.Format, x.Metadata, x.CustomID}
}

// Timestamp formats a time as the payloads do: RFC 3339 UTC, milliseconds.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// compact encodes v as compact JSON without HTML escaping, so a receiver
// sees "<" and "&" as they are.
func compact(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// SucceededPayload builds a render.succeeded body.
func SucceededPayload(renderID, renderURL string, size int64, start, end time.Time, x Extra) []byte {
	return compact(succeeded{EventRenderSucceeded, renderID,
		resultJSON{renderURL, size, x.HTMLURL, x.MHTMLURL, x.MarkdownURL, x.MetadataURL, x.PageMetadata, x.CustomData},
		Meta{Timestamp(start), Timestamp(end)}, x.json()})
}

// WithRenderURL returns the render.succeeded payload with its renderUrl
// replaced, every other byte as SucceededPayload made it.
func WithRenderURL(payload []byte, renderURL string) ([]byte, error) {
	return withResult(payload, func(r *resultJSON) error { r.RenderURL = renderURL; return nil })
}

// WithFileURLs returns the render.succeeded payload with its renderUrl,
// and each artifact URL it has, made anew by fileURL from the render's
// file key (an artifact's key is blob.ArtifactKey of it), every other
// byte as SucceededPayload made it.
func WithFileURLs(payload []byte, key string, fileURL func(key string) (string, error)) ([]byte, error) {
	return withResult(payload, func(r *resultJSON) error {
		var err error
		if r.RenderURL, err = fileURL(key); err != nil {
			return err
		}
		for _, a := range []struct {
			u      *string
			ending string
		}{{&r.HTMLURL, blob.ArtifactHTML}, {&r.MHTMLURL, blob.ArtifactMHTML}, {&r.MarkdownURL, blob.ArtifactMarkdown}, {&r.MetadataURL, blob.ArtifactMetadata}} {
			if *a.u == "" {
				continue
			}
			if *a.u, err = fileURL(blob.ArtifactKey(key, a.ending)); err != nil {
				return err
			}
		}
		return nil
	})
}

// withResult decodes a render.succeeded payload, changes its result and
// encodes it again.
func withResult(payload []byte, change func(r *resultJSON) error) ([]byte, error) {
	var p succeeded
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode render.succeeded payload: %w", err)
	}
	if p.Event != EventRenderSucceeded {
		return nil, fmt.Errorf("payload of %q is not a render.succeeded", p.Event)
	}
	if err := change(&p.Result); err != nil {
		return nil, fmt.Errorf("make file URLs: %w", err)
	}
	return compact(p), nil
}

// FailedPayload builds a render.failed body.
func FailedPayload(renderID, message string, start, end time.Time, x Extra) []byte {
	return compact(failed{EventRenderFailed, renderID, errorJSON{message},
		Meta{Timestamp(start), Timestamp(end)}, x.json()})
}

// TestPayload builds a webhook.test body.
func TestPayload(endpointID string, at time.Time) []byte {
	return compact(struct {
		Event      string `json:"event"`
		EndpointID string `json:"endpointId"`
		Meta       Meta   `json:"meta"`
	}{EventTest, endpointID, Meta{Timestamp(at), Timestamp(at)}})
}

// DeliverArgs is the River job that delivers one message.
type DeliverArgs struct {
	DeliveryID string `json:"deliveryId"`
	// Base is how many attempts the delivery had when this job was queued;
	// the retry schedule counts from there (a redelivery starts afresh).
	Base int `json:"base,omitempty"`
	// Message, when set, is the delivery as it was queued: the job's first
	// run sends it without reading the delivery row. Later runs (retries,
	// a run after a crash) read the row, where earlier attempts are.
	Message *Message `json:"message,omitempty"`
}

// Message is what a delivery's first attempt needs, carried in its job.
// In the job's args it is one opaque string (see MarshalJSON).
type Message struct {
	SpaceID    string
	EndpointID string
	URL        string
	Event      string
	RenderID   string
	Payload    []byte
	CreatedAt  int64 // unix ms
	// RenderStored says the render's file was already stored when the
	// delivery was queued, so a render.succeeded need not wait for it.
	RenderStored bool
}

// messageVersion leads the encoding, so it can change.
const messageVersion = 1

// MarshalJSON writes m as one JSON string: base64 of its fields, each
// length-prefixed. Why not a JSON object: River keeps args as jsonb on
// PostgreSQL, which would reorder the payload's keys and change the bytes
// the signatures cover; jsonb's GIN index on args takes an entry per key
// and value for each of a job's row versions (inserted, fetched,
// completed), and one string is one entry; and a payload nested as an
// escaped JSON string costs more to decode than base64 (profiled: the
// nested form was a sixth of the delivery path's Go CPU).
func (m Message) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+len(m.SpaceID)+len(m.EndpointID)+len(m.URL)+len(m.Event)+len(m.RenderID)+len(m.Payload))
	b = append(b, messageVersion)
	for _, f := range [][]byte{[]byte(m.SpaceID), []byte(m.EndpointID), []byte(m.URL), []byte(m.Event), []byte(m.RenderID), m.Payload} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendVarint(b, m.CreatedAt)
	var flags byte
	if m.RenderStored {
		flags |= 1
	}
	b = append(b, flags)
	out := make([]byte, 0, base64.RawStdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.RawStdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Message) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("delivery message: not a JSON string")
	}
	b, err := base64.RawStdEncoding.AppendDecode(nil, data[1:len(data)-1])
	if err != nil {
		return fmt.Errorf("delivery message: %w", err)
	}
	if len(b) == 0 || b[0] != messageVersion {
		return errors.New("delivery message: unknown version")
	}
	b = b[1:]
	var fields [6][]byte
	for i := range fields {
		n, k := binary.Uvarint(b)
		// A field longer than what is left (or than any int) is truncation.
		if k <= 0 || n > math.MaxInt32 || int(n) > len(b)-k {
			return errors.New("delivery message: truncated")
		}
		fields[i], b = b[k:k+int(n)], b[k+int(n):]
	}
	at, k := binary.Varint(b)
	if k <= 0 || len(b) != k+1 {
		return errors.New("delivery message: truncated")
	}
	*m = Message{SpaceID: string(fields[0]), EndpointID: string(fields[1]), URL: string(fields[2]), Event: string(fields[3]),
		RenderID: string(fields[4]), Payload: fields[5], CreatedAt: at, RenderStored: b[k]&1 != 0}
	return nil
}

// maxMessagePayload bounds the payloads carried in job args: a larger one
// (a client's big metadata) is read from the delivery row instead of
// being stored twice.
const maxMessagePayload = 16 << 10

// messageOf returns d as a job's Message, or nil when its payload is too
// large to carry.
func messageOf(d *store.Delivery, renderStored bool) *Message {
	if len(d.Payload) > maxMessagePayload {
		return nil
	}
	return &Message{SpaceID: d.SpaceID, EndpointID: d.EndpointID, URL: d.URL, Event: d.Event, RenderID: d.RenderID,
		Payload: d.Payload, CreatedAt: d.CreatedAt.UnixMilli(), RenderStored: renderStored}
}

// delivery is the pending, never attempted delivery m describes.
func (m *Message) delivery(id string) *store.Delivery {
	at := time.UnixMilli(m.CreatedAt).UTC()
	return &store.Delivery{ID: id, SpaceID: m.SpaceID, EndpointID: m.EndpointID, URL: m.URL, Event: m.Event, RenderID: m.RenderID,
		Payload: m.Payload, Status: store.DeliveryPending, CreatedAt: at, UpdatedAt: at}
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// QueueName is the River queue deliveries run in, apart from renders and
// callbacks: a delivery mostly waits on a receiver, so many run at once.
const QueueName = "webhooks"

// InsertOpts puts deliveries in their own queue.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueName} }

// EnqueueTx fans an event about render r out, in tx: one delivery to every
// enabled endpoint of the space that wants the event, and one to
// webhookURL when given. Each gets its own job, inserted in the same
// transaction. r is the render as tx wrote or read it: whether its file is
// stored (r.StoredAt) goes into the jobs. payload makes the event's body;
// it is called once, and only when there is a target (most renders have
// none, and the body costs a JSON encoding and a file URL's signature).
func (s *Service) EnqueueTx(ctx context.Context, tx store.Tx, spaceID, webhookURL, event string, r *store.Render, payload func() []byte) ([]string, error) {
	endpoints, err := tx.ListWebhookEndpoints(ctx, spaceID)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	now := time.Now().UTC()
	var targets []*store.Delivery
	for _, e := range endpoints {
		if e.Enabled && e.Wants(event) {
			targets = append(targets, &store.Delivery{EndpointID: e.ID, URL: e.URL})
		}
	}
	if webhookURL != "" {
		targets = append(targets, &store.Delivery{URL: webhookURL})
	}
	// Whether the file is stored yet: if so, the first attempts need not
	// check. Sync JSON answers and v1 renders store before they record;
	// binary sync answers and async page renders spool, and their
	// deliveries check (and wait) as before.
	if len(targets) == 0 {
		return nil, nil
	}
	body := payload()
	renderID, renderStored := r.ID, r.StoredAt != nil
	ids := make([]string, 0, len(targets))
	jobs := make([]river.JobArgs, 0, len(targets))
	for _, d := range targets {
		d.ID, d.SpaceID, d.Event, d.RenderID, d.Payload = store.NewID("msg"), spaceID, event, renderID, body
		d.Status, d.CreatedAt, d.UpdatedAt = store.DeliveryPending, now, now
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return nil, fmt.Errorf("create delivery: %w", err)
		}
		ids = append(ids, d.ID)
		jobs = append(jobs, DeliverArgs{DeliveryID: d.ID, Message: messageOf(d, renderStored)})
	}
	if err := s.cfg.Queue.InsertTx(ctx, tx, jobs...); err != nil {
		return nil, err
	}
	return ids, nil
}

// SendTest queues a webhook.test event to one endpoint.
func (s *Service) SendTest(ctx context.Context, e *store.WebhookEndpoint) (string, error) {
	now := time.Now().UTC()
	d := &store.Delivery{ID: store.NewID("msg"), SpaceID: e.SpaceID, EndpointID: e.ID, URL: e.URL, Event: EventTest,
		Payload: TestPayload(e.ID, now), Status: store.DeliveryPending, CreatedAt: now, UpdatedAt: now}
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return err
		}
		return s.cfg.Queue.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID, Message: messageOf(d, false)})
	})
	return d.ID, err
}

// RotateEndpointSecret gives an endpoint a new secret; the stored one
// keeps signing next to it for the rotation window, so receivers can
// switch over. The rotation is conditioned on the secret read just before
// (Store.RotateWebhookEndpointSecret), so the secret kept as previous is
// the one that was signing, and nothing but the secrets changes: a
// concurrent edit or disabling stays. When another rotation wins in
// between, it rotates again from that one.
func (s *Service) RotateEndpointSecret(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	for range 3 {
		e, err := s.cfg.Store.GetWebhookEndpoint(ctx, spaceID, id)
		if err != nil {
			return nil, err
		}
		secret, err := webhook.NewSecret()
		if err != nil {
			return nil, err
		}
		e, err = s.cfg.Store.RotateWebhookEndpointSecret(ctx, spaceID, id, e.Secret, secret, time.Now().UTC())
		if !errors.Is(err, store.ErrConflict) {
			return e, err
		}
	}
	return nil, fmt.Errorf("%w: the secret was rotated concurrently; try again", store.ErrConflict)
}

// RotationWindow is how long a rotated-out endpoint or space webhook
// secret keeps signing next to the new one (Config.RotationWindow).
func (s *Service) RotationWindow() time.Duration { return s.cfg.RotationWindow }

// Redeliver sends a delivery again, as the same message (same webhook-id),
// with a fresh attempt schedule.
func (s *Service) Redeliver(ctx context.Context, d *store.Delivery) error {
	if err := s.cfg.Store.SetDeliveryStatus(ctx, d.ID, store.DeliveryPending); err != nil {
		return err
	}
	return s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		return s.cfg.Queue.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID, Base: len(d.Attempts)})
	})
}
