// Package requestlog keeps the log of requests to the render endpoints:
// sanitising what is recorded, and the periodic job that enforces the
// retention period.
package requestlog

import (
	"bytes"
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
// GET-render token) and the v1 header option (which may carry credentials).
var secretName = regexp.MustCompile(`(?i)(token|secret|password|passwd|authorization|api[_-]?key|signature|cookie|credential|^gt$|^header$)`)

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

// RetentionArgs deletes log entries older than the retention period.
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
	n, err := w.store.DeleteRequestLogsBefore(ctx, time.Now().Add(-w.retention))
	if err != nil {
		return fmt.Errorf("delete old logs: %w", err)
	}
	if n > 0 {
		w.log.Info("deleted old request logs", "count", n, "retention", w.retention)
	}
	return nil
}

// Retention registers the retention worker and returns its periodic job,
// run at start and then every interval.
func Retention(workers *river.Workers, st store.Store, retention, interval time.Duration, log *slog.Logger) *river.PeriodicJob {
	river.AddWorker(workers, &retentionWorker{store: st, retention: retention, log: log})
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
