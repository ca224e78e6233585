package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

// statusFilters are the choices of the logs page's status filter, in order.
var statusFilters = []struct{ Value, Label string }{
	{"", "All"}, {"succeeded", "Succeeded (2xx–3xx)"}, {"failed", "Failed (4xx–5xx)"},
	{"2xx", "2xx"}, {"4xx", "4xx"}, {"5xx", "5xx"},
	{"400", "400"}, {"401", "401"}, {"402", "402"}, {"404", "404"}, {"422", "422"}, {"503", "503"},
}

// logRow is a log entry with the URL of its file, if stored.
type logRow struct {
	*store.RequestLog
	File string
}

type logsData struct {
	Logs    []logRow
	Status  string
	Filters []struct{ Value, Label string }
	Error   string
	// Next is the URL of the next (older) page; First links back to the
	// newest entries once the user has paged.
	Next  string
	First string
}

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	d := logsData{Status: q.Get("status"), Filters: statusFilters}
	const path = "/ui/logs"
	filters := filterQuery("status", d.Status)
	p, err := listing(path, q, filters, "entries", &d.First, &d.Error, func(q url.Values) (store.ListLogsParams, error) {
		return requestlog.LogQuery(sess.Space.ID, q)
	})
	if err != nil {
		if !errors.Is(err, requestlog.ErrInvalidQuery) {
			return err
		}
		d.Error = "The status filter must be a code (404), a class (4xx), succeeded or failed."
		s.render(w, r, http.StatusBadRequest, "logs", view{Title: "Logs", Nav: "logs", S: sess, Data: d})
		return nil
	}
	logs, err := s.cfg.Store.ListRequestLogs(r.Context(), p)
	if err != nil {
		return err
	}
	logs, more := requestlog.Cut(logs, p.Limit-1)
	if more {
		d.Next = nextPage(path, filters, logs[len(logs)-1].CreatedAt, logs[len(logs)-1].ID)
	}
	var files []string
	for _, l := range logs {
		row := logRow{RequestLog: l}
		if l.FileKey != "" {
			row.File = s.cfg.Signer.URL(l.FileKey)
			files = append(files, row.File)
		}
		d.Logs = append(d.Logs, row)
	}
	s.render(w, r, http.StatusOK, "logs", view{Title: "Logs", Nav: "logs", S: sess, Data: d, files: files})
	return nil
}

// listing reads a console listing's query by the API's rule for it
// (parse: requestlog.LogQuery, endpoint.DeliveryQuery), from the filters
// and the cursor the console's links carry; other parameters, a limit
// among them, are not the console's and are ignored. For a paged listing
// it sets *first to the link back to its newest entries. A cursor that
// is not one reads the newest entries instead, with *notice saying so:
// a stale bookmark or an edited link does not deserve an error page. A
// bad filter is parse's error, wrapping requestlog.ErrInvalidQuery, which
// the page answers with 400 and its own words.
func listing[P any](path string, q, filters url.Values, what string, first, notice *string, parse func(url.Values) (P, error)) (P, error) {
	in := url.Values{}
	for k, v := range filters {
		in[k] = v
	}
	if c := q.Get("cursor"); c != "" {
		in.Set("cursor", c)
	}
	p, err := parse(in)
	if errors.Is(err, requestlog.ErrInvalidCursor) {
		in.Del("cursor")
		*notice = "That page link is not valid; showing the newest " + what + "."
		p, err = parse(in)
	}
	if err == nil && in.Has("cursor") {
		*first = path + "?" + filters.Encode()
	}
	return p, err
}

// nextPage links to the page of a listing after the entry at, id.
func nextPage(path string, filters url.Values, at time.Time, id string) string {
	nq := url.Values{}
	for k, v := range filters {
		nq[k] = v
	}
	nq.Set("cursor", requestlog.EncodeCursor(at, id))
	return path + "?" + nq.Encode()
}

// filterQuery is a query holding the non-empty filters given as pairs.
func filterQuery(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

type callbackRow struct {
	Name string
	store.CallbackState
}

type logData struct {
	Log        *store.RequestLog
	File       string
	Callbacks  []callbackRow
	Deliveries []*store.Delivery
}

func (s *Server) showLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	l, err := s.cfg.Store.GetRequestLog(r.Context(), sess.Space.ID, r.PathValue("requestId"))
	if err != nil {
		return err
	}
	d := logData{Log: l}
	var files []string
	if l.FileKey != "" {
		d.File = s.cfg.Signer.URL(l.FileKey)
		files = append(files, d.File)
	}
	for _, name := range []string{store.CallbackStore, store.CallbackLog, store.CallbackCredits} {
		if st, ok := l.Callbacks[name]; ok {
			d.Callbacks = append(d.Callbacks, callbackRow{name, st})
		}
	}
	if l.RenderID != "" {
		d.Deliveries, err = s.cfg.Store.ListDeliveries(r.Context(), store.ListDeliveriesParams{
			SpaceID: sess.Space.ID, RenderID: l.RenderID, Limit: 100,
		})
		if err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "log", view{Title: "Request " + l.ID, Nav: "logs", S: sess, Data: d, files: files})
	return nil
}

type pair struct{ Key, Value string }

// queryPairs splits a recorded (sanitised, encoded) query for display.
func queryPairs(q string) []pair {
	var out []pair
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		out = append(out, pair{k, v})
	}
	return out
}
