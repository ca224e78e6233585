package server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// serveHTTP serves h with cfg's bounds on a real loopback listener.
func serveHTTP(t *testing.T, cfg HTTPConfig, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := cfg.WithDefaults(0).server(h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestHTTPLargeAnswerOutlivesWriteTimeout: an answer that keeps moving at
// the minimum rate is not cut by the write timeout (a big file from
// /files on a slow link), while without the pacing it would be.
func TestHTTPLargeAnswerOutlivesWriteTimeout(t *testing.T) {
	const size = 16 << 20
	big := bytes.Repeat([]byte("x"), size)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "big.bin", time.Time{}, bytes.NewReader(big))
	})
	// Read at about 8 MiB/s: 2 s, twice the write timeout.
	download := func(base string) (int, error) {
		res, err := http.Get(base)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		total := 0
		buf := make([]byte, 256<<10)
		for {
			time.Sleep(30 * time.Millisecond) // the slow reader under test
			n, err := res.Body.Read(buf)
			total += n
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
		}
	}
	cfg := HTTPConfig{WriteTimeout: time.Second, MinBodyRate: 1 << 20, BodyGrace: time.Second}
	if n, err := download(serveHTTP(t, cfg, h)); err != nil || n != size {
		t.Fatalf("paced: got %d of %d bytes: %v", n, size, err)
	}
	cfg.MinBodyRate = -1
	if n, err := download(serveHTTP(t, cfg, h)); err == nil && n == size {
		t.Fatal("without pacing the write timeout did not cut the download; the test proves nothing")
	}
}

// TestHTTPStalledReaderOfOneBigWrite: an answer written in one Write (as a
// render is) to a client that reads nothing is cut at the write timeout,
// not after the whole answer's time at the minimum rate (64 MiB at 64 KiB/s
// would have earned 17 minutes up front).
func TestHTTPStalledReaderOfOneBigWrite(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 64<<20)
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(big)
		done <- err
	})
	cfg := HTTPConfig{WriteTimeout: 2 * time.Second, MinBodyRate: 64 << 10, BodyGrace: 200 * time.Millisecond}
	base := serveHTTP(t, cfg, h)
	c, err := net.Dial("tcp", base[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing from here on.
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the whole answer was written to a client that reads nothing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a client reading nothing still held the answer after 30 s")
	}
}

// TestDataDirLockedOnSQLite: a second server on one SQLite data dir is
// refused while the first holds it (its restart resume hands back every
// running job, safe only with one process), and starts once it is gone.
func TestDataDirLockedOnSQLite(t *testing.T) {
	dir := t.TempDir()
	a, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := lockDataDir(dir); err == nil {
		b.Close()
		t.Fatal("a second lock of one data dir was granted")
	}
	closeLock(a)
	b, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	closeLock(b)
}
