package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/postgres"
	"github.com/renderhook/renderhook/internal/store/postgres/pgtest"
	"github.com/renderhook/renderhook/internal/store/sqlite"
	"github.com/renderhook/renderhook/internal/store/sqlite/sqlitetest"
	"github.com/renderhook/renderhook/internal/store/storetest"
	"github.com/renderhook/renderhook/webhook"
)

// backends runs fn on a fresh SQLite store, and on PostgreSQL when
// RENDERHOOK_TEST_DATABASE_URL is set; each store has renderhook's and
// River's tables.
func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st := sqlitetest.Open(t)
		migrate(t, st)
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		if !pgtest.Enabled() {
			t.Skip(pgtest.EnvURL + " is not set")
		}
		st, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t), MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		migrate(t, st)
		fn(t, st)
	})
}

func migrate(t *testing.T, st store.Store) {
	t.Helper()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := queue.Migrate(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

// deleteDelivery removes a delivery row behind the store's back, as a
// space deleted meanwhile would.
func deleteDelivery(t *testing.T, st store.Store, id string) {
	t.Helper()
	var err error
	switch s := st.(type) {
	case *sqlite.Store:
		_, err = s.DB().Exec(`DELETE FROM webhook_deliveries WHERE id = ?`, id)
	case *postgres.Store:
		_, err = s.Pool().Exec(context.Background(), `DELETE FROM webhook_deliveries WHERE id = $1`, id)
	default:
		err = fmt.Errorf("store %T", st)
	}
	if err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	st    store.Store
	q     *queue.Queue
	svc   *Service
	w     *worker
	space *store.Space
}

// newFixture builds the delivery service on st with an insert-only queue
// (jobs are inserted for real, and worked here by calling the worker).
func newFixture(t *testing.T, st store.Store, tune ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := Config{Schedule: []time.Duration{0, time.Minute}}
	for _, fn := range tune {
		fn(&cfg)
	}
	q, svc, guard := startService(t, st, queue.Config{InsertOnly: true}, cfg)
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	sp := &store.Space{ID: store.NewID("spc"), Name: "t", WebhookSecret: secret, CreatedAt: time.Now().UTC()}
	if err := st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	w := &worker{s: svc, client: guard.HTTPClient(egress.ClientOptions{Timeout: 5 * time.Second})}
	return &fixture{st: st, q: q, svc: svc, w: w, space: sp}
}

// startService starts the delivery service on st (the guard lets it reach
// loopback receivers) with a River client of its own, configured by qc:
// insert-only, with jobs worked by calling the worker, or working them
// as a node does (then stopped at the test's end).
func startService(t *testing.T, st store.Store, qc queue.Config, cfg Config) (*queue.Queue, *Service, *egress.Guard) {
	t.Helper()
	qc.Store = st
	q, err := queue.New(qc)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Queue, cfg.Guard = st, q, guard
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(q.Workers, q)
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !qc.InsertOnly {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = q.Stop(ctx, 5*time.Second)
		})
	}
	return q, svc, guard
}

// render records a succeeded render, stored or still spooled.
func (f *fixture) render(t *testing.T, stored bool) *store.Render {
	t.Helper()
	now := time.Now().UTC()
	r := &store.Render{ID: store.NewRenderID(), SpaceID: f.space.ID, RequestID: store.NewID("req"), Format: "png",
		Status: store.RenderSucceeded, BlobKey: f.space.ID + "/x.png", CreatedAt: now}
	if stored {
		r.StoredAt = &now
	}
	if err := f.st.InTx(context.Background(), func(tx store.Tx) error { return tx.CreateRender(context.Background(), r) }); err != nil {
		t.Fatal(err)
	}
	return r
}

// enqueue fans a render.succeeded out to url and returns the job River
// stored for it.
func (f *fixture) enqueue(t *testing.T, r *store.Render, url string) *river.Job[DeliverArgs] {
	t.Helper()
	return f.enqueueURL(t, r, url, "https://files.example/x.png")
}

