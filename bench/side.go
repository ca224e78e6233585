package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/cli"
	"github.com/renderhook/renderhook/internal/render"
	"github.com/renderhook/renderhook/internal/store"
)

// The reference page: quickstart's social card.
const (
	pageWidth  = 1200
	pageHeight = 630
	// quality is what renderhook uses for JPEG and WebP when none is asked
	// for; the floor asks for the same.
	quality = 90
)

// format is an output format, spelled as renderhook's ?format= takes it.
type format string

const (
	formatPNG  format = "png"
	formatJPEG format = "jpeg"
	formatWebP format = "webp"
	formatPDF  format = "pdf"
)

// side is one system under measurement. render must be safe to call from
// several goroutines at once as long as each passes its own worker number,
// below the number of clients the side was set up for.
type side interface {
	name() string
	render(ctx context.Context, worker int, f format) (result, error)
}

// result is one finished render.
type result struct {
	data []byte
	// renderID is renderhook's X-Render-Id, to look up the timings it
	// recorded for the render; "" for the other sides.
	renderID string
	// took, when set, is the render's latency as the side measured it
	// (the v1 side times its API call, not the download after it).
	took time.Duration
	// cache is the v1 side's X-Renderhook-Cache answer.
	cache string
}

// referenceHTML is the HTML renderhook renders for the demo page: the
// quickstart template executed with its variable defaults, by the same code
// the server uses.
func referenceHTML() (string, error) {
	tpl := &store.Template{
		ID: "tpl_bench", HTML: cli.DemoTemplateHTML, Width: pageWidth, Height: pageHeight, Variables: cli.DemoVariables,
	}
	data, err := render.ApplyValues(tpl, nil, render.Tweaks{})
	if err != nil {
		return "", fmt.Errorf("apply demo defaults: %w", err)
	}
	t, err := render.ParseTemplate(tpl.HTML)
	if err != nil {
		return "", fmt.Errorf("parse demo template: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("execute demo template: %w", err)
	}
	return b.String(), nil
}

// checkOutput verifies that data is a document of format f; for PNGs with
// checkSize, also that it is exactly the page size.
func checkOutput(f format, data []byte, checkSize bool) error {
	switch f {
	case formatPNG:
		const sig = "\x89PNG\r\n\x1a\n"
		// Signature, IHDR length and type, then width and height.
		if len(data) < 24 || string(data[:8]) != sig || string(data[12:16]) != "IHDR" {
			return fmt.Errorf("not a PNG (%d bytes)", len(data))
		}
		w, h := binary.BigEndian.Uint32(data[16:20]), binary.BigEndian.Uint32(data[20:24])
		if checkSize && (w != pageWidth || h != pageHeight) {
			return fmt.Errorf("PNG is %dx%d, want %dx%d", w, h, pageWidth, pageHeight)
		}
	case formatJPEG:
		if !bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) {
			return fmt.Errorf("not a JPEG (%d bytes)", len(data))
		}
	case formatWebP:
		if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
			return fmt.Errorf("not a WebP (%d bytes)", len(data))
		}
	case formatPDF:
		if !bytes.HasPrefix(data, []byte("%PDF-")) {
			return fmt.Errorf("not a PDF (%d bytes)", len(data))
		}
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	return nil
}

// pixelDiff decodes two PNGs and counts the pixels that differ, to confirm
// that the floor and renderhook drew the same page.
func pixelDiff(a, b []byte) (int, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, fmt.Errorf("decode first PNG: %w", err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("decode second PNG: %w", err)
	}
	if ia.Bounds() != ib.Bounds() {
		return 0, errors.New("the PNGs differ in size")
	}
	n := 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !sameColor(ia, ib, x, y) {
				n++
			}
		}
	}
	return n, nil
}

func sameColor(a, b image.Image, x, y int) bool {
	r1, g1, b1, a1 := a.At(x, y).RGBA()
	r2, g2, b2, a2 := b.At(x, y).RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}
