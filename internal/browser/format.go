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

	// URL renders only (ParseURLFormat; urlextract.go).

	// FormatAVIF is a screenshot encoded as AVIF.
	FormatAVIF Format = "avif"
	// FormatHTML is the page's DOM as serialised after its scripts ran.
	FormatHTML Format = "html"
	// FormatMHTML is Chromium's MHTML snapshot of the page (the document
	// and its resources as one MIME multipart/related message).
	FormatMHTML Format = "mhtml"
	// FormatMarkdown is Markdown of the page's main content.
	FormatMarkdown Format = "md"
	// FormatMP4 and FormatWebM are a video of the page scrolling
	// (urlvideo.go): H.264 in MP4, VP8 or VP9 in WebM.
	FormatMP4  Format = "mp4"
	FormatWebM Format = "webm"
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
	case FormatAVIF:
		return "image/avif"
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatMHTML:
		return "multipart/related"
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatMP4:
		return "video/mp4"
	case FormatWebM:
		return "video/webm"
	}
	return ""
}

// IsText reports whether f is text taken from the page's DOM (html,
// mhtml, md) rather than a picture of it.
func (f Format) IsText() bool {
	return f == FormatHTML || f == FormatMHTML || f == FormatMarkdown
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

// ParseURLFormat is ParseFormat for URL renders, which also make avif,
// html, mhtml, md, mp4 and webm.
func ParseURLFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatAVIF, FormatHTML, FormatMHTML, FormatMarkdown, FormatMP4, FormatWebM:
		return f, nil
	}
	return ParseFormat(s)
}
