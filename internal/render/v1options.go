package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// ErrInvalidOptions marks a v1 request whose options are unknown,
// unsupported, of the wrong type or out of range (400 InvalidOptions). The
// message always names the option.
var ErrInvalidOptions = errors.New("invalid options")

// Defaults and bounds of the v1 options.
const (
	DefaultV1Width  = 1280
	DefaultV1Height = 1024
	maxV1Dimension  = 10000
	maxV1Delay      = 30 * time.Second
	minV1Timeout    = time.Second
	// MaxV1Timeout is the longest timeout option a v1 render may ask for.
	MaxV1Timeout = 120 * time.Second
	// MaxV1TTL is the longest a render may be served from the cache, and
	// the default ttl of signed render links (Urlbox's 30 days).
	MaxV1TTL       = 30 * 24 * time.Hour
	maxV1Text      = 100 << 10 // css, js
	maxV1Short     = 2048      // selector, wait_for, user_agent, header, cookie
	maxV1ListItems = 50        // header, cookie
	maxV1Metadata  = 16 << 10
)

// URLOptions is a parsed v1 render request: what the browser does, plus
// what happens around it (cache, webhook).
type URLOptions struct {
	Request browser.URLRequest
	// TTL is how old a cached render may be to answer this request; zero
	// with TTLSet false means the endpoint's default.
	TTL    time.Duration
	TTLSet bool
	// Force renders afresh even when a cached render would do.
	Force      bool
	WebhookURL string
	// Metadata is the JSON object of webhook_metadata, echoed in the
	// webhook payload (its Go and JSON name are the ones it had before
	// Urlbox's metadata took the option's name).
	Metadata json.RawMessage
	// ResponseType is how a sync render or a render link answers
	// (Response*); "" is the endpoint's default.
	ResponseType string `json:",omitempty"`
	// Download is the filename of a file answer's Content-Disposition:
	// attachment ("" for none).
	Download string `json:",omitempty"`
	// SkipWebhooks sends no webhook for the render.
	SkipWebhooks bool `json:",omitempty"`
	// CustomID is the client's id for the render, echoed as customId.
	CustomID string `json:",omitempty"`
	// Unique is a cache-buster: it is in the cache key.
	Unique string `json:",omitempty"`
	// RedirectAfter, when set, is how long a sync render is waited for
	// before it is handed off (answered 307); zero is the server's.
	RedirectAfter time.Duration `json:",omitempty"`
	// SaveMetadata stores the page's metadata as a file (metadataUrl);
	// PageMetadata answers with it (metadata). Either has the browser
	// read it (Request.Extract.Metadata).
	SaveMetadata bool `json:",omitempty"`
	PageMetadata bool `json:",omitempty"`
	// Storage is the client's own bucket the file goes to (use_s3);
	// zero for renderhook's.
	Storage StorageOptions
	// NoUpload stores the file nowhere: it is only in the sync answer
	// (no_upload, v1_capture.go).
	NoUpload bool `json:",omitempty"`
}

// ParseV1Body parses the JSON body of POST /v1/render/*. Values may be
// JSON-typed (true, 1280) or strings as in a query ("true", "1280").
func ParseV1Body(data []byte) (*URLOptions, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object of options: %s", ErrInvalidOptions, jsonErr(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON body", ErrInvalidOptions)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object of options", ErrInvalidOptions)
	}
	return parseV1(m, "")
}

// ParseV1Query parses the query of a signed render link. format comes from
// the link's path; a format option in the query must agree with it.
// Options of TypeStrings (header, cookie) may repeat; any other repeated
// option is an error.
func ParseV1Query(q url.Values, format string) (*URLOptions, error) {
	m := make(map[string]any, len(q))
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // which repeated option an error names does not vary
	for _, k := range keys {
		vs := q[k]
		switch {
		case len(vs) == 1:
			m[k] = vs[0]
		case v1Index[k] != nil && v1Index[k].Supported && v1Index[k].Type == TypeStrings:
			arr := make([]any, len(vs))
			for i, v := range vs {
				arr[i] = v
			}
			m[k] = arr
		default:
			return nil, errorf("option %q is given more than once", truncate(k))
		}
	}
	return parseV1(m, format)
}

