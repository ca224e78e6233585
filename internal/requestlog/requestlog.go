// Package requestlog keeps the log of requests to the render endpoints:
// sanitising what is recorded, and the periodic job that enforces the
// retention period on everything a request left behind (Purge).
package requestlog

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/store"
)

// maxRecorded bounds the query and body kept per entry.
const maxRecorded = 4096

// secretName matches parameter and field names whose values are never
// recorded: secret-looking names, a page render's gt (the space's
// GET-render token), the v1 header and proxy options (which may carry credentials),
// and the storage credentials (s3_key, s3_secret, s3_presigned_url, a
// space storage body's accessKey and secretKey).
var secretName = regexp.MustCompile(`(?i)(token|secret|password|passwd|authorization|api[_-]?key|signature|cookie|credential|presigned|^s3_key$|^accesskey$|^gt$|^header$|^proxy$)`)

const redacted = "[redacted]"

// SanitizeQuery returns the query with secret-looking parameters redacted,
// in a stable order, truncated to a bounded size.
func SanitizeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			if secretName.MatchString(k) {
				v = redacted
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return truncate(b.String())
}

// SanitizeBody returns a JSON body with secret-looking fields redacted at
// any depth; a body that is not JSON is not recorded.
func SanitizeBody(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "(not JSON, not recorded)"
	}
	out, err := json.Marshal(redact(v))
	if err != nil {
		return ""
	}
	return truncate(string(out))
}

func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if secretName.MatchString(k) {
				x[k] = redacted
			} else {
				x[k] = redact(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redact(e)
		}
	}
	return v
}

func truncate(s string) string {
	if len(s) <= maxRecorded {
		return s
	}
	return s[:maxRecorded] + "…(truncated)"
}

// Purged counts what one Purge deleted or scrubbed.
type Purged struct {
	Logs       int64 // request_logs rows deleted
	Renders    int64 // renders rows scrubbed (options, webhook_url, metadata)
	Spool      int64 // render_spool rows deleted
	Deliveries int64 // webhook_deliveries rows deleted, payloads and attempts with them
}

// Purge removes what requests made before cutoff left behind, table by
// table:
//   - request_logs: deleted;
//   - renders: kept (ids, status, size and billing stay), but the
//     request's options (a v1 client's cookies, headers, credentials),
//     its webhook_url and its metadata are emptied;
//   - render_spool: deleted (bytes whose store callback never finished);
//   - webhook_deliveries: deleted when also unchanged since cutoff (a
//     delivery still being retried or just redelivered stays until it is
//     done), taking their payloads and the receivers' answers with them.
//
// Kept: credit_ledger (billing, ids and amounts only), the space's own
// resources (templates, pages, endpoints, tokens), and the stored files,
// which are what a renderUrl serves. River's job rows carry ids (and a
// delivery's message) and are deleted by River's own cleaner.
func Purge(ctx context.Context, st store.Store, cutoff time.Time) (Purged, error) {
	var p Purged
	var err error
	if p.Logs, err = st.DeleteRequestLogsBefore(ctx, cutoff); err != nil {
		return p, fmt.Errorf("delete old logs: %w", err)
	}
	if p.Renders, err = st.ScrubRendersBefore(ctx, cutoff); err != nil {
		return p, fmt.Errorf("scrub old renders: %w", err)
	}
	if p.Spool, err = st.DeleteSpoolBefore(ctx, cutoff); err != nil {
		return p, fmt.Errorf("delete old spool: %w", err)
	}
	if p.Deliveries, err = st.DeleteDeliveriesBefore(ctx, cutoff); err != nil {
		return p, fmt.Errorf("delete old deliveries: %w", err)
	}
	return p, nil
}

// RetentionArgs runs Purge for what is older than the retention period.
type RetentionArgs struct{}

// Kind is the River job kind.
func (RetentionArgs) Kind() string { return "requestlog.retention" }

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	store     store.Store
	retention time.Duration
	log       *slog.Logger
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	p, err := Purge(ctx, w.store, time.Now().Add(-w.retention))
	if err != nil {
		return err
	}
	if p != (Purged{}) {
		w.log.Info("retention: removed what old requests left", "logs", p.Logs, "renders_scrubbed", p.Renders,
			"spool", p.Spool, "deliveries", p.Deliveries, "retention", w.retention)
	}
	return nil
}

// The defaults of Retention's retention period and interval, for zero
// arguments.
const (
	DefaultRetention = 30 * 24 * time.Hour
	DefaultInterval  = time.Hour
)

// Retention registers the retention worker and returns its periodic job,
// run at start and then every interval; it removes what is older than
// retention. A zero duration selects its default; a nil log, slog.Default().
func Retention(workers *river.Workers, st store.Store, retention, interval time.Duration, log *slog.Logger) *river.PeriodicJob {
	retention, interval = cmp.Or(retention, DefaultRetention), cmp.Or(interval, DefaultInterval)
	river.AddWorker(workers, &retentionWorker{store: st, retention: retention, log: cmp.Or(log, slog.Default())})
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
