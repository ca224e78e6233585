package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/webhook"
)

// errInvalid marks a form value the user must correct (shown on the form).
var errInvalid = errors.New("invalid")

type endpointsData struct {
	Endpoints []*store.WebhookEndpoint
	Events    []string
	// Form echoes a rejected create form, with its error.
	Form  endpointForm
	Error string
}

type endpointForm struct {
	URL         string
	Description string
	Events      []string
}

func (f endpointForm) Has(ev string) bool { return slices.Contains(f.Events, ev) }

// validateEndpoint applies the API's rules for an endpoint (POST
// /api/webhooks): a URL the egress guard accepts, a description of at most
// 500 characters, and known events (none means all).
func (s *Server) validateEndpoint(f endpointForm) error {
	if f.URL == "" {
		return fmt.Errorf("%w: a URL is required", errInvalid)
	}
	if err := s.cfg.CheckURL(f.URL); err != nil {
		return fmt.Errorf("%w: url: %v", errInvalid, err)
	}
	if len(f.Description) > 500 {
		return fmt.Errorf("%w: the description is at most 500 characters", errInvalid)
	}
	for _, ev := range f.Events {
		if !slices.Contains(delivery.Events, ev) && ev != "*" {
			return fmt.Errorf("%w: unknown event %q", errInvalid, ev)
		}
	}
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderEndpoints(w, r, sess, http.StatusOK, endpointForm{}, "")
}

func (s *Server) renderEndpoints(w http.ResponseWriter, r *http.Request, sess *session, status int, f endpointForm, msg string) {
	es, err := s.cfg.Store.ListWebhookEndpoints(r.Context(), sess.Space.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, status, "webhooks", view{Title: "Webhooks", Nav: "webhooks", S: sess, Data: endpointsData{
		Endpoints: es, Events: delivery.Events, Form: f, Error: msg,
	}})
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	f := endpointForm{
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Events:      r.PostForm["events"],
	}
	if err := s.validateEndpoint(f); err != nil {
		s.renderEndpoints(w, r, sess, http.StatusUnprocessableEntity, f, strings.TrimPrefix(err.Error(), errInvalid.Error()+": "))
		return
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	now := time.Now().UTC()
	e := &store.WebhookEndpoint{
		ID: store.NewID("whe"), SpaceID: sess.Space.ID, URL: f.URL, Description: f.Description, Events: f.Events,
		Enabled: true, Secret: secret, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.cfg.Store.CreateWebhookEndpoint(r.Context(), e); err != nil {
		s.serverError(w, r, err)
		return
	}
	// The secret is shown on this answer only; the endpoint page never
	// shows it again.
	s.renderEndpoint(w, r, sess, e, "Endpoint created. Copy its signing secret now: it is not shown again.", e.Secret)
}

type endpointData struct {
	Endpoint   *store.WebhookEndpoint
	Secret     string
	Notice     string
	Deliveries []*store.Delivery
	// Traffic is this node's view of the endpoint: its cap, breaker, and
	// deliveries capped or parked.
	Traffic delivery.DestinationStats
}

func (s *Server) showEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	e, err := s.cfg.Store.GetWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.renderEndpoint(w, r, sess, e, "", "")
}

func (s *Server) renderEndpoint(w http.ResponseWriter, r *http.Request, sess *session, e *store.WebhookEndpoint, notice, secret string) {
	ds, err := s.cfg.Store.ListDeliveries(r.Context(), store.ListDeliveriesParams{SpaceID: sess.Space.ID, EndpointID: e.ID, Limit: 20})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhook", view{Title: "Endpoint " + e.ID, Nav: "webhooks", S: sess, Data: endpointData{
		Endpoint: e, Secret: secret, Notice: notice, Deliveries: ds, Traffic: s.cfg.Notify.EndpointStats(e.ID),
	}})
}

// patchEndpoint changes only the fields p names on the session's endpoint
// named in the path (404 for another space's), as one statement on what
// is stored, so it cannot undo a concurrent rotation or a 410's disabling.
func (s *Server) patchEndpoint(w http.ResponseWriter, r *http.Request, sess *session, p store.EndpointPatch) (*store.WebhookEndpoint, bool) {
	p.At = time.Now().UTC()
	e, err := s.cfg.Store.PatchWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id"), p)
	if err != nil {
		s.fail(w, r, sess, err)
		return nil, false
	}
	return e, true
}

