package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

type endpointJSON struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	FailingSince   *time.Time `json:"failingSince,omitempty"`
	Secret         string     `json:"secret,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	// Breaker, InFlight, Capped and Parked are the answering node's view
	// of the endpoint's traffic (delivery.DestinationStats).
	Breaker   string     `json:"breaker"`
	InFlight  int        `json:"inFlight"`
	Capped    int        `json:"capped"`
	Parked    int        `json:"parked"`
	OpenUntil *time.Time `json:"breakerOpenUntil,omitempty"`
}

// withStats adds what this node knows of the endpoint's traffic.
func (s *Server) withStats(out endpointJSON) endpointJSON {
	out.Breaker = delivery.BreakerClosed
	if s.cfg.Notify != nil {
		st := s.cfg.Notify.EndpointStats(out.ID)
		out.Breaker, out.InFlight, out.Capped, out.Parked, out.OpenUntil = st.Breaker, st.InFlight, st.Capped, st.Parked, st.OpenUntil
	}
	return out
}

// toEndpointJSON shows the secret only when it was just created or rotated.
func toEndpointJSON(e *store.WebhookEndpoint, withSecret bool) endpointJSON {
	out := endpointJSON{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if out.Events == nil {
		out.Events = []string{}
	}
	if withSecret {
		out.Secret = e.Secret
	}
	return out
}

type endpointInput struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
}

// checkEndpoint validates the fields in is given (a trimmed URL the
// egress guard accepts, a description of at most 500 characters, known
// events); create says the URL is required.
func (s *Server) checkEndpoint(in *endpointInput, create bool) error {
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		in.URL = &u
	}
	switch {
	case in.URL == nil && create, in.URL != nil && *in.URL == "":
		return fmt.Errorf("%w: url is required", errValidation)
	case in.URL != nil:
		if err := s.cfg.CheckURL(*in.URL); err != nil {
			return fmt.Errorf("%w: url: %v", errValidation, err)
		}
	}
	if in.Description != nil && len(*in.Description) > 500 {
		return fmt.Errorf("%w: description is at most 500 characters", errValidation)
	}
	if in.Events != nil {
		for _, ev := range *in.Events {
			if !slices.Contains(delivery.Events, ev) && ev != "*" {
				return fmt.Errorf("%w: unknown event %q (known: %s)", errValidation, ev, strings.Join(delivery.Events, ", "))
			}
		}
	}
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in endpointInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkEndpoint(&in, true); err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	e := &store.WebhookEndpoint{ID: store.NewID("whe"), SpaceID: spaceID(r), URL: *in.URL, Enabled: true, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		e.Description = *in.Description
	}
	if in.Events != nil {
		e.Events = *in.Events
	}
	if in.Enabled != nil && !*in.Enabled {
		e.Enabled, e.DisabledReason = false, "disabled through the API"
	}
	if err := s.cfg.Store.CreateWebhookEndpoint(r.Context(), e); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toEndpointJSON(e, true))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	es, err := s.cfg.Store.ListWebhookEndpoints(r.Context(), spaceID(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]endpointJSON, 0, len(es))
	for _, e := range es {
		out = append(out, s.withStats(toEndpointJSON(e, false)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Store.GetWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withStats(toEndpointJSON(e, false)))
}

// patchWebhook changes only the fields the body gives, in one statement
// on what is stored: an edit made after another client's rotation, or
// after a 410 disabled the endpoint, leaves those as they are.
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	var in endpointInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkEndpoint(&in, false); err != nil {
		s.fail(w, r, err)
		return
	}
	p := store.EndpointPatch{URL: in.URL, Description: in.Description, Events: in.Events, Enabled: in.Enabled,
		DisabledReason: "disabled through the API", At: time.Now().UTC()}
	e, err := s.cfg.Store.PatchWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEndpointJSON(e, false))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeleteWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotateWebhook gives the endpoint a new secret; the old one keeps signing
// next to it for the rotation window (24 h), so receivers can switch over.
func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Notify.RotateEndpointSecret(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEndpointJSON(e, true))
}

// rotateSpaceSecret rotates the secret that signs per-request webhook_url
// deliveries.
func (s *Server) rotateSpaceSecret(w http.ResponseWriter, r *http.Request) {
	sp, err := s.cfg.Store.GetSpace(r.Context(), spaceID(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	if err := s.cfg.Store.SetWebhookSecret(r.Context(), sp.ID, secret, sp.WebhookSecret, &now); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhookSecret": secret, "previousValidUntil": now.Add(24 * time.Hour)})
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Store.GetWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.cfg.Notify.SendTest(r.Context(), e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"deliveryId": id, "status": store.DeliveryPending})
}

type deliveryJSON struct {
	ID         string                  `json:"id"`
	Event      string                  `json:"event"`
	EndpointID string                  `json:"endpointId,omitempty"`
	URL        string                  `json:"url"`
	RenderID   string                  `json:"renderId,omitempty"`
	Status     string                  `json:"status"`
	Payload    any                     `json:"payload,omitempty"`
	Attempts   []store.DeliveryAttempt `json:"attempts"`
	// Held is "parked" (its endpoint's breaker is open) or "capped" (its
	// destination is at its in-flight cap) when the answering node holds
	// it back; attempts are not spent meanwhile.
	Held      string    `json:"held,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// withHeld says whether this node holds the delivery back.
