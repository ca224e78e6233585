package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
)

// The avif format is a PNG screenshot encoded by Debian's avifenc
// (libavif-bin, scripts/install-deps.sh) with libaom, chosen by measurement
// over the pure-Go github.com/gen2brain/avif (libavif compiled to wasm):
// on a 1280×1024 screenshot avifenc is about ten times faster at a like
// size (docs/BENCHMARKS.md). One process per encode, bounded by the
// render's deadline.

// defaultAVIFQuality is the AVIF quality when a request gives none.
const defaultAVIFQuality = 60

// avifSpeed is libaom's speed (0 slowest … 10 fastest): 10 keeps a
// screenshot's encode well under a second.
const avifSpeed = 10

// ErrNoAVIFEncoder: the avif format needs avifenc, which is not installed.
var ErrNoAVIFEncoder = errors.New("avif needs avifenc (Debian's libavif-bin), which is not installed")

var avifencPath = sync.OnceValues(func() (string, error) { return exec.LookPath("avifenc") })

// AVIFAvailable reports whether this machine can make avif renders.
func AVIFAvailable() bool {
	_, err := avifencPath()
	return err == nil
}

// avifencArgs are avifenc's arguments: codec at speed, with quantizer q
// (0 lossless … 63) for colour, 4:2:0, one thread.
func avifencArgs(codec string, speed, q int, in, out string) []string {
	qs := strconv.Itoa(q)
	return []string{"-c", codec, "-s", strconv.Itoa(speed), "-j", "1", "--min", qs, "--max", qs, "-y", "420", in, out}
}

// avifQuantizer maps a quality 1..100 to libavif 0.11's colour quantizer
// (63 … 0), as libavif 1.x maps its own -q.
func avifQuantizer(quality int) int {
	return (100 - quality) * 63 / 100
}

// encodeAVIF encodes a PNG screenshot as AVIF at quality (0 means
// defaultAVIFQuality).
func encodeAVIF(ctx context.Context, pngData []byte, quality int) ([]byte, error) {
	bin, err := avifencPath()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, ErrNoAVIFEncoder)
	}
	if quality == 0 {
		quality = defaultAVIFQuality
	}
	// avifenc holds the image several times over (RGBA, YUV, the
	// encoder's frames): 84 MP took 1.4 GB and a minute. Past
	// maxPostPixels, as an image redrawn in Go, it is refused.
	if cfg, err := png.DecodeConfig(bytes.NewReader(pngData)); err != nil {
		return nil, fmt.Errorf("encode avif: %w", err)
	} else if cfg.Width*cfg.Height > maxPostPixels {
		return nil, fmt.Errorf("%w: an avif capture of %dx%d px is over %d pixels", ErrBadRequest, cfg.Width, cfg.Height, maxPostPixels)
	}
	dir, err := os.MkdirTemp("", "renderhook-avif-")
	if err != nil {
		return nil, fmt.Errorf("encode avif: %w", err)
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.avif")
	if err := os.WriteFile(in, pngData, 0o600); err != nil {
		return nil, fmt.Errorf("encode avif: %w", err)
	}
	// #nosec G204 -- avifenc found on PATH, with our own fixed arguments and temporary file names
	cmd := exec.CommandContext(ctx, bin, avifencArgs("aom", avifSpeed, avifQuantizer(quality), in, out)...)
	var stderr toolOutput
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("encode avif: %w", ctx.Err())
		}
		return nil, fmt.Errorf("encode avif: %w: %s", err, firstLine(stderr.String()))
	}
	data, err := os.ReadFile(out) // #nosec G304 -- our own temporary directory
	if err != nil {
		return nil, fmt.Errorf("encode avif: %w", err)
	}
	return data, nil
}