func (s *Server) enableEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	on := true
	if e, ok := s.patchEndpoint(w, r, sess, store.EndpointPatch{Enabled: &on}); ok {
		http.Redirect(w, r, "/ui/webhooks/"+e.ID+"?done=enabled", http.StatusSeeOther)
	}
}

func (s *Server) disableEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	off := false
	if e, ok := s.patchEndpoint(w, r, sess, store.EndpointPatch{Enabled: &off, DisabledReason: "disabled in the console"}); ok {
		http.Redirect(w, r, "/ui/webhooks/"+e.ID+"?done=disabled", http.StatusSeeOther)
	}
}

// rotateEndpoint gives the endpoint a new secret; the old one keeps signing
// next to it for the rotation window (24 h), as with the API.
func (s *Server) rotateEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	e, err := s.cfg.Notify.RotateEndpointSecret(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.renderEndpoint(w, r, sess, e, "Secret rotated. Copy the new secret now: it is not shown again. The previous secret keeps signing alongside it for 24 hours.", e.Secret)
}

func (s *Server) testEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	e, err := s.cfg.Store.GetWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	id, err := s.cfg.Notify.SendTest(r.Context(), e)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/ui/webhooks/deliveries/"+id+"?done=test", http.StatusSeeOther)
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.cfg.Store.DeleteWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/ui/webhooks?done=deleted", http.StatusSeeOther)
}

// deliveryStatuses are the delivery list's status filter choices.
var deliveryStatuses = []string{store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryExhausted}

type deliveriesData struct {
	Deliveries []*store.Delivery
	Endpoints  []*store.WebhookEndpoint
	Statuses   []string
	Status     string
	EndpointID string
	Error      string
	Next       string
	First      string
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	d := deliveriesData{Statuses: deliveryStatuses, Status: q.Get("status"), EndpointID: q.Get("endpointId")}
	var err error
	if d.Endpoints, err = s.cfg.Store.ListWebhookEndpoints(r.Context(), sess.Space.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	if d.Status != "" && !slices.Contains(deliveryStatuses, d.Status) {
		d.Error = "The status filter must be pending, succeeded, failed or exhausted."
		s.render(w, r, http.StatusBadRequest, "deliveries", view{Title: "Deliveries", Nav: "deliveries", S: sess, Data: d})
		return
	}
	p := store.ListDeliveriesParams{SpaceID: sess.Space.ID, EndpointID: d.EndpointID, Status: d.Status, Limit: pageSize + 1}
	if c := q.Get("cursor"); c != "" {
		cur, ok := decodeCursor(c)
		if !ok {
			d.Error = "That page link is not valid; showing the newest deliveries."
		} else {
			p.After = cur
			d.First = "/ui/webhooks/deliveries?" + filterQuery("status", d.Status, "endpointId", d.EndpointID).Encode()
		}
	}
	ds, err := s.cfg.Store.ListDeliveries(r.Context(), p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(ds) > pageSize {
		ds = ds[:pageSize]
		last := ds[pageSize-1]
		nq := filterQuery("status", d.Status, "endpointId", d.EndpointID)
		nq.Set("cursor", encodeCursor(last.CreatedAt, last.ID))
		d.Next = "/ui/webhooks/deliveries?" + nq.Encode()
	}
	d.Deliveries = ds
	s.render(w, r, http.StatusOK, "deliveries", view{Title: "Deliveries", Nav: "deliveries", S: sess, Data: d})
}

type deliveryData struct {
	Delivery *store.Delivery
	// Live is true while more attempts will come without the user asking;
	// the page then refreshes itself.
	Live bool
	// CanRedeliver is true for a delivery that failed.
	CanRedeliver bool
}

func (s *Server) showDelivery(w http.ResponseWriter, r *http.Request, sess *session) {
	d, err := s.cfg.Store.GetDelivery(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "delivery", view{Title: "Delivery " + d.ID, Nav: "deliveries", S: sess, Data: deliveryData{
		Delivery:     d,
		Live:         d.Status == store.DeliveryPending || d.Status == store.DeliveryFailed,
		CanRedeliver: d.Status == store.DeliveryFailed || d.Status == store.DeliveryExhausted,
	}})
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, sess *session) {
	d, err := s.cfg.Store.GetDelivery(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	if err := s.cfg.Notify.Redeliver(r.Context(), d); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/ui/webhooks/deliveries/"+d.ID+"?done=redelivered", http.StatusSeeOther)
}

// prettyJSON indents a JSON payload or body ([]byte or string) for
// reading; anything that is not JSON is shown as is.
func prettyJSON(v any) string {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return fmt.Sprint(v)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
