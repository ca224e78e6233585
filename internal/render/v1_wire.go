package render

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the rows of the v1 table for Urlbox's wire options: how
// the answer is shaped (response_type, download), what happens around the
// render (skip_webhooks, custom_id) and the cache (unique). None of them
// changes the file; unique changes the cache key.

// Response types of the response_type option.
const (
	ResponseBinary = "binary"
	ResponseBase64 = "base64"
	ResponseJSON   = "json"
	ResponseNone   = "none"
)

// DefaultSyncRedirectAfter is Urlbox's: a sync render running past about
// 95 s is answered with a 307 to its status URL (redirect_after, or the
// API's --sync-redirect-after).
const DefaultSyncRedirectAfter = 95 * time.Second

// Bounds of the wire options.
const (
	maxV1Filename = 255
	maxV1CustomID = 256
	maxV1Unique   = 256
)

// v1WireRows are parsed after the webhook and cache options.
var v1WireRows = []v1Option{
	{OptionSpec: OptionSpec{Name: "response_type", Type: TypeString, Max: 16,
		Enum: []string{ResponseBinary, ResponseBase64, ResponseJSON, "jsondebug", ResponseNone}, Family: FamilyOutput, Supported: true,
		Doc: "The answer of /v1/render/sync and render links: the file (binary; the links' default), its base64 text (base64, text/plain), " +
			"{renderUrl, size, …} (json; /v1/render/sync's default) or an empty 200 (none); jsondebug is json. Async renders answer json only."},
		norm: strings.ToLower,
		set: setString(func(o *URLOptions, s string) {
			o.ResponseType = strings.ToLower(s)
			if o.ResponseType == "jsondebug" {
				o.ResponseType = ResponseJSON
			}
		})},
	wireString("download", FamilyOutput, maxV1Filename, "Answer the file with Content-Disposition: attachment and this filename (with response_type binary).",
		checkFilename, func(o *URLOptions, s string) { o.Download = s }),
	{OptionSpec: OptionSpec{Name: "skip_webhooks", Type: TypeBoolean, Default: false, Family: FamilyWebhooks, Supported: true,
		Doc: "Send no webhook for this render, neither to webhook_url nor to the space's endpoints (it is still stored, logged and billed)."},
		set: setBool(func(o *URLOptions, b bool) { o.SkipWebhooks = b })},
	wireString("custom_id", FamilyWebhooks, maxV1CustomID, "Your own id for the render (one line), kept with it and echoed as customId in its answers, status and webhooks.",
		oneLine, func(o *URLOptions, s string) { o.CustomID = s }),
	{OptionSpec: OptionSpec{Name: "json", Type: TypeBoolean, Default: false, Family: FamilyOutput, Supported: true,
		Doc: "Urlbox's older name for response_type json."},
		set: func(st *v1State, v any) error {
			switch {
			case !v.(bool):
			case st.o.ResponseType != "" && st.o.ResponseType != ResponseJSON:
				return optErr("json", "contradicts option \"response_type\"")
			default:
				st.o.ResponseType = ResponseJSON
			}
			return nil
		}},
	reqString("referrer", FamilyRequest, 4096, "Another spelling of referer.", oneLine,
		func(r *browser.URLRequest, s string) { r.Referer = s }),
	{OptionSpec: OptionSpec{Name: "redirect_after", Type: TypeInteger, Min: 1, Max: float64(MaxV1Timeout / time.Second), Family: FamilyOutput, Supported: true,
		Doc: "Seconds a /v1/render/sync render is waited for before its answer is a 307 to its status URL, the render going on async (default --sync-redirect-after, " + strconv.Itoa(int(DefaultSyncRedirectAfter/time.Second)) + ")."},
		set: setInt(func(o *URLOptions, n int) { o.RedirectAfter = time.Duration(n) * time.Second })},
	{OptionSpec: OptionSpec{Name: "unique", Type: TypeString, Max: maxV1Unique, Family: FamilyCache, Supported: true,
		Doc: "Any value (a UUID, a timestamp): requests with different values never answer each other from the cache."},
		set: setString(func(o *URLOptions, s string) { o.Unique = s })},
}

// wireString is a string option of at most maxLen bytes that sets a
// URLOptions field; check, when set, refuses a value with the message it
// returns ("" accepts).
func wireString(name string, f Family, maxLen int, doc string, check func(string) string, set func(o *URLOptions, s string)) v1Option {
	if check == nil {
		check = func(string) string { return "" }
	}
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: float64(maxLen), Family: f, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error {
			if msg := check(v.(string)); msg != "" {
				return optErr(name, "%s", msg)
			}
			set(st.o, v.(string))
			return nil
		}}
}

// checkFilename refuses a download filename that is empty, has a path
// separator or a control character, or is a dot name.
func checkFilename(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "must be a filename"
	case strings.ContainsAny(name, `/\`), name == ".", name == "..":
		return "must be a filename, without a path"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// CheckAsync refuses the options that shape a file answer in an async
// request, whose answer is always its JSON status.
func (o *URLOptions) CheckAsync() error {
	switch {
	case o.ResponseType != "" && o.ResponseType != ResponseJSON:
		return optErr("response_type", "must be json for an async render (its answer is the render's status)")
	case o.Download != "":
		return optErr("download", "applies to /v1/render/sync and render links, whose answer is the file")
	case o.RedirectAfter > 0:
		return optErr("redirect_after", "applies to /v1/render/sync only")
	case o.NoUpload:
		return optErr("no_upload", "applies to /v1/render/sync and render links: an async render's file must be stored to be fetched")
	}
	return nil
}

// CheckLink refuses the options a render link cannot honour: it answers
// the file or nothing, never a redirect to a status that needs a token.
func (o *URLOptions) CheckLink() error {
	if o.RedirectAfter > 0 {
		return optErr("redirect_after", "applies to /v1/render/sync only")
	}
	return nil
}
