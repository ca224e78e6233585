// Package endpoint owns the rules of a space's webhook endpoints and
// their deliveries as clients see them: what an endpoint may be (a URL
// the egress guard accepts, a short description, known events), how it is
// created, changed and rotated, and how deliveries are listed and sent
// again. The JSON API and the console call it; the sending itself is
// delivery's.
package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// ErrInvalid: an endpoint the caller must correct (422). The error is an
// *InvalidError, which says which rule failed so each interface can word
// it.
var ErrInvalid = errors.New("validation failed")

// Rule names what an invalid endpoint breaks.
type Rule int

// The rules of an endpoint.
const (
	// URLRequired: no URL, or a blank one.
	URLRequired Rule = iota + 1
	// URLRefused: the egress guard refuses the URL (Detail says why).
	URLRefused
	// DescriptionTooLong: a description over MaxDescription characters.
	DescriptionTooLong
	// UnknownEvent: an event that is not in delivery.Events nor "*"
	// (Detail is the event).
	UnknownEvent
)

// MaxDescription bounds an endpoint's description, in bytes.
const MaxDescription = 500

// InvalidError is an endpoint that breaks a rule; it wraps ErrInvalid.
type InvalidError struct {
	Rule   Rule
	Detail string
}

// Error is the JSON API's wording, after "validation failed: ".
func (e *InvalidError) Error() string {
	var msg string
	switch e.Rule {
	case URLRequired:
		msg = "url is required"
	case URLRefused:
		msg = "url: " + e.Detail
	case DescriptionTooLong:
		msg = fmt.Sprintf("description is at most %d characters", MaxDescription)
	case UnknownEvent:
		msg = fmt.Sprintf("unknown event %q (known: %s)", e.Detail, strings.Join(delivery.Events, ", "))
	}
	return ErrInvalid.Error() + ": " + msg
}

// Unwrap makes the error an ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Input is a change to an endpoint; nil fields are left as they are.
type Input struct {
	URL         *string
	Description *string
	Events      *[]string
	Enabled     *bool
}

// Service manages a space's webhook endpoints.
type Service struct {
	st       store.Store
	notify   *delivery.Service
	checkURL func(string) error
}

// New returns the service; checkURL is the egress guard's request-time
// check of a client's URL.
func New(st store.Store, notify *delivery.Service, checkURL func(string) error) *Service {
	return &Service{st: st, notify: notify, checkURL: checkURL}
}

// Check validates the fields in gives, trimming its URL first; create
// says the URL is required.
func (s *Service) Check(in *Input, create bool) error {
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		in.URL = &u
	}
	switch {
	case in.URL == nil && create, in.URL != nil && *in.URL == "":
		return &InvalidError{Rule: URLRequired}
	case in.URL != nil:
		if err := s.checkURL(*in.URL); err != nil {
			return &InvalidError{Rule: URLRefused, Detail: err.Error()}
		}
	}
	if in.Description != nil && len(*in.Description) > MaxDescription {
		return &InvalidError{Rule: DescriptionTooLong}
	}
	if in.Events != nil {
		for _, ev := range *in.Events {
			if !slices.Contains(delivery.Events, ev) && ev != "*" {
				return &InvalidError{Rule: UnknownEvent, Detail: ev}
			}
		}
	}
	return nil
}