// storedJob is how most delivery tests start: a fixture on st, a receiver
// answering status (running hook, if any, on each POST), and the job of a
// stored render's render.succeeded to that receiver.
func storedJob(t *testing.T, st store.Store, status int, hook func()) (*fixture, *counter, *river.Job[DeliverArgs]) {
	t.Helper()
	f := newFixture(t, st)
	rc := newCounter(t, status, hook)
	return f, rc, f.enqueue(t, f.render(t, true), rc.srv.URL+"/hook")
}

// testMetadata has bytes JSON could re-encode (HTML characters, a line
// separator, keys out of order): the args and a rebuilt payload must carry
// them exactly.
var testMetadata = json.RawMessage(`{"z":"<a&b>","a":"\u00e9\u2028 é"}`)

// enqueueURL is enqueue with the payload's renderUrl.
func (f *fixture) enqueueURL(t *testing.T, r *store.Render, url, renderURL string) *river.Job[DeliverArgs] {
	t.Helper()
	ctx := context.Background()
	payload := SucceededPayload(r.ID, renderURL, 10, r.CreatedAt, r.CreatedAt, Extra{Format: "png", Metadata: testMetadata})
	var ids []string
	err := f.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		ids, err = f.svc.EnqueueTx(ctx, tx, f.space.ID, url, EventRenderSucceeded, r, func() []byte { return payload })
		return err
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("enqueue: %v %v", ids, err)
	}
	res, err := f.q.Client().JobList(ctx, river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).Queues(QueueName).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Jobs {
		var job river.Job[DeliverArgs]
		if err := unmarshalArgs(row, &job); err != nil {
			t.Fatalf("%v: %s", err, row.EncodedArgs)
		}
		if job.Args.DeliveryID == ids[0] {
			return &job
		}
	}
	t.Fatalf("no job for delivery %s", ids[0])
	return nil
}

// run hands the job to the worker as River's nth fetch of it would.
func (f *fixture) run(job *river.Job[DeliverArgs], n int) error {
	row := *job.JobRow
	row.Attempt = 1
	row.AttemptedBy = nil
	for i := range n {
		row.AttemptedBy = append(row.AttemptedBy, fmt.Sprintf("client-%d", i))
	}
	return f.w.Work(context.Background(), &river.Job[DeliverArgs]{JobRow: &row, Args: job.Args})
}

func unmarshalArgs(row *rivertype.JobRow, job *river.Job[DeliverArgs]) error {
	job.JobRow = row
	return json.Unmarshal(row.EncodedArgs, &job.Args)
}

type counter struct {
	srv    *httptest.Server
	n      atomic.Int64
	status int
}

func newCounter(t *testing.T, status int, hook func()) *counter {
	c := &counter{status: status}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c.n.Add(1)
		if hook != nil {
			hook()
		}
		w.WriteHeader(c.status)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// TestFirstRunFromArgs checks that a delivery's job carries what its
// first attempt needs, and that any later run reads the row instead.
func TestFirstRunFromArgs(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f, rc, job := storedJob(t, st, http.StatusOK, nil)
		m := job.Args.Message
		if m == nil || !m.RenderStored || m.URL != rc.srv.URL+"/hook" || m.SpaceID != f.space.ID {
			t.Fatalf("args %+v", m)
		}
		d, err := storetest.FindDelivery(ctx, st, job.Args.DeliveryID)
		if err != nil || !bytes.Equal(m.Payload, d.Payload) || m.CreatedAt != d.CreatedAt.UnixMilli() {
			t.Fatalf("args payload %q, row %+v %v", m.Payload, d, err)
		}
		if err := f.run(job, 1); err != nil {
			t.Fatal(err)
		}
		d, err = storetest.FindDelivery(ctx, st, job.Args.DeliveryID)
		if err != nil || d.Status != store.DeliverySucceeded || len(d.Attempts) != 1 || rc.n.Load() != 1 {
			t.Fatalf("after the first run: %+v %v, %d POSTs", d, err, rc.n.Load())
		}
		// Run again (a job retried by hand): the row says it is done.
		if err := f.run(job, 2); err != nil {
			t.Fatal(err)
		}
		if rc.n.Load() != 1 {
			t.Fatalf("a second run sent it again: %d POSTs", rc.n.Load())
		}

		// A render not stored yet: the args say so, and the first run
		// checks the row and waits.
		job = f.enqueue(t, f.render(t, false), rc.srv.URL+"/hook")
		if job.Args.Message == nil || job.Args.Message.RenderStored {
			t.Fatalf("args %+v", job.Args.Message)
		}
		var snooze *rivertype.JobSnoozeError
		if err := f.run(job, 1); !errors.As(err, &snooze) || rc.n.Load() != 1 {
			t.Fatalf("unstored render: %v, %d POSTs", err, rc.n.Load())
		}
	})
}

