package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/renderhook/renderhook/internal/browser"
)

// ErrInvalidInput marks an error in what the client sent (answered 400).
var ErrInvalidInput = errors.New("invalid input")

// Output modes of the render endpoints.
const (
	OutputBinary = "binary"
	OutputJSON   = "json"
)

// MaxPages bounds a multi-page PDF.
const MaxPages = 50

// Options is a parsed render request, from GET query or POST body.
type Options struct {
	Pages      []PageRef
	Format     browser.Format
	Output     string
	Draft      bool
	TemplateID string
	Quality    int
	// Async queues the render and answers 202 at once.
	Async bool
	// WebhookURL receives render.succeeded or render.failed.
	WebhookURL string
	// RenderType overrides the template's render type (one of
	// RenderTypes); "" keeps it.
	RenderType string
}

// PageRef is one page of a render with its own tweaks.
type PageRef struct {
	PageID string
	Tweaks Tweaks
}

// ParseQuery parses the query of GET /api/render/{pageId}. Parameters
// starting with "_" are ignored, so clients can add cache-busters; any
// other unknown parameter is an error rather than silently ignored.
func ParseQuery(pageID string, q url.Values) (*Options, error) {
	o := &Options{Format: browser.FormatPNG, Output: OutputBinary}
	tw := Tweaks{Raw: map[string]string{}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors and precedence
	for _, k := range keys {
		vs := q[k]
		v := vs[len(vs)-1]
		switch {
		case k == "format":
			f, err := browser.ParseFormat(v)
			if err != nil {
				return nil, fmt.Errorf("%w: format %q is not one of png, jpeg, webp, pdf", ErrInvalidInput, truncate(v))
			}
			o.Format = f
		case k == "output":
			if v != OutputBinary && v != OutputJSON {
				return nil, fmt.Errorf("%w: output must be binary or json", ErrInvalidInput)
			}
			o.Output = v
		case k == "draft":
			b, err := parseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%w: draft must be true or false", ErrInvalidInput)
			}
			o.Draft = b
		case k == "templateId":
			o.TemplateID = v
		case k == "webhook_url":
			o.WebhookURL = v
		case k == "renderType":
			if !ValidRenderType(v) {
				return nil, renderTypeError(v)
			}
			o.RenderType = v
		case k == "quality":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return nil, fmt.Errorf("%w: quality must be an integer from 1 to 100", ErrInvalidInput)
			}
			o.Quality = n
		case k == "tweaks":
			m, err := ParseTweaksJSON(v)
			if err != nil {
				return nil, err
			}
			tw.Typed = m
		case strings.HasPrefix(k, "tweak:"):
			name := strings.TrimPrefix(k, "tweak:")
			if _, err := splitPath(name); err != nil {
				return nil, err
			}
			tw.Raw[name] = v
		case strings.HasPrefix(k, "_"):
		default:
			return nil, fmt.Errorf("%w: unknown query parameter %q", ErrInvalidInput, truncate(k))
		}
	}
	if tw.Len() > maxTweakKeys {
		return nil, fmt.Errorf("%w: more than %d tweaks", ErrInvalidInput, maxTweakKeys)
	}
	o.Pages = []PageRef{{PageID: pageID, Tweaks: tw}}
	return o, nil
}

func parseBool(s string) (bool, error) {
	if s == "" {
		return true, nil // ?draft alone means draft=true
	}
	return strconv.ParseBool(s)
}

// postBody is the JSON body of POST /api/render.
type postBody struct {
	PageID        string          `json:"pageId"`
	PageIDs       []string        `json:"pageIds"`
	Format        string          `json:"format"`
	Output        string          `json:"output"`
	Binary        bool            `json:"binary"`
	Draft         bool            `json:"draft"`
	TemplateID    string          `json:"templateId"`
	Quality       int             `json:"quality"`
	Tweaks        map[string]any  `json:"tweaks"`
	TweaksPerPage json.RawMessage `json:"tweaksPerPage"`
	Async         bool            `json:"async"`
	WebhookURL    string          `json:"webhook_url"`
	RenderType    string          `json:"renderType"`
}