// errorf is an InvalidOptions error.
func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
}

// optErr is an InvalidOptions error about one option.
func optErr(name, format string, args ...any) error {
	return fmt.Errorf("%w: option %q %s", ErrInvalidOptions, truncate(name), fmt.Sprintf(format, args...))
}

// parseV1 reads the options of m as the table says, in table order, and
// stops at the first error. Defaults are set first; what is left in m at
// the end is unknown, or a Urlbox option renderhook does not support.
func parseV1(m map[string]any, pathFormat string) (*URLOptions, error) {
	o := &URLOptions{}
	st := &v1State{o: o, r: &o.Request}
	for i := range v1Table {
		if opt := &v1Table[i]; opt.Supported && opt.Default != nil {
			_ = opt.set(st, opt.Default) // defaults are valid values
		}
	}
	st.pathFormat = pathFormat
	if err := legacyEcho(m, st); err != nil {
		return nil, err
	}
	for i := range v1Table {
		opt := &v1Table[i]
		if !opt.Supported {
			continue
		}
		if raw, ok := m[opt.Name]; ok {
			delete(m, opt.Name)
			v, err := opt.read(raw)
			if err != nil {
				return nil, err
			}
			if err := opt.set(st, v); err != nil {
				return nil, err
			}
			if opt.Family == FamilyPDF && st.pdfOption == "" {
				st.pdfOption = opt.Name
			}
		}
		if opt.then != nil {
			if err := opt.then(st); err != nil {
				return nil, err
			}
		}
	}
	if o.Request.Format != browser.FormatPDF {
		o.Request.PDF = browser.PDFOptions{} // the pdf defaults apply to pdf only
	}
	if len(m) > 0 {
		left := make([]string, 0, len(m))
		for k := range m {
			left = append(left, k)
		}
		sort.Strings(left)
		k := left[0]
		if row := v1Index[k]; row != nil && row.Refusal != "" {
			return nil, errorf("option %q is a Urlbox option renderhook does not support: %s", k, row.Refusal)
		} else if row != nil {
			return nil, errorf("option %q is a Urlbox option renderhook does not support", k)
		}
		return nil, errorf("option %q is not a known option", truncate(k))
	}
	return o, nil
}

// read checks a value as the option's type says and returns it typed
// (see v1Option.set).
func (opt *v1Option) read(v any) (any, error) {
	switch opt.Type {
	case TypeString:
		return opt.readString(v)
	case TypeBoolean:
		return readBool(opt.Name, v)
	case TypeNumber:
		return readNumber(opt.Name, v, opt.Min, opt.Max)
	case TypeInteger:
		f, err := readNumber(opt.Name, v, opt.Min, opt.Max)
		if err != nil {
			return nil, err
		}
		if f != math.Trunc(f) {
			return nil, optErr(opt.Name, "must be an integer")
		}
		return int(f), nil
	case TypeStrings:
		return opt.readStrings(v)
	default: // TypeRect, TypeObject: the setter parses
		return v, nil
	}
}

func (opt *v1Option) readString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", optErr(opt.Name, "must be a string")
	}
	if len(s) > int(opt.Max) {
		return "", optErr(opt.Name, "must be at most %d bytes", int(opt.Max))
	}
	if opt.Enum == nil {
		return s, nil
	}
	norm := opt.norm
	if norm == nil {
		norm = func(s string) string { return s }
	}
	for _, e := range opt.Enum {
		if norm(s) == norm(e) {
			return s, nil
		}
	}
	if strings.Contains(opt.enumErr, "%q") {
		return "", optErr(opt.Name, opt.enumErr, truncate(s))
	}
	if opt.enumErr != "" {
		return "", optErr(opt.Name, "%s", opt.enumErr)
	}
	return "", optErr(opt.Name, "must be %s", orList(opt.Enum))
}