// TestRetryReadsRow checks that a run after a failed first attempt counts
// the attempts recorded in the row: with a two-entry schedule, the second
// failure exhausts the delivery.
func TestRetryReadsRow(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f, _, job := storedJob(t, st, http.StatusInternalServerError, nil)
		var snooze *rivertype.JobSnoozeError
		if err := f.run(job, 1); !errors.As(err, &snooze) {
			t.Fatalf("first failure: %v", err)
		}
		if d, _ := storetest.FindDelivery(ctx, st, job.Args.DeliveryID); d.Status != store.DeliveryFailed || len(d.Attempts) != 1 {
			t.Fatalf("after one failure: %+v", d)
		}
		if err := f.run(job, 2); err != nil {
			t.Fatalf("second failure: %v", err)
		}
		if d, _ := storetest.FindDelivery(ctx, st, job.Args.DeliveryID); d.Status != store.DeliveryExhausted || len(d.Attempts) != 2 {
			t.Fatalf("after two failures: %+v", d)
		}
	})
}

// TestRecorderConcurrent checks the group commit: many workers' attempts
// at once, several per delivery, are all recorded, in fewer writes than
// attempts.
func TestRecorderConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		const deliveries, per = 40, 5
		ids := make([]string, deliveries)
		now := time.Now().UTC()
		for i := range ids {
			d := &store.Delivery{ID: store.NewID("msg"), SpaceID: f.space.ID, URL: "https://example.com/h", Event: EventTest,
				Payload: []byte(`{}`), Status: store.DeliveryPending, CreatedAt: now, UpdatedAt: now}
			if err := st.CreateDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			ids[i] = d.ID
		}
		rec := newRecorder(st)
		var writes atomic.Int64
		rec.onWrite = func(int) { writes.Add(1) }
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, deliveries*per)
		for i := range deliveries * per {
			wg.Go(func() {
				<-start
				a := store.DeliveryAttempt{At: now, StatusCode: 500 + i/deliveries, DurationMs: int64(i)}
				errs <- rec.record(ids[i%deliveries], a, store.DeliveryFailed)
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			d, err := storetest.FindDelivery(ctx, st, id)
			if err != nil || len(d.Attempts) != per || d.Status != store.DeliveryFailed {
				t.Fatalf("delivery %s: %+v %v", id, d, err)
			}
			seen := map[int]bool{}
			for _, a := range d.Attempts {
				seen[a.StatusCode] = true
			}
			if len(seen) != per {
				t.Fatalf("delivery %s: attempts %+v", id, d.Attempts)
			}
		}
		if n := writes.Load(); n >= deliveries*per {
			t.Fatalf("%d writes for %d attempts: nothing was grouped", n, deliveries*per)
		} else {
			t.Logf("%d attempts in %d writes", deliveries*per, n)
		}
	})
}

// TestRecordFailureIsJobError checks that an attempt whose record fails
// makes the job fail (River retries it): here its delivery is gone.
func TestRecordFailureIsJobError(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		var id atomic.Value
		f, rc, job := storedJob(t, st, http.StatusOK, func() { deleteDelivery(t, st, id.Load().(string)) })
		id.Store(job.Args.DeliveryID)
		err := f.run(job, 1)
		if !errors.Is(err, store.ErrNotFound) || rc.n.Load() != 1 {
			t.Fatalf("record of a deleted delivery: %v (%d POSTs)", err, rc.n.Load())
		}
	})
}

