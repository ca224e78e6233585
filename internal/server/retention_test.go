package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/requestlog"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// tableRows returns every row of every table of the server's database as
// text, by table. River's job args carry a delivery's message as one
// base64 string; it is decoded too, so a secret cannot hide in it.
//
// (tableRows reads SQLite's rows through database/sql and PostgreSQL's
// through pgx; readStrings serves both.)
func tableRows(t *testing.T, st store.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	switch s := st.(type) {
	case *sqlite.Store:
		rows, err := s.DB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		tables := readStrings(t, rows)
		rows.Close()
		for _, tbl := range tables {
			q := `SELECT * FROM "` + tbl + `"`
			if tbl == "river_job" { // args and metadata are SQLite JSONB blobs
				q = `SELECT *, json(args), json(metadata) FROM river_job`
			}
			rows, err := s.DB().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, v := range vals {
					if bs, ok := v.([]byte); ok {
						v = string(bs)
					}
					fmt.Fprintf(&b, "%v\x1f", v)
				}
				out[tbl] = append(out[tbl], b.String())
			}
			rows.Close()
		}
	case *postgres.Store:
		rows, err := s.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		tables := readStrings(t, rows)
		rows.Close()
		for _, tbl := range tables {
			q := `SELECT t::text FROM "` + tbl + `" t`
			if tbl == "river_job" { // the row's text doubles the quotes of its args
				q = `SELECT t::text || ' ' || t.args::text FROM river_job t`
			}
			rows, err := s.Pool().Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out[tbl] = append(out[tbl], readStrings(t, rows)...)
			rows.Close()
		}
	default:
		t.Fatalf("store %T", st)
	}
	if len(out) == 0 {
		t.Fatal("no tables read")
	}
	// Decode the delivery messages in River's job args (jsonb spaces
	// them on PostgreSQL).
	for i, r := range out["river_job"] {
		r = strings.ReplaceAll(r, `"message": "`, `"message":"`)
		for _, part := range strings.Split(r, `"message":"`)[1:] {
			if j := strings.IndexByte(part, '"'); j > 0 {
				if b, err := base64.RawStdEncoding.DecodeString(part[:j]); err == nil {
					out["river_job"][i] += "\x1f" + string(b)
				}
			}
		}
	}
	return out
}

// holding names the tables (and row counts) whose rows contain secret.
func holding(rows map[string][]string, secret string) map[string]int {
	got := map[string]int{}
	for tbl, rs := range rows {
		for _, r := range rs {
			if strings.Contains(r, secret) {
				got[tbl]++
			}
		}
	}
	return got
}

// unfinishedJobWith returns a River job row holding one of secrets that
// is not completed, or "".
func unfinishedJobWith(rows map[string][]string, secrets []string) string {
	for _, row := range rows["river_job"] {
		for _, s := range secrets {
			if strings.Contains(row, s) && !strings.Contains(row, "completed") {
				return row
			}
		}
	}
	return ""
}

// TestRetentionRemovesRequestSecrets sends an async v1 render with a
// cookie, an Authorization header, a webhook_url with a key in its query
// and metadata, lets it render and deliver, then runs retention with its
// cutoff past the render: none of those values is left in any table of
// the database (River's finished jobs, which River's own cleaner removes
// within the same period, are checked apart).
func TestRetentionRemovesRequestSecrets(t *testing.T) {
	e, site := v1Server(t)
	secrets := []string{"COOKIE-s3cr3t-7f1", "AUTH-s3cr3t-8a2", "HOOKKEY-s3cr3t-9b3", "META-s3cr3t-0c4"}
	r := e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"url":         site.URL + "/echo",
		"cookie":      []string{"sid=" + secrets[0]},
		"header":      []string{"Authorization: Bearer " + secrets[1]},
		"webhook_url": site.URL + "/hook?key=" + secrets[2],
		"metadata":    map[string]any{"note": secrets[3]},
	})
	renderID, _ := r.JSON(t)["renderId"].(string)
	h := site.waitHook(t)
	if !strings.Contains(string(h.Body), secrets[3]) || !strings.Contains(string(h.Body), renderID) {
		t.Fatalf("webhook %s", h.Body)
	}
	e.waitCredits(1)
	ctx := context.Background()
	// The request's values are in the database now: what retention must
	// remove (and proof the scan below can find them).
	before := tableRows(t, e.srv.Store)
	for _, s := range secrets {
		if len(holding(before, s)) == 0 {
			t.Fatalf("%s is in no table before retention: the scan finds nothing", s)
		}
	}
	if got := holding(before, secrets[0]); got["renders"] == 0 {
		t.Fatalf("the cookie is not in the render's options: %v", got)
	}

	// Only finished jobs may hold the values (a delivery's message), which
	// River deletes after FinishedJobRetention at most: wait for River to
	// mark the delivery's job completed.
	deadline := time.Now().Add(30 * time.Second)
	for unfinishedJobWith(before, secrets) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("a job holding a secret is not finished: %.300s", unfinishedJobWith(before, secrets))
		}
		time.Sleep(50 * time.Millisecond)
		before = tableRows(t, e.srv.Store)
	}

	p, err := requestlog.Purge(ctx, e.srv.Store, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("purged %+v; before, the values were in %v", p, holding(before, secrets[2]))
	after := tableRows(t, e.srv.Store)
	for _, s := range secrets {
		got := holding(after, s)
		delete(got, "river_job") // checked below
		if len(got) > 0 {
			t.Errorf("%s is still in %v after retention", s, got)
		}
	}
	if row := unfinishedJobWith(after, secrets); row != "" {
		t.Errorf("an unfinished job holds a request's secret: %.300s", row)
	}
	// The render itself stays: its id, status and billing.
	rec, err := e.srv.Store.GetRender(ctx, e.space, renderID)
	if err != nil || rec.Status != store.RenderSucceeded || rec.Options != "" || rec.WebhookURL != "" || rec.Metadata != "" {
		t.Fatalf("render after retention: %+v %v", rec, err)
	}
	if u, _ := e.srv.Store.Usage(ctx, e.space); u.CreditsUsed != 1 {
		t.Fatalf("usage after retention: %+v", u)
	}
	var m map[string]any
	_ = json.Unmarshal(e.mustDo(200, "GET", "/v1/render/"+renderID, e.token, nil).Body, &m)
	if m["status"] != "succeeded" {
		t.Fatalf("status after retention: %v", m)
	}
}

// rowScanner is what database/sql's and pgx's rows share for reading.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
}

// readStrings reads rows of one string column.
func readStrings(t *testing.T, rows rowScanner) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
