// Package rendertest wires what a render service stands on in tests: a
// migrated SQLite store, local files, a file-URL signer, the egress guard,
// River with the callback and delivery workers registered. The browser is
// the test's own.
package rendertest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/queue/queuetest"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// SignerBase is the base URL of the signed file URLs.
const SignerBase = "http://renderhook.test"

// Deps is a render service's collaborators, the queue not yet started.
type Deps struct {
	// DB is the store River works on; Store is what the services use
	// (DB, or DB wrapped).
	DB     *sqlite.Store
	Store  store.Store
	Bucket blob.Bucket
	Signer *blob.Signer
	Guard  *egress.Guard
	Queue  *queue.Queue
	Notify *delivery.Service
}

// New makes the collaborators under dir. wrap, when not nil, wraps the
// store the services use (River keeps the real one); insertOnly keeps
// River from working jobs, so they are recorded and nothing changes
// behind a test's back.
func New(t testing.TB, dir string, wrap func(store.Store) store.Store, insertOnly bool) *Deps {
	t.Helper()
	ctx := context.Background()
	d := &Deps{DB: queuetest.SQLite(t, dir)}
	d.Store = d.DB
	if wrap != nil {
		d.Store = wrap(d.DB)
	}
	var err error
	if d.Bucket, err = blob.OpenURL(ctx, "file://"+filepath.Join(dir, "files"), blob.Options{}); err != nil {
		t.Fatal(err)
	}
	d.Signer = blob.NewSigner(bytes.Repeat([]byte{7}, 32), SignerBase).WithBucket(d.Bucket)
	if d.Guard, err = egress.New(egress.Config{}); err != nil {
		t.Fatal(err)
	}
	if d.Queue, err = queue.New(queue.Config{Store: d.DB, InsertOnly: insertOnly}); err != nil {
		t.Fatal(err)
	}
	callback.Register(d.Queue.Workers, d.Queue, callback.Config{Store: d.Store, Bucket: d.Bucket})
	if d.Notify, err = delivery.New(delivery.Config{Store: d.Store, Queue: d.Queue, Guard: d.Guard}); err != nil {
		t.Fatal(err)
	}
	d.Notify.Register(d.Queue.Workers, d.Queue)
	return d
}

// Config is a render.Config on these collaborators with browser b for
// template and URL renders.
func (d *Deps) Config(b interface {
	render.Browser
	render.URLBrowser
}) render.Config {
	return render.Config{Store: d.Store, Browser: b, URLBrowser: b, Bucket: d.Bucket, Signer: d.Signer, Queue: d.Queue, Notify: d.Notify}
}