// ParseBody parses the JSON body of POST /api/render. Output defaults to
// json; `binary: true` or `output: "binary"` returns the file itself.
// tweaksPerPage is an array aligned with pageIds or an object keyed by
// page id; `tweaks` applies to every page, under each page's own tweaks.
func ParseBody(data []byte) (*Options, error) {
	var b postBody
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON body: %s", ErrInvalidInput, jsonErr(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON body", ErrInvalidInput)
	}
	o := &Options{Format: browser.FormatPNG, Output: OutputJSON, Draft: b.Draft, TemplateID: b.TemplateID,
		Async: b.Async, WebhookURL: b.WebhookURL, RenderType: b.RenderType}
	if b.RenderType != "" && !ValidRenderType(b.RenderType) {
		return nil, renderTypeError(b.RenderType)
	}
	if b.Format != "" {
		f, err := browser.ParseFormat(b.Format)
		if err != nil {
			return nil, fmt.Errorf("%w: format %q is not one of png, jpeg, webp, pdf", ErrInvalidInput, truncate(b.Format))
		}
		o.Format = f
	}
	switch {
	case b.Output != "" && b.Output != OutputBinary && b.Output != OutputJSON:
		return nil, fmt.Errorf("%w: output must be binary or json", ErrInvalidInput)
	case b.Binary && b.Output == OutputJSON:
		return nil, fmt.Errorf("%w: binary:true contradicts output:\"json\"", ErrInvalidInput)
	case b.Binary || b.Output == OutputBinary:
		o.Output = OutputBinary
	}
	if o.Async && o.Output == OutputBinary {
		return nil, fmt.Errorf("%w: an async render answers with its status, not the file: drop binary/output", ErrInvalidInput)
	}
	if b.Quality != 0 && (b.Quality < 1 || b.Quality > 100) {
		return nil, fmt.Errorf("%w: quality must be an integer from 1 to 100", ErrInvalidInput)
	}
	o.Quality = b.Quality
	if b.Tweaks != nil {
		b.Tweaks = normalizeNumbers(b.Tweaks).(map[string]any)
	}

	switch {
	case b.PageID != "" && len(b.PageIDs) > 0:
		return nil, fmt.Errorf("%w: give pageId or pageIds, not both", ErrInvalidInput)
	case b.PageID != "":
		if len(b.TweaksPerPage) > 0 {
			return nil, fmt.Errorf("%w: tweaksPerPage goes with pageIds", ErrInvalidInput)
		}
		o.Pages = []PageRef{{PageID: b.PageID, Tweaks: Tweaks{Typed: b.Tweaks}}}
	case len(b.PageIDs) > 0:
		if len(b.PageIDs) > MaxPages {
			return nil, fmt.Errorf("%w: at most %d pages per render", ErrInvalidInput, MaxPages)
		}
		if len(b.PageIDs) > 1 && o.Format != browser.FormatPDF {
			return nil, fmt.Errorf("%w: several pageIds need format pdf", ErrInvalidInput)
		}
		per, err := parseTweaksPerPage(b.TweaksPerPage, b.PageIDs)
		if err != nil {
			return nil, err
		}
		for i, id := range b.PageIDs {
			if id == "" {
				return nil, fmt.Errorf("%w: pageIds[%d] is empty", ErrInvalidInput, i)
			}
			merged := map[string]any{}
			for k, v := range b.Tweaks {
				merged[k] = v
			}
			for k, v := range per[i] {
				merged[k] = v
			}
			o.Pages = append(o.Pages, PageRef{PageID: id, Tweaks: Tweaks{Typed: merged}})
		}
	default:
		return nil, fmt.Errorf("%w: pageId is required", ErrInvalidInput)
	}
	for _, p := range o.Pages {
		if p.Tweaks.Len() > maxTweakKeys {
			return nil, fmt.Errorf("%w: more than %d tweaks", ErrInvalidInput, maxTweakKeys)
		}
		for k := range p.Tweaks.Typed {
			if _, err := splitPath(k); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

func parseTweaksPerPage(raw json.RawMessage, ids []string) ([]map[string]any, error) {
	out := make([]map[string]any, len(ids))
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	dec := func(into any) error {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		return d.Decode(into)
	}
	switch raw[0] {
	case '[':
		var arr []map[string]any
		if err := dec(&arr); err != nil {
			return nil, fmt.Errorf("%w: tweaksPerPage must be an array of objects or an object keyed by page id", ErrInvalidInput)
		}
		if len(arr) > len(ids) {
			return nil, fmt.Errorf("%w: tweaksPerPage has %d entries for %d pages", ErrInvalidInput, len(arr), len(ids))
		}
		for i, m := range arr {
			if m != nil {
				out[i] = normalizeNumbers(m).(map[string]any)
			}
		}
	case '{':
		var obj map[string]map[string]any
		if err := dec(&obj); err != nil {
			return nil, fmt.Errorf("%w: tweaksPerPage must be an array of objects or an object keyed by page id", ErrInvalidInput)
		}
		for id, m := range obj {
			found := false
			for i, pid := range ids {
				if pid == id {
					if m != nil {
						out[i] = normalizeNumbers(m).(map[string]any)
					}
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: tweaksPerPage names %q, which is not in pageIds", ErrInvalidInput, truncate(id))
			}
		}
	default:
		return nil, fmt.Errorf("%w: tweaksPerPage must be an array of objects or an object keyed by page id", ErrInvalidInput)
	}
	return out, nil
}

// jsonErr shortens encoding/json's messages to what a client can act on.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	}
	return err.Error()
}
