package browser

import (
	"fmt"
	"strings"
)

// Format is an output format a render can produce.
type Format string

// The output formats the pool can produce.
const (
	FormatPNG  Format = "png"
	FormatJPEG Format = "jpeg"
	FormatWebP Format = "webp"
	FormatPDF  Format = "pdf"
)

// ContentType returns the MIME type of documents in this format, or "" for an
// unknown format.
func (f Format) ContentType() string {
	switch f {
	case FormatPNG:
		return "image/png"
	case FormatJPEG:
		return "image/jpeg"
	case FormatWebP:
		return "image/webp"
	case FormatPDF:
		return "application/pdf"
	}
	return ""
}

// isImage reports whether f is captured as a screenshot rather than printed.
func (f Format) isImage() bool {
	return f == FormatPNG || f == FormatJPEG || f == FormatWebP
}

// ParseFormat turns a user-supplied name (png, jpeg, jpg, webp or pdf, in any
// case) into a Format. The error wraps ErrUnknownFormat.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "png":
		return FormatPNG, nil
	case "jpeg", "jpg":
		return FormatJPEG, nil
	case "webp":
		return FormatWebP, nil
	case "pdf":
		return FormatPDF, nil
	}
	return "", fmt.Errorf("parse format %q: %w", s, ErrUnknownFormat)
}