// TestRecordFailureDatabaseDown is TestRecordFailureIsJobError with the
// database closed under the attempt.
func TestRecordFailureDatabaseDown(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f, rc, job := storedJob(t, st, http.StatusOK, func() { st.Close() })
		err := f.run(job, 1)
		if err == nil || errors.Is(err, store.ErrNotFound) || rc.n.Load() != 1 {
			t.Fatalf("record on a closed database: %v (%d POSTs)", err, rc.n.Load())
		}
		t.Logf("job error: %v", err)
	})
}

// TestMessageEncoding checks that a Message survives its args encoding
// byte for byte, and that damaged args are an error, not a panic.
func TestMessageEncoding(t *testing.T) {
	in := DeliverArgs{DeliveryID: "msg_1", Message: &Message{SpaceID: "spc_1", URL: "https://example.com/h?a=1&b=<2>", Event: EventRenderSucceeded,
		RenderID: "r1", Payload: []byte("{\"a\":\"\\u2028 é <&>\"}\x00\xff"), CreatedAt: -5, RenderStored: true}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out DeliverArgs
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	m, w := out.Message, in.Message
	if m == nil || m.SpaceID != w.SpaceID || m.EndpointID != "" || m.URL != w.URL || m.Event != w.Event || m.RenderID != w.RenderID ||
		!bytes.Equal(m.Payload, w.Payload) || m.CreatedAt != w.CreatedAt || !m.RenderStored {
		t.Fatalf("round trip: %+v, want %+v (%s)", m, w, b)
	}
	enc, _ := w.MarshalJSON()
	for _, bad := range []string{`"`, `""`, `"!!"`, `{}`, string(enc[:len(enc)-5]) + `"`, `"AgAA"`} {
		var m Message
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestEndpointHealthKeepsOwnerEdits checks that marking an endpoint
// failing after an attempt does not write back the endpoint as it was
// read before the attempt: a secret rotated and a description edited
// while the POST was in flight stay.
func TestEndpointHealthKeepsOwnerEdits(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		now := time.Now().UTC()
		oldSecret, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		newSecret, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		ep := &store.WebhookEndpoint{ID: store.NewID("we"), SpaceID: f.space.ID, Events: []string{EventRenderSucceeded},
			Enabled: true, Secret: oldSecret, CreatedAt: now, UpdatedAt: now}
		// The owner rotates the secret and edits the description while the
		// receiver is answering.
		rc := newCounter(t, http.StatusInternalServerError, func() {
			at, desc := time.Now().UTC(), "edited"
			if _, err := st.RotateWebhookEndpointSecret(ctx, f.space.ID, ep.ID, oldSecret, newSecret, at); err != nil {
				t.Error(err)
			}
			if _, err := st.PatchWebhookEndpoint(ctx, f.space.ID, ep.ID, store.EndpointPatch{Description: &desc, At: at}); err != nil {
				t.Error(err)
			}
		})
		ep.URL = rc.srv.URL + "/hook"
		if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		job := f.enqueue(t, f.render(t, true), "")
		var snooze *rivertype.JobSnoozeError
		if err := f.run(job, 1); !errors.As(err, &snooze) || rc.n.Load() != 1 {
			t.Fatalf("failed attempt: %v, %d POSTs", err, rc.n.Load())
		}
		got, err := st.FindWebhookEndpoint(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != newSecret || got.SecretPrev != oldSecret || got.Description != "edited" {
			t.Fatalf("the attempt's health update undid the owner's rotation: secret %q, prev %q, description %q", got.Secret, got.SecretPrev, got.Description)
		}
		if got.FailingSince == nil || !got.Enabled {
			t.Fatalf("after a failed attempt: failing since %v, enabled %v", got.FailingSince, got.Enabled)
		}
	})
}
