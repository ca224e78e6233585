package callback_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/render/rendertest"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/testkit"
)

// bench is a started queue with the callback workers on SQLite and local
// files, and one space.
type bench struct {
	t     testing.TB
	d     *rendertest.Deps
	dir   string
	space string
}

func setup(t testing.TB) *bench {
	t.Helper()
	dir := t.TempDir()
	b := &bench{t: t, d: rendertest.New(t, dir, nil, false), dir: dir, space: store.NewID("spc")}
	ctx := context.Background()
	if err := b.d.Store.CreateSpace(ctx, &store.Space{ID: b.space, Name: "t", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := b.d.Queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.d.Queue.Stop(context.Background(), time.Second) })
	return b
}

// record records a succeeded render as the pipeline does: its row, its
// log entry, its bytes spooled (unless stored) and jobs(render) queued,
// in one transaction.
func (b *bench) record(data []byte, stored bool, jobs func(*store.Render) []river.JobArgs) *store.Render {
	b.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	r := &store.Render{ID: store.NewID("rnd"), SpaceID: b.space, RequestID: store.NewID("req"), Format: "png",
		Status: store.RenderSucceeded, Size: int64(len(data)), ContentType: "image/png", CreatedAt: now, EndedAt: &now}
	r.BlobKey = b.space + "/" + r.ID + ".png"
	if stored {
		if err := b.d.Bucket.Put(ctx, r.BlobKey, data, r.ContentType); err != nil {
			b.t.Fatal(err)
		}
		r.StoredAt = &now
	}
	l := &store.RequestLog{ID: r.RequestID, SpaceID: b.space, CreatedAt: now, Method: "GET", Path: "/api/render/pg", Status: 200,
		RenderID: r.ID, Format: r.Format, Size: r.Size, CallbackStatus: store.CallbackPending, Callbacks: callback.InitialStates(stored, now)}
	if stored {
		l.FileKey = r.BlobKey
	}
	err := b.d.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateRender(ctx, r); err != nil {
			return err
		}
		if err := tx.CreateRequestLog(ctx, l); err != nil {
			return err
		}
		if !stored {
			if err := tx.SpoolRender(ctx, r.ID, data, now); err != nil {
				return err
			}
		}
		return b.d.Queue.InsertTx(ctx, tx, jobs(r)...)
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

func (b *bench) log(r *store.Render) *store.RequestLog {
	b.t.Helper()
	l, err := b.d.Store.GetRequestLog(context.Background(), b.space, r.RequestID)
	if err != nil {
		b.t.Fatal(err)
	}
	return l
}

// waitLog waits for r's log entry to satisfy cond and returns it.
func (b *bench) waitLog(r *store.Render, what string, cond func(*store.RequestLog) bool) *store.RequestLog {
	b.t.Helper()
	var l *store.RequestLog
	testkit.Eventually(b.t, 20*time.Second, what, func() bool {
		l = b.log(r)
		return cond(l)
	})
	return l
}

func (b *bench) creditsUsed() int64 {
	b.t.Helper()
	u, err := b.d.Store.Usage(context.Background(), b.space)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.CreditsUsed
}

// requireFollowedUp checks what a user sees of a render whose callbacks
// all ran: its file in the bucket and on its log entry, no spooled copy,
// each callback succeeded after the attempts named.
func (b *bench) requireFollowedUp(r *store.Render, data []byte, attempts map[string]int) {
	b.t.Helper()
	ctx := context.Background()
	l := b.waitLog(r, "the callbacks to succeed", func(l *store.RequestLog) bool { return l.CallbackStatus == store.CallbackSucceeded })
	if l.FileKey != r.BlobKey {
		b.t.Fatalf("log file key %q, want %q", l.FileKey, r.BlobKey)
	}
	f, _, err := b.d.Bucket.Open(ctx, r.BlobKey)
	if err != nil {
		b.t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || !bytes.Equal(got, data) {
		b.t.Fatalf("stored file differs from the render's bytes (%v)", err)
	}
	if _, err := b.d.Store.GetSpool(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
		b.t.Fatalf("spooled copy still there: %v", err)
	}
	for name, n := range attempts {
		if st := l.Callbacks[name]; st.State != store.CallbackSucceeded || st.Attempts != n || st.Error != "" {
			b.t.Errorf("callback %s: %+v, want succeeded after %d attempts", name, st, n)
		}
	}
}

var once = map[string]int{store.CallbackStore: 1, store.CallbackLog: 1, store.CallbackCredits: 1}

// TestFollowUp: one job per render bills it, stores its file and attaches
// it to its log entry, each once, whether it was spooled or stored before
// and however often the job runs.
func TestFollowUp(t *testing.T) {
	b := setup(t)
	data := []byte("\x89PNG spooled")
	spooled := b.record(data, false, callback.Jobs)
	b.requireFollowedUp(spooled, data, once)

	stored := b.record(data, true, callback.Jobs)
	b.requireFollowedUp(stored, data, once)
	if n := b.creditsUsed(); n != 2 {
		t.Fatalf("%d credits for two renders", n)
	}

	// The job again (a crash after its commit, before River completed it):
	// nothing is billed, stored or recorded twice.
	ctx := context.Background()
	var res *river.JobListResult
	testkit.Eventually(t, 20*time.Second, "both jobs completed", func() bool {
		var err error
		res, err = b.d.Queue.Client().JobList(ctx, river.NewJobListParams().Kinds(callback.FollowUpArgs{}.Kind()).States("completed"))
		return err == nil && len(res.Jobs) == 2
	})
	if _, err := b.d.Queue.Client().JobRetry(ctx, res.Jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "the job to run again", func() bool {
		j, err := b.d.Queue.Client().JobGet(ctx, res.Jobs[0].ID)
		return err == nil && j.State == "completed" && j.Attempt == 2
	})
	b.requireFollowedUp(spooled, data, once)
	b.requireFollowedUp(stored, data, once)
	if n := b.creditsUsed(); n != 2 {
		t.Fatalf("%d credits after the job ran again, want 2", n)
	}
}

// TestFollowUpRetriesTheStore: while the bucket refuses the file, the
// render is billed, its store step retries with the error visible and the
// log step waits; once the bucket takes it, both succeed, and the credit
// is not billed again.
func TestFollowUpRetriesTheStore(t *testing.T) {
	b := setup(t)
	// A plain file where the space's folder goes: every upload fails (even
	// for root) until it is removed.
	block := filepath.Join(b.dir, "files", b.space)
	if err := os.WriteFile(block, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := []byte("\x89PNG retried")
	r := b.record(data, false, callback.Jobs)
	l := b.waitLog(r, "the store step to retry", func(l *store.RequestLog) bool {
		return l.Callbacks[store.CallbackStore].State == store.CallbackRetrying
	})
	if st := l.Callbacks[store.CallbackStore]; st.Error == "" || st.Attempts != 1 {
		t.Fatalf("store step %+v, want retrying with its error", st)
	}
	if st := l.Callbacks[store.CallbackCredits]; st.State != store.CallbackSucceeded || b.creditsUsed() != 1 {
		t.Fatalf("credits step %+v (%d used), want billed while the store fails", st, b.creditsUsed())
	}
	if st := l.Callbacks[store.CallbackLog]; st.State != store.CallbackPending || l.FileKey != "" || l.CallbackStatus != store.CallbackPending {
		t.Fatalf("log step %+v, file %q, overall %s: want pending with no file", st, l.FileKey, l.CallbackStatus)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	b.requireFollowedUp(r, data, map[string]int{store.CallbackStore: 2, store.CallbackLog: 2, store.CallbackCredits: 1})
	if n := b.creditsUsed(); n != 1 {
		t.Fatalf("%d credits, want 1", n)
	}
}

// TestLegacyJobsStillRun: a render recorded by an earlier version has the
// three callback jobs queued; after an upgrade they still do their work.
func TestLegacyJobsStillRun(t *testing.T) {
	b := setup(t)
	data := []byte("\x89PNG legacy")
	r := b.record(data, false, func(r *store.Render) []river.JobArgs {
		return []river.JobArgs{callback.StoreArgs{RenderID: r.ID}, callback.LogArgs{RenderID: r.ID},
			callback.CreditsArgs{RenderID: r.ID, SpaceID: r.SpaceID}}
	})
	b.requireFollowedUp(r, data, once)
	if n := b.creditsUsed(); n != 1 {
		t.Fatalf("%d credits, want 1", n)
	}
}
