package api

import (
	"net/http"
	"time"

	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/endpoint"
	"github.com/renderhook/renderhook/internal/store"
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
	st := s.endpoints.Stats(out.ID)
	out.Breaker, out.InFlight, out.Capped, out.Parked, out.OpenUntil = st.Breaker, st.InFlight, st.Capped, st.Parked, st.OpenUntil
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

// endpointInput is the body of POST and PATCH /api/webhooks; the rules
// are endpoint's.
type endpointInput struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
}

// disabledByAPI is the reason an endpoint disabled here shows.
const disabledByAPI = "disabled through the API"

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusCreated, func(in endpointInput) (*store.WebhookEndpoint, error) {
		return s.endpoints.Create(r.Context(), spaceID(r), endpoint.Input(in), disabledByAPI)
	}, withSecret)
}

// withSecret shows an endpoint with its secret, just created or rotated.
func withSecret(e *store.WebhookEndpoint) endpointJSON { return toEndpointJSON(e, true) }

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	es, err := s.cfg.Store.ListWebhookEndpoints(r.Context(), spaceID(r))
	if err != nil {
		return err
	}
	out := make([]endpointJSON, 0, len(es))
	for _, e := range es {
		out = append(out, s.withStats(toEndpointJSON(e, false)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, func(e *store.WebhookEndpoint) endpointJSON {
		return s.withStats(toEndpointJSON(e, false))
	})(s.cfg.Store.GetWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id")))
}

// patchWebhook changes only the fields the body gives (endpoint.Patch).
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	return decoded(w, r, http.StatusOK, func(in endpointInput) (*store.WebhookEndpoint, error) {
		return s.endpoints.Patch(r.Context(), spaceID(r), r.PathValue("id"), endpoint.Input(in), disabledByAPI)
	}, func(e *store.WebhookEndpoint) endpointJSON { return toEndpointJSON(e, false) })
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.cfg.Store.DeleteWebhookEndpoint(r.Context(), spaceID(r), r.PathValue("id")))
}

// noContent answers 204 unless err.
func noContent(w http.ResponseWriter, err error) error {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
	}
	return err
}

// rotateWebhook gives the endpoint a new secret; the old one keeps signing
// next to it for the rotation window, so receivers can switch over.
func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, withSecret)(s.endpoints.Rotate(r.Context(), spaceID(r), r.PathValue("id")))
}

// rotateSpaceSecret rotates the secret that signs per-request webhook_url
// deliveries; the previous one keeps signing for the rotation window.
func (s *Server) rotateSpaceSecret(w http.ResponseWriter, r *http.Request) error {
	rot, err := s.spaces.RotateWebhookSecret(r.Context(), spaceID(r), s.endpoints.RotationWindow())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhookSecret": rot.Value, "previousValidUntil": rot.PreviousValidUntil})
	return nil
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := s.endpoints.SendTest(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"deliveryId": id, "status": store.DeliveryPending})
	return nil
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
	out.Held = s.endpoints.Held(d)
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

// MarshalJSON sends the stored payload as it is.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, err := endpoint.DeliveryQuery(spaceID(r), r.URL.Query())
	if err != nil {
		return err
	}
	show := func(d *store.Delivery) deliveryJSON { return s.withHeld(d, toDeliveryJSON(d, false)) }
	return paged(w, p.Limit-1, show, deliveryCursor)(s.cfg.Store.ListDeliveries(r.Context(), p))
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	return answered(w, http.StatusOK, func(d *store.Delivery) deliveryJSON {
		return s.withHeld(d, toDeliveryJSON(d, true))
	})(s.cfg.Store.GetDelivery(r.Context(), spaceID(r), r.PathValue("id")))
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) error {
	d, err := s.endpoints.Redeliver(r.Context(), spaceID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"deliveryId": d.ID, "status": store.DeliveryPending})
	return nil
}

// renderStatus serves GET /api/renders/{renderId}.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Store.GetRender(r.Context(), spaceID(r), r.PathValue("renderId"))
	if err != nil {
		return err
	}
	out := map[string]any{"renderId": rec.ID, "status": rec.Status, "renderUrl": nil, "size": nil, "error": nil}
	if rec.Status == store.RenderSucceeded {
		out["size"] = rec.Size
		if rec.StoredAt != nil {
			out["renderUrl"] = s.cfg.Renderer.FileURL(rec)
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
	return nil
}
