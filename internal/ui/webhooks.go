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
	"github.com/renderhook/renderhook/internal/endpoint"
	"github.com/renderhook/renderhook/internal/store"
)

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

// Has reports whether the form ticks event ev.
func (f endpointForm) Has(ev string) bool { return slices.Contains(f.Events, ev) }

// invalidText words an endpoint's broken rule for the console's form.
func invalidText(e *endpoint.InvalidError) string {
	switch e.Rule {
	case endpoint.URLRequired:
		return "a URL is required"
	case endpoint.DescriptionTooLong:
		return fmt.Sprintf("the description is at most %d characters", endpoint.MaxDescription)
	case endpoint.UnknownEvent:
		return fmt.Sprintf("unknown event %q", e.Detail)
	}
	return "url: " + e.Detail
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderEndpoints(w, r, sess, http.StatusOK, endpointForm{}, "")
}

func (s *Server) renderEndpoints(w http.ResponseWriter, r *http.Request, sess *session, status int, f endpointForm, msg string) error {
	es, err := s.cfg.Store.ListWebhookEndpoints(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	s.render(w, r, status, "webhooks", view{Title: "Webhooks", Nav: "webhooks", S: sess, Data: endpointsData{
		Endpoints: es, Events: delivery.Events, Form: f, Error: msg,
	}})
	return nil
}

// createEndpoint makes an endpoint from the form; a form that breaks a
// rule is shown again with what to correct.
func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := endpointForm{
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Events:      r.PostForm["events"],
	}
	e, err := s.endpoints.Create(r.Context(), sess.Space.ID, endpoint.Input{URL: &f.URL, Description: &f.Description, Events: &f.Events}, "")
	var invalid *endpoint.InvalidError
	if errors.As(err, &invalid) {
		return s.renderEndpoints(w, r, sess, http.StatusUnprocessableEntity, f, invalidText(invalid))
	}
	if err != nil {
		return err
	}
	// The secret is shown on this answer only; the endpoint page never
	// shows it again.
	return s.renderEndpoint(w, r, sess, e, "Endpoint created. Copy its signing secret now: it is not shown again.", e.Secret)
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

func (s *Server) showEndpoint(w http.ResponseWriter, r *http.Request, sess *session) error {
	e, err := s.cfg.Store.GetWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderEndpoint(w, r, sess, e, "", "")
}

func (s *Server) renderEndpoint(w http.ResponseWriter, r *http.Request, sess *session, e *store.WebhookEndpoint, notice, secret string) error {
	ds, err := s.cfg.Store.ListDeliveries(r.Context(), store.ListDeliveriesParams{SpaceID: sess.Space.ID, EndpointID: e.ID, Limit: 20})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "webhook", view{Title: "Endpoint " + e.ID, Nav: "webhooks", S: sess, Data: endpointData{
		Endpoint: e, Secret: secret, Notice: notice, Deliveries: ds, Traffic: s.endpoints.Stats(e.ID),
	}})
	return nil
}

// setEnabled turns the session's endpoint named in the path on or off
// (endpoint.Patch: only that field, so it cannot undo a concurrent
// rotation or a 410's disabling), then shows it with notice done.
func (s *Server) setEnabled(on bool, reason, done string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) error {
		e, err := s.endpoints.Patch(r.Context(), sess.Space.ID, r.PathValue("id"), endpoint.Input{Enabled: &on}, reason)
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/ui/webhooks/"+e.ID+"?done="+done, http.StatusSeeOther)
		return nil
	}
}

// rotateEndpoint gives the endpoint a new secret; the old one keeps signing
// next to it for the rotation window, as with the API.
func (s *Server) rotateEndpoint(w http.ResponseWriter, r *http.Request, sess *session) error {
	e, err := s.endpoints.Rotate(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderEndpoint(w, r, sess, e, "Secret rotated. Copy the new secret now: it is not shown again. The previous secret keeps signing alongside it for "+
		spell(s.endpoints.RotationWindow())+".", e.Secret)
}

// spell says a duration in words: "24 hours", "1 hour", else as Go does.
func spell(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "1 hour"
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

func (s *Server) testEndpoint(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, err := s.endpoints.SendTest(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/webhooks/deliveries/"+id+"?done=test", http.StatusSeeOther)
	return nil
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.cfg.Store.DeleteWebhookEndpoint(r.Context(), sess.Space.ID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/webhooks?done=deleted", http.StatusSeeOther)
	return nil
}

type deliveriesData struct {
	Deliveries []*store.Delivery
	Pager
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, sess *session) error {
	es, err := s.cfg.Store.ListWebhookEndpoints(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	statuses := make([]option, 0, len(endpoint.DeliveryStatuses))
	for _, st := range endpoint.DeliveryStatuses {
		statuses = append(statuses, option{st, st})
	}
	endpoints := make([]option, 0, len(es))
	for _, e := range es {
		endpoints = append(endpoints, option{e.ID, e.URL})
	}
	var d deliveriesData
	l := listing[store.ListDeliveriesParams, *store.Delivery]{
		path: "/ui/webhooks/deliveries", what: "deliveries",
		filters: []filterSelect{
			{Name: "status", Label: "Status", All: true, Options: statuses},
			{Name: "endpointId", Label: "Endpoint", All: true, Options: endpoints},
		},
		badFilter: "The status filter must be pending, succeeded, failed or exhausted.",
		parse:     endpoint.DeliveryQuery,
		read:      s.cfg.Store.ListDeliveries,
		limit:     func(p store.ListDeliveriesParams) int { return p.Limit },
		key:       func(d *store.Delivery) (time.Time, string) { return d.CreatedAt, d.ID },
	}
	status := 0
	if d.Deliveries, status, err = l.page(r.Context(), sess.Space.ID, r.URL.Query(), &d.Pager); err != nil {
		return err
	}
	s.render(w, r, status, "deliveries", view{Title: "Deliveries", Nav: "deliveries", S: sess, Data: d})
	return nil
}

type deliveryData struct {
	Delivery *store.Delivery
	// Live is true while more attempts will come without the user asking;
	// the page then refreshes itself.
	Live bool
	// CanRedeliver is true for a delivery that failed.
	CanRedeliver bool
}

func (s *Server) showDelivery(w http.ResponseWriter, r *http.Request, sess *session) error {
	d, err := s.cfg.Store.GetDelivery(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "delivery", view{Title: "Delivery " + d.ID, Nav: "deliveries", S: sess, Data: deliveryData{
		Delivery:     d,
		Live:         d.Status == store.DeliveryPending || d.Status == store.DeliveryFailed,
		CanRedeliver: d.Status == store.DeliveryFailed || d.Status == store.DeliveryExhausted,
	}})
	return nil
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, sess *session) error {
	d, err := s.endpoints.Redeliver(r.Context(), sess.Space.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/webhooks/deliveries/"+d.ID+"?done=redelivered", http.StatusSeeOther)
	return nil
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
