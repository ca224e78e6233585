package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gotenberg is a Gotenberg server asked for a screenshot of the same HTML
// through its HTML screenshot route. It only takes part in the PNG phases.
type gotenberg struct {
	url         string
	body        []byte
	contentType string
	client      *http.Client
}

func (g *gotenberg) name() string { return "gotenberg" }

// newGotenberg prepares the multipart form once; every request sends it
// unchanged.
func newGotenberg(base, html string, clients int) (*gotenberg, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("files", "index.html")
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(fw, html); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		"width":  strconv.Itoa(pageWidth),
		"height": strconv.Itoa(pageHeight),
		// Cut the image to the device size, as renderhook does.
		"clip":   "true",
		"format": "png",
	} {
		if err := w.WriteField(k, v); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &gotenberg{
		url:         strings.TrimRight(base, "/") + "/forms/chromium/screenshot/html",
		body:        b.Bytes(),
		contentType: w.FormDataContentType(),
		client: &http.Client{
			Timeout:   time.Minute,
			Transport: &http.Transport{MaxIdleConnsPerHost: 4 * clients, DisableCompression: true},
		},
	}, nil
}

func (g *gotenberg) render(ctx context.Context, _ int, f format) (result, error) {
	if f != formatPNG {
		return result{}, fmt.Errorf("gotenberg: only png is measured, not %s", f)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(g.body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", g.contentType)
	_, data, err := do(g.client, req, "gotenberg: POST screenshot")
	if err != nil {
		return result{}, err
	}
	return result{data: data}, nil
}