// Create makes an enabled endpoint (unless in.Enabled is false, when it
// is disabled by disabledReason) with a fresh signing secret, which the
// returned endpoint carries.
func (s *Service) Create(ctx context.Context, spaceID string, in Input, disabledReason string) (*store.WebhookEndpoint, error) {
	if err := s.Check(&in, true); err != nil {
		return nil, err
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("make endpoint secret: %w", err)
	}
	now := time.Now().UTC()
	e := &store.WebhookEndpoint{ID: store.NewID("whe"), SpaceID: spaceID, URL: *in.URL, Enabled: true, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		e.Description = *in.Description
	}
	if in.Events != nil {
		e.Events = *in.Events
	}
	if in.Enabled != nil && !*in.Enabled {
		e.Enabled, e.DisabledReason = false, disabledReason
	}
	if err := s.st.CreateWebhookEndpoint(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// Patch changes only the fields in gives, in one statement on what is
// stored: an edit made after another client's rotation, or after a 410
// disabled the endpoint, leaves those as they are. Disabling records
// disabledReason.
func (s *Service) Patch(ctx context.Context, spaceID, id string, in Input, disabledReason string) (*store.WebhookEndpoint, error) {
	if err := s.Check(&in, false); err != nil {
		return nil, err
	}
	return s.st.PatchWebhookEndpoint(ctx, spaceID, id, store.EndpointPatch{
		URL: in.URL, Description: in.Description, Events: in.Events, Enabled: in.Enabled,
		DisabledReason: disabledReason, At: time.Now().UTC(),
	})
}

// Rotate gives the endpoint a new secret; the old one keeps signing next
// to it for RotationWindow, so receivers can switch over.
func (s *Service) Rotate(ctx context.Context, spaceID, id string) (*store.WebhookEndpoint, error) {
	return s.notify.RotateEndpointSecret(ctx, spaceID, id)
}

// RotationWindow is how long a rotated-out webhook secret keeps signing.
func (s *Service) RotationWindow() time.Duration { return s.notify.RotationWindow() }

// SendTest queues a webhook.test event to the space's endpoint id.
func (s *Service) SendTest(ctx context.Context, spaceID, id string) (string, error) {
	e, err := s.st.GetWebhookEndpoint(ctx, spaceID, id)
	if err != nil {
		return "", err
	}
	return s.notify.SendTest(ctx, e)
}

// Redeliver sends the space's delivery id again, as the same message.
func (s *Service) Redeliver(ctx context.Context, spaceID, id string) (*store.Delivery, error) {
	d, err := s.st.GetDelivery(ctx, spaceID, id)
	if err != nil {
		return nil, err
	}
	// Unwrapped: a sentinel's text is the client's message.
	return d, s.notify.Redeliver(ctx, d)
}

// DeliveryStatuses are the statuses a delivery listing can filter on.
var DeliveryStatuses = []string{store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryExhausted}

// ValidStatus reports whether status is a delivery listing's filter ("" for
// all).
func ValidStatus(status string) bool {
	return status == "" || slices.Contains(DeliveryStatuses, status)
}

// DeliveryQuery reads a delivery listing's query (renderId, endpointId,
// status, limit, cursor); an unknown parameter or value wraps
// requestlog.ErrInvalidQuery. The limit asked for is one more than the
// page, to tell whether another follows.
func DeliveryQuery(spaceID string, q url.Values) (store.ListDeliveriesParams, error) {
	p := store.ListDeliveriesParams{SpaceID: spaceID, RenderID: q.Get("renderId"), EndpointID: q.Get("endpointId"), Status: q.Get("status")}
	var err error
	if p.Limit, p.After, err = requestlog.PageQuery(q, "renderId", "endpointId", "status"); err != nil {
		return p, err
	}
	if !ValidStatus(p.Status) {
		return p, fmt.Errorf("%w: status must be pending, succeeded, failed or exhausted", requestlog.ErrInvalidQuery)
	}
	p.Limit++
	return p, nil
}

// Held says whether this node holds the delivery back: "parked" (its
// endpoint's breaker is open), "capped" (its destination is at its
// in-flight cap) or "" (neither, or it is not waiting).
func (s *Service) Held(d *store.Delivery) string {
	if d.Status != store.DeliveryPending && d.Status != store.DeliveryFailed {
		return ""
	}
	return s.notify.DeliveryHeld(d.SpaceID, d.EndpointID, d.URL, d.ID)
}

// Stats is this node's view of the endpoint's traffic.
func (s *Service) Stats(id string) delivery.DestinationStats { return s.notify.EndpointStats(id) }
