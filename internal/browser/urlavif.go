package browser

import (
	"bytes"
	"context"
	"fmt"
	"image/png"

	"github.com/gen2brain/avif"
)

// defaultAVIFQuality is the AVIF quality when a request gives none.
const defaultAVIFQuality = 60

// encodeAVIF encodes a PNG screenshot as AVIF at quality (0 means
// defaultAVIFQuality).
func encodeAVIF(ctx context.Context, pngData []byte, quality int) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	if quality == 0 {
		quality = defaultAVIFQuality
	}
	var out bytes.Buffer
	if err := avif.Encode(&out, img, avif.Options{Quality: quality, Speed: 8}); err != nil {
		return nil, fmt.Errorf("encode avif: %w", err)
	}
	_ = ctx
	return out.Bytes(), nil
}
