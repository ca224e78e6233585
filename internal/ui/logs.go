package ui

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

const pageSize = 50

// statusFilters are the choices of the logs page's status filter, in order.
var statusFilters = []struct{ Value, Label string }{
	{"", "All"}, {"succeeded", "Succeeded (2xx–3xx)"}, {"failed", "Failed (4xx–5xx)"},
	{"2xx", "2xx"}, {"4xx", "4xx"}, {"5xx", "5xx"},
	{"400", "400"}, {"401", "401"}, {"402", "402"}, {"404", "404"}, {"422", "422"}, {"503", "503"},
}

// parseStatusFilter reads the status filter the way GET /api/logs does: a
// code (404), a class (4xx), succeeded or failed.
func parseStatusFilter(v string) (lo, hi int, ok bool) {
	switch strings.ToLower(v) {
	case "":
		return 0, 0, true
	case "succeeded", "success", "ok":
		return 200, 399, true
	case "failed", "error":
		return 400, 599, true
	}
	if len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx") && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return c, c + 99, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, false
	}
	return n, n, true
}

// encodeCursor and decodeCursor use the API's cursor format, so a cursor
// from one works in the other.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMilli(), 10) + ":" + id))
}

func decodeCursor(s string) (*store.LogCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return nil, false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, false
	}
	return &store.LogCursor{CreatedAt: time.UnixMilli(n).UTC(), ID: id}, true
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

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	d := logsData{Status: q.Get("status"), Filters: statusFilters}
	p := store.ListLogsParams{SpaceID: sess.Space.ID, Limit: pageSize + 1}
	lo, hi, ok := parseStatusFilter(d.Status)
	if !ok {
		d.Error = "The status filter must be a code (404), a class (4xx), succeeded or failed."
		s.render(w, r, http.StatusBadRequest, "logs", view{Title: "Logs", Nav: "logs", S: sess, Data: d})
		return
	}
	p.StatusMin, p.StatusMax = lo, hi
	if c := q.Get("cursor"); c != "" {
		cur, ok := decodeCursor(c)
		if !ok {
			d.Error = "That page link is not valid; showing the newest entries."
		} else {
			p.After = cur
			d.First = "/ui/logs?" + filterQuery("status", d.Status).Encode()
		}
	}
	logs, err := s.cfg.Store.ListRequestLogs(r.Context(), p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(logs) > pageSize {
		logs = logs[:pageSize]
		last := logs[pageSize-1]
		nq := filterQuery("status", d.Status)
		nq.Set("cursor", encodeCursor(last.CreatedAt, last.ID))
		d.Next = "/ui/logs?" + nq.Encode()
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

func (s *Server) showLog(w http.ResponseWriter, r *http.Request, sess *session) {
	l, err := s.cfg.Store.GetRequestLog(r.Context(), sess.Space.ID, r.PathValue("requestId"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
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
			s.serverError(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "log", view{Title: "Request " + l.ID, Nav: "logs", S: sess, Data: d, files: files})
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