func (s *Server) withHeld(d *store.Delivery, out deliveryJSON) deliveryJSON {
	if s.cfg.Notify != nil && (d.Status == store.DeliveryPending || d.Status == store.DeliveryFailed) {
		out.Held = s.cfg.Notify.DeliveryHeld(d.SpaceID, d.EndpointID, d.URL, d.ID)
	}
	return out
}

func toDeliveryJSON(d *store.Delivery, withPayload bool) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Event: d.Event, EndpointID: d.EndpointID, URL: d.URL, RenderID: d.RenderID,
		Status: d.Status, Attempts: d.Attempts, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if out.Attempts == nil {
		out.Attempts = []store.DeliveryAttempt{}
	}
	if withPayload {
		out.Payload = rawJSON(d.Payload)
	}
	return out
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := store.ListDeliveriesParams{SpaceID: spaceID(r), RenderID: q.Get("renderId"), EndpointID: q.Get("endpointId"),
		Status: q.Get("status")}
	var err error
	if p.Limit, p.After, err = pageParams(q, "renderId", "endpointId", "status"); err != nil {
		writeError(w, r, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	switch p.Status {
	case "", store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryExhausted:
	default:
		writeError(w, r, http.StatusBadRequest, "invalid_request", "status must be pending, succeeded, failed or exhausted")
		return
	}
	want := p.Limit
	p.Limit++
	ds, err := s.cfg.Store.ListDeliveries(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if len(ds) > want {
		ds = ds[:want]
		c := encodeCursor(&store.RequestLog{ID: ds[want-1].ID, CreatedAt: ds[want-1].CreatedAt})
		next = &c
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, s.withHeld(d, toDeliveryJSON(d, false)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "nextCursor": next})
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.GetDelivery(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withHeld(d, toDeliveryJSON(d, true)))
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.GetDelivery(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Notify.Redeliver(r.Context(), d); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"deliveryId": d.ID, "status": store.DeliveryPending})
}

// renderStatus serves GET /api/renders/{renderId}.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request) {
	rec, err := s.cfg.Store.GetRender(r.Context(), spaceID(r), r.PathValue("renderId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"renderId": rec.ID, "status": rec.Status, "renderUrl": nil, "size": nil, "error": nil}
	if rec.Status == store.RenderSucceeded {
		out["size"] = rec.Size
		if rec.StoredAt != nil {
			out["renderUrl"] = s.cfg.Signer.URL(rec.BlobKey)
		}
	}
	if rec.Error != "" {
		out["error"] = map[string]string{"message": rec.Error}
	}
	meta := map[string]any{"startTime": nil, "endTime": nil}
	if rec.StartedAt != nil {
		meta["startTime"] = delivery.Timestamp(*rec.StartedAt)
	} else if rec.Status != store.RenderQueued {
		meta["startTime"] = delivery.Timestamp(rec.CreatedAt)
	}
	if rec.EndedAt != nil {
		meta["endTime"] = delivery.Timestamp(*rec.EndedAt)
	}
	out["meta"] = meta
	writeJSON(w, http.StatusOK, out)
}