// orList is "a, b or c".
func orList(vs []string) string {
	if len(vs) < 2 {
		return strings.Join(vs, "")
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

func readBool(name string, v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(b) {
		case "", "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
	}
	return false, optErr(name, "must be true or false")
}

func readNumber(name string, v any, lo, hi float64) (float64, error) {
	var f float64
	var err error
	switch n := v.(type) {
	case json.Number:
		f, err = n.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(n), 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, optErr(name, "must be a number")
	}
	if f < lo || f > hi {
		return 0, optErr(name, "must be from %g to %g", lo, hi)
	}
	return f, nil
}

// readStrings reads an option given as one string or an array of strings.
func (opt *v1Option) readStrings(v any) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case string:
		out = []string{x}
	case []any:
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				return nil, optErr(opt.Name, "must be a string or an array of strings")
			}
			out = append(out, s)
		}
	default:
		return nil, optErr(opt.Name, "must be a string or an array of strings")
	}
	if len(out) > opt.MaxItems {
		return nil, optErr(opt.Name, "has more than %d entries", opt.MaxItems)
	}
	for _, s := range out {
		if len(s) > int(opt.Max) {
			return nil, optErr(opt.Name, "entries must be at most %d bytes", int(opt.Max))
		}
	}
	return out, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 126 || c <= 32 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// parseClip reads clip as Urlbox's "x,y,width,height" or an object.
func parseClip(v any) (*browser.Clip, error) {
	var nums [4]float64
	switch c := v.(type) {
	case string:
		parts := strings.Split(c, ",")
		if len(parts) != 4 {
			return nil, optErr("clip", "must be \"x,y,width,height\" or an object {x,y,width,height}")
		}
		for i, s := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, optErr("clip", "must be \"x,y,width,height\" or an object {x,y,width,height}")
			}
			nums[i] = f
		}
	case map[string]any:
		for i, k := range []string{"x", "y", "width", "height"} {
			n, ok := c[k].(json.Number)
			if !ok {
				return nil, optErr("clip", "needs numbers x, y, width and height")
			}
			f, err := n.Float64()
			if err != nil {
				return nil, optErr("clip", "needs numbers x, y, width and height")
			}
			nums[i] = f
		}
		if len(c) != 4 {
			return nil, optErr("clip", "takes only x, y, width and height")
		}
	default:
		return nil, optErr("clip", "must be \"x,y,width,height\" or an object {x,y,width,height}")
	}
	for i, f := range nums {
		if f != math.Trunc(f) || f < 0 || f > maxV1Dimension*10 || (i >= 2 && f < 1) {
			return nil, optErr("clip", "needs whole, non-negative pixels and a width and height of at least 1")
		}
	}
	return &browser.Clip{X: int(nums[0]), Y: int(nums[1]), Width: int(nums[2]), Height: int(nums[3])}, nil
}

// parseMetadata accepts a JSON object, or (in a query) its JSON text, for
// the option named name.
func parseMetadata(name string, v any) (json.RawMessage, error) {
	if s, ok := v.(string); ok {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
			return nil, optErr(name, "must be a JSON object")
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, optErr(name, "must be a JSON object")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, optErr(name, "must be a JSON object")
	}
	if len(b) > maxV1Metadata {
		return nil, optErr(name, "must be at most %d bytes of JSON", maxV1Metadata)
	}
	return b, nil
}

// CacheKey is the hash of the space and everything that shapes the output
// (the browser request, normalised by parsing and with defaults filled
// in), unique, the client's cache-buster, and where the file is stored (a
// render in another bucket or under another key is another render;
// credentials and a presigned URL only by their hash). ttl, force,
// webhook_url, webhook_metadata, save_metadata, metadata and the other
// wire options do not change the file, so they are left out (the
// browser's Extract, in the request, is in).
func (o *URLOptions) CacheKey(spaceID string) string {
	b, _ := json.Marshal(o.Request) // map keys are sorted: deterministic
	h := sha256.New()
	h.Write([]byte("v1\x00" + spaceID + "\x00"))
	h.Write(b)
	if o.Unique != "" {
		h.Write([]byte("\x00unique\x00" + o.Unique)) // absent: the keys made before unique existed
	}
	if o.Storage.On() {
		sb, _ := json.Marshal(o.Storage)
		h.Write([]byte("\x00storage\x00"))
		h.Write(sb)
		for _, s := range []string{o.Storage.Key, o.Storage.Secret, o.Storage.PresignedURL} {
			sum := sha256.Sum256([]byte(s))
			h.Write(sum[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
