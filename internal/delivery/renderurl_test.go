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
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/blob/s3test"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/storetest"
)

// expiringFiles makes file URLs that expire ttl after they were made, on
// a clock the test moves, and serves them: 200 before expiry, 403 after.
type expiringFiles struct {
	srv *httptest.Server
	now atomic.Int64 // unix seconds
	ttl time.Duration
	n   atomic.Int64
}

func newExpiringFiles(t *testing.T, ttl time.Duration) *expiringFiles {
	e := &expiringFiles{ttl: ttl}
	e.now.Store(time.Now().Unix())
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		exp, err := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
		if err != nil || e.now.Load() > exp {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("file"))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *expiringFiles) FileURL(_ context.Context, key string) (string, error) {
	exp := e.now.Load() + int64(e.ttl/time.Second)
	return fmt.Sprintf("%s/files/%s?exp=%d&n=%d", e.srv.URL, key, exp, e.n.Add(1)), nil
}

func (e *expiringFiles) advance(d time.Duration) { e.now.Add(int64(d / time.Second)) }

// downloader is a webhook receiver that downloads the renderUrl of every
// render.succeeded it gets, as a receiver would, and answers the next of
// its statuses.
type downloader struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []download
}

type download struct {
	url    string
	status int // of the download
	body   []byte
}

func (d download) String() string { return fmt.Sprintf("%s -> %d", d.url, d.status) }

func newDownloader(t *testing.T, statuses ...int) *downloader {
	d := &downloader{statuses: statuses}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Result struct {
				RenderURL string `json:"renderUrl"`
			} `json:"result"`
		}
		_ = json.Unmarshal(body, &p)
		dl := download{url: p.Result.RenderURL, body: body}
		if res, err := http.Get(p.Result.RenderURL); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			dl.status = res.StatusCode
		}
		d.mu.Lock()
		d.got = append(d.got, dl)
		status := d.statuses[min(len(d.got), len(d.statuses))-1]
		d.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *downloader) downloads() []download {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]download(nil), d.got...)
}

// TestRetryGetsFreshRenderURL checks that a render.succeeded retried after
// its queued renderUrl expired, and a redelivery days later, each carry a
// renderUrl made when they are sent, which downloads; the prompt first
// attempt sends the queued one.
func TestRetryGetsFreshRenderURL(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		files := newExpiringFiles(t, time.Hour)
		f := newFixture(t, st, func(c *Config) { c.Files, c.FileURLLifetime = files, time.Hour })
		rc := newDownloader(t, http.StatusInternalServerError, http.StatusOK)
		r := f.render(t, true)
		queuedURL, _ := files.FileURL(ctx, r.BlobKey)
		job := f.enqueueURL(t, r, rc.srv.URL+"/hook", queuedURL)

		var snooze *rivertype.JobSnoozeError
		if err := f.run(job, 1); !errors.As(err, &snooze) {
			t.Fatalf("first attempt: %v", err)
		}
		files.advance(2 * time.Hour) // the retry comes after the queued URL expired
		if err := f.run(job, 2); err != nil {
			t.Fatalf("retry: %v", err)
		}
		got := rc.downloads()
		if len(got) != 2 {
			t.Fatalf("%d POSTs, want 2", len(got))
		}
		if got[0].url != queuedURL || got[0].status != http.StatusOK {
			t.Fatalf("first attempt: renderUrl %s (download %d), want the queued %s", got[0].url, got[0].status, queuedURL)
		}
		if got[1].url == queuedURL || got[1].status != http.StatusOK {
			t.Fatalf("retry after expiry: renderUrl %s answered %d, want a fresh URL that downloads", got[1].url, got[1].status)
		}
		// Everything but the renderUrl is the payload as queued.
		want, _ := WithRenderURL(got[0].body, got[1].url)
		if !bytes.Equal(got[1].body, want) || !bytes.Contains(got[1].body, []byte(`"metadata":{"z":"<a&b>"`)) {
			t.Fatalf("retried payload %s, want %s", got[1].body, want)
		}

		// A redelivery a day later: a fresh URL again.
		d, err := storetest.FindDelivery(ctx, st, job.Args.DeliveryID)
		if err != nil || d.Status != store.DeliverySucceeded {
			t.Fatalf("delivery %+v %v", d, err)
		}
		if err := f.svc.Redeliver(ctx, d); err != nil {
			t.Fatal(err)
		}
		files.advance(24 * time.Hour)
		redo := *job
		redo.Args = DeliverArgs{DeliveryID: d.ID, Base: len(d.Attempts)}
		if err := f.run(&redo, 1); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
		if got := rc.downloads(); len(got) != 3 || got[2].status != http.StatusOK || got[2].url == got[1].url {
			t.Fatalf("redelivery: %v", got)
		}
	})
}

