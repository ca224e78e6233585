package testkit

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSolidPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(SolidPNG(t, 3, 2, color.RGBA{0, 0, 255, 255})))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("size %v, want 3×2", b)
	}
	if r, g, b, a := img.At(2, 1).RGBA(); r != 0 || g != 0 || b != 0xffff || a != 0xffff {
		t.Fatalf("pixel %d %d %d %d, want blue", r, g, b, a)
	}
}

func TestStartOn(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "hi") }))
	if err := StartOn(t, s, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); string(b) != "hi" {
		t.Fatalf("got %q", b)
	}
	if err := StartOn(t, httptest.NewUnstartedServer(http.NotFoundHandler()), "256.0.0.1:0"); err == nil {
		t.Fatal("listening on a bad address succeeded")
	}
}

func TestEventually(t *testing.T) {
	var n atomic.Int64
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	Eventually(t, 10*time.Second, "three counts", func() bool { return n.Load() == 3 })
}

func TestJSON(t *testing.T) {
	type v struct{ A, B int }
	if got := RoundTrip[v](t, v{1, 2}); got != (v{1, 2}) {
		t.Fatalf("got %+v", got)
	}
	var b SyncBuffer
	fmt.Fprint(&b, "x")
	fmt.Fprint(&b, "y")
	if b.String() != "xy" {
		t.Fatalf("got %q", b.String())
	}
}

// TestOnlyTestsImportIt: testkit is for tests; no production file imports it.
func TestOnlyTestsImportIt(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, im := range f.Imports {
			if im.Path.Value == `"github.com/renderhook/renderhook/internal/testkit"` {
				t.Errorf("%s imports testkit, which is for tests only", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d production files from %s; the walk missed the tree", files, root)
	}
}
