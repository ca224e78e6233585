package ui

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/reply"
	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
)

// statusFilters are the choices of the logs page's status filter, in
// order; its "All" is one of them, the empty filter, marked selected when
// no status is asked for.
var statusFilters = []option{
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
	Logs []logRow
	Pager
}

// Pager is what a paged console listing (logs, deliveries) shows around
// its rows: the "filters" partial draws its filter form above them, the
// "listingError" partial its notice and the "pager" partial its links.
type Pager struct {
	// Filters is the listing's filter form, with the filters asked for
	// selected.
	Filters filterForm
	// Error says what was wrong with the query: a bad filter, or a page
	// link that is not one.
	Error string
	// Next is the URL of the next (older) page; First links back to the
	// newest entries once the user has paged.
	Next  string
	First string
}

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	var d logsData
	l := listing[store.ListLogsParams, *store.RequestLog]{
		path: "/ui/logs", what: "entries",
		filters:   []filterSelect{{Name: "status", Label: "Status", Options: statusFilters}},
		badFilter: "The status filter must be a code (404), a class (4xx), succeeded or failed.",
		parse:     requestlog.LogQuery,
		read:      s.cfg.Store.ListRequestLogs,
		limit:     func(p store.ListLogsParams) int { return p.Limit },
		key:       func(l *store.RequestLog) (time.Time, string) { return l.CreatedAt, l.ID },
	}
	logs, status, err := l.page(r.Context(), sess.Space.ID, q, &d.Pager)
	if err != nil {
		return err
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
	s.render(w, r, status, "logs", view{Title: "Logs", Nav: "logs", S: sess, Data: d, files: files})
	return nil
}

// listing is a paged console listing of entries T, read by the API's rule
// for its query P (parse: requestlog.LogQuery, endpoint.DeliveryQuery)
// from the filters and the cursor the console's links carry; other
// parameters, a limit among them, are not the console's and are ignored.
type listing[P, T any] struct {
	// path is the listing's page; filters are the selects of its filter
	// form, whose choices its links carry.
	path    string
	filters []filterSelect
	// what names its entries in the notice of a stale cursor; badFilter
	// is what the page says of a filter parse refuses.
	what, badFilter string
	// parse reads a space's query; read lists what it asks for.
	parse func(spaceID string, q url.Values) (P, error)
	read  func(context.Context, P) ([]T, error)
	// limit is the query's page size plus one: read returns at most
	// that many entries, newest first, and one more than a page means
	// there are older ones.
	limit func(P) int
	// key is an entry's place in the listing, for the next page's cursor.
	key func(T) (time.Time, string)
}

// page reads the page of a space's listing that q asks for and fills pg:
// the filter form with q's filters selected, the link back to the newest
// entries for a paged listing, the link to the next page when there are
// more. A cursor that is not one reads the newest entries instead, with
// pg.Error saying so: a stale bookmark or an edited link does not deserve
// an error page. A bad filter (parse's error wrapping
// requestlog.ErrInvalidQuery) reads nothing and answers 400 with
// badFilter in pg.Error; any other error is returned.
func (l listing[P, T]) page(ctx context.Context, spaceID string, q url.Values, pg *Pager) ([]T, int, error) {
	pg.Filters = filterForm{Action: l.path, Selects: slices.Clone(l.filters)}
	for i := range pg.Filters.Selects {
		pg.Filters.Selects[i].Selected = q.Get(pg.Filters.Selects[i].Name)
	}
	filters := pg.Filters.query()
	in := maps.Clone(filters)
	if c := q.Get("cursor"); c != "" {
		in.Set("cursor", c)
	}
	p, err := l.parse(spaceID, in)
	if errors.Is(err, requestlog.ErrInvalidCursor) {
		in.Del("cursor")
		pg.Error = "That page link is not valid; showing the newest " + l.what + "."
		p, err = l.parse(spaceID, in)
	}
	if errors.Is(err, requestlog.ErrInvalidQuery) {
		// Shown on the listing in its own words, with the table's status.
		pg.Error = l.badFilter
		return nil, reply.For(reply.Console, err).Status, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if in.Has("cursor") {
		pg.First = l.path + "?" + filters.Encode()
	}
	items, err := l.read(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	items, more := requestlog.Cut(items, l.limit(p)-1)
	if more {
		at, id := l.key(items[len(items)-1])
		pg.Next = nextPage(l.path, filters, at, id)
	}
	return items, http.StatusOK, nil
}

// nextPage links to the page of a listing after the entry at, id.
func nextPage(path string, filters url.Values, at time.Time, id string) string {
	nq := maps.Clone(filters)
	nq.Set("cursor", requestlog.EncodeCursor(at, id))
	return path + "?" + nq.Encode()
}

// filterForm is a paged listing's filter form, sent to its page (Action)
// by GET; the layout's "filters" partial draws it.
type filterForm struct {
	Action  string
	Selects []filterSelect
}

// filterSelect is one filter of a listing: a select of its form, and a
// parameter of the query its links carry.
type filterSelect struct {
	// Name is the query parameter, Label what the form calls it.
	Name, Label string
	// All puts an empty option labelled "All" before Options, never
	// marked selected (the browser shows the first option when none is).
	All     bool
	Options []option
	// Selected is the value the request asked for, "" for none.
	Selected string
}

// option is one choice of a filterSelect.
type option struct{ Value, Label string }

// Filtered reports whether the request asked for any filter.
func (f filterForm) Filtered() bool {
	return slices.ContainsFunc(f.Selects, func(s filterSelect) bool { return s.Selected != "" })
}

// query holds the filters asked for, for the listing's links.
func (f filterForm) query() url.Values {
	q := url.Values{}
	for _, s := range f.Selects {
		if s.Selected != "" {
			q.Set(s.Name, s.Selected)
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
