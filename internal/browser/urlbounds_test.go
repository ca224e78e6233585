package browser

// Bounds found by an attacker's review of the URL render formats
// (session 8): each test failed before its bound.

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
)

// TestEncodeAVIFBounded: avifenc is not asked to encode an image past
// maxPostPixels (its memory grows with the pixels: 84 MP took 1.4 GB and
// a minute, per render, the node's for every tenant); the render is
// refused as a bad request instead, before avifenc runs.
func TestEncodeAVIFBounded(t *testing.T) {
	if !AVIFAvailable() {
		t.Skip("avifenc not installed (scripts/install-deps.sh)")
	}
	var buf bytes.Buffer
	// One flat grey plane: cheap to make, and quick for avifenc too, so
	// without the bound the encode succeeds.
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 6400, 6400))); err != nil {
		t.Fatal(err)
	}
	_, err := encodeAVIF(context.Background(), buf.Bytes(), 50)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "pixels") {
		t.Fatalf("a 41 MP avif encode: %v, want a bad request over the pixel bound", err)
	}
	small := bytes.Buffer{}
	if err := png.Encode(&small, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	if data, err := encodeAVIF(context.Background(), small.Bytes(), 50); err != nil || len(data) == 0 {
		t.Fatalf("a small encode: %d bytes, %v", len(data), err)
	}
}

// TestRenderURLMHTMLTooLargeInPage: a page whose DOM is past
// MaxArtifactBytes is refused as an mhtml render before Chromium's
// snapshot of it crosses into renderhook's memory (the whole snapshot
// came over the DevTools connection, and was copied again, before its
// size was checked: a page could make the node hold any amount).
func TestRenderURLMHTMLTooLargeInPage(t *testing.T) {
	p := localPool(t)
	js := `document.body.append(document.createComment("x".repeat(` + strconv.Itoa(2*MaxArtifactBytes) + `)))`
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, err := p.RenderURL(context.Background(), URLRequest{HTML: "<p>small</p>", JS: js, Format: FormatMHTML})
	goruntime.ReadMemStats(&after)
	if !errors.Is(err, ErrArtifactTooLarge) {
		t.Fatalf("err = %v, want ErrArtifactTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > MaxArtifactBytes {
		t.Fatalf("refusing a %d MiB page allocated %d MiB in renderhook", 2*MaxArtifactBytes>>20, grew>>20)
	}
}

// TestToolOutputBounded: an encoder that writes without end (ffmpeg's
// stderr once grew without a bound) leaves at most maxToolOutput bytes in
// the server, and its first line still names the failure.
func TestToolOutputBounded(t *testing.T) {
	var out toolOutput
	cmd := exec.Command("sh", "-c", `echo "bad input: no frames"; head -c 8000000 /dev/zero | tr '\0' x; exit 3`)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("run: %v, want exit status 3", err)
	}
	if len(out.String()) != maxToolOutput {
		t.Fatalf("kept %d bytes of 8 MB, want %d", len(out.String()), maxToolOutput)
	}
	if got := firstLine(out.String()); got != "bad input: no frames" {
		t.Fatalf("first line %q", got)
	}
}