// TestLateFirstAttemptGetsFreshRenderURL checks the first attempt's fast
// path: a message queued longer ago than half its URL's lifetime is sent
// with a renderUrl made afresh.
func TestLateFirstAttemptGetsFreshRenderURL(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		files := newExpiringFiles(t, time.Hour)
		// Lifetime as the delivery service knows it: short enough that the
		// message is past half of it when the worker runs.
		f := newFixture(t, st, func(c *Config) { c.Files, c.FileURLLifetime = files, 2*time.Millisecond })
		rc := newDownloader(t, http.StatusOK)
		r := f.render(t, true)
		queuedURL, _ := files.FileURL(ctx, r.BlobKey)
		job := f.enqueueURL(t, r, rc.srv.URL+"/hook", queuedURL)
		for time.Since(time.UnixMilli(job.Args.Message.CreatedAt)) < 2*time.Millisecond {
			time.Sleep(time.Millisecond) // the message must be older than half the lifetime
		}
		if err := f.run(job, 1); err != nil {
			t.Fatal(err)
		}
		if got := rc.downloads(); len(got) != 1 || got[0].url == queuedURL || got[0].status != http.StatusOK {
			t.Fatalf("late first attempt: %v, queued %s", got, queuedURL)
		}
	})
}

// TestRetryGetsFreshPresignedURL is TestRetryGetsFreshRenderURL on a real
// S3 server (MinIO, under ./scripts/with-test-backends.sh) with presigned
// URLs that expire after 2 s: the retry, sent once the queued URL answers
// 403, carries one that downloads.
func TestRetryGetsFreshPresignedURL(t *testing.T) {
	if !s3test.Enabled() {
		t.Skip(s3test.EnvURL + " is not set")
	}
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		b, err := blob.OpenURL(ctx, s3test.URL(t), blob.Options{URLExpiry: 2 * time.Second, CreateBucket: true})
		if err != nil {
			t.Fatal(err)
		}
		signer := blob.NewSigner([]byte("k"), "http://127.0.0.1:1").WithBucket(b)
		lifetime := b.(interface{ URLLifetime() time.Duration }).URLLifetime()
		if lifetime != 2*time.Second {
			t.Fatalf("URLLifetime %s", lifetime)
		}
		f := newFixture(t, st, func(c *Config) { c.Files, c.FileURLLifetime = signer, lifetime })
		r := f.render(t, true)
		if err := b.Put(ctx, r.BlobKey, []byte("png bytes"), "image/png"); err != nil {
			t.Fatal(err)
		}
		queuedURL, err := signer.FileURL(ctx, r.BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		rc := newDownloader(t, http.StatusInternalServerError, http.StatusOK)
		job := f.enqueueURL(t, r, rc.srv.URL+"/hook", queuedURL)
		var snooze *rivertype.JobSnoozeError
		if err := f.run(job, 1); !errors.As(err, &snooze) {
			t.Fatalf("first attempt: %v", err)
		}
		// Wait for the queued URL to expire (S3 counts in seconds).
		deadline := time.Now().Add(15 * time.Second)
		for {
			res, err := http.Get(queuedURL)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode == http.StatusForbidden {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the queued URL still answers %d", res.StatusCode)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := f.run(job, 2); err != nil {
			t.Fatalf("retry: %v", err)
		}
		got := rc.downloads()
		if len(got) != 2 || got[0].status != http.StatusOK || got[1].status != http.StatusOK || got[1].url == queuedURL {
			t.Fatalf("downloads %v (queued %s)", got, queuedURL)
		}
	})
}

// TestWithRenderURL checks that swapping the renderUrl leaves every other
// byte as SucceededPayload made it (metadata included), and refuses what is
// not a render.succeeded.
func TestWithRenderURL(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	x := Extra{RequestID: "req_1", PageID: "pg_1", Format: "png", Metadata: testMetadata}
	got, err := WithRenderURL(SucceededPayload("r1", "https://old.example/a?x=1", 10, at, at, x), "https://new.example/a?X-Amz-Signature=<&>")
	if err != nil {
		t.Fatal(err)
	}
	if want := SucceededPayload("r1", "https://new.example/a?X-Amz-Signature=<&>", 10, at, at, x); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, p := range [][]byte{FailedPayload("r1", "boom", at, at, x), TestPayload("we_1", at), []byte("not json")} {
		if _, err := WithRenderURL(p, "https://new.example/a"); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}

// TestWithFileURLs checks that a render.succeeded's renderUrl and each
// artifact URL it names are made anew from the file's key (an artifact's
// from its own key), artifacts it does not name stay absent, and every
// other byte is as SucceededPayload made it.
func TestWithFileURLs(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	x := Extra{Format: "png", Metadata: testMetadata, HTMLURL: "https://old.example/a.html", MarkdownURL: "https://old.example/a.md",
		PageMetadata: json.RawMessage(`{"title":"t"}`)}
	fresh := func(k string) (string, error) { return "https://new.example/" + k + "?sig=1", nil }
	got, err := WithFileURLs(SucceededPayload("r1", "https://old.example/a.png", 10, at, at, x), "spc/2026/r1.png", fresh)
	if err != nil {
		t.Fatal(err)
	}
	x.HTMLURL, x.MarkdownURL = "https://new.example/spc/2026/r1.html?sig=1", "https://new.example/spc/2026/r1.md?sig=1"
	if want := SucceededPayload("r1", "https://new.example/spc/2026/r1.png?sig=1", 10, at, at, x); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := WithFileURLs(FailedPayload("r1", "boom", at, at, x), "k.png", fresh); err == nil {
		t.Error("render.failed: no error")
	}
}
