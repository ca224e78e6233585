package render

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

func TestParseV1Body(t *testing.T) {
	o, err := ParseV1Body([]byte(`{"url":"example.com","format":"jpg","width":800,"height":"600","full_page":true,
		"clip":"1,2,30,40","quality":80,"delay":250,"wait_until":"requestsfinished","timeout":5000,"dark_mode":"true",
		"header":["X-A: 1","x-b:two"],"cookie":"sid=abc","fail_on_4xx":true,"block_ads":false,"webhook_url":"https://h.example/w",
		"metadata":{"order":7},"ttl":60,"force":false,"user_agent":"UA"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := o.Request
	if r.URL != "https://example.com" || r.Format != browser.FormatJPEG || r.Width != 800 || r.Height != 600 || !r.FullPage ||
		*r.Clip != (browser.Clip{X: 1, Y: 2, Width: 30, Height: 40}) || r.Quality != 80 || r.Delay != 250*time.Millisecond ||
		r.WaitUntil != browser.WaitRequestsFinished || r.Timeout != 5*time.Second || !r.DarkMode || r.Headers["X-A"] != "1" ||
		r.Headers["X-B"] != "two" || len(r.Cookies) != 1 || r.Cookies[0] != (browser.Cookie{Name: "sid", Value: "abc"}) ||
		!r.FailOn4xx || r.UserAgent != "UA" {
		t.Fatalf("request %+v", r)
	}
	if o.WebhookURL != "https://h.example/w" || string(o.Metadata) != `{"order":7}` || o.TTL != time.Minute || !o.TTLSet || o.Force {
		t.Fatalf("options %+v", o)
	}

	// Defaults.
	o, err = ParseV1Body([]byte(`{"html":"<b>x</b>"}`))
	if err != nil || o.Request.Width != 1280 || o.Request.Height != 1024 || o.Request.Format != browser.FormatPNG || o.TTLSet {
		t.Fatalf("%+v %v", o, err)
	}
	// PDF: margins named and explicit, background on by default.
	o, err = ParseV1Body([]byte(`{"url":"https://a.example","format":"pdf","pdf_margin":"default","pdf_margin_top":3,"pdf_page_size":"letter","pdf_landscape":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := o.Request.PDF; p.MarginTop != 3 || p.MarginLeft != pdfMarginDefault || p.PageSize != "Letter" || !p.Landscape || !p.Background {
		t.Fatalf("pdf %+v", p)
	}
	o, err = ParseV1Body([]byte(`{"url":"a.example","selector":"#main"}`))
	if err != nil || o.Request.Selector != "#main" {
		t.Fatalf("%+v %v", o, err)
	}
	// Clip as an object.
	o, err = ParseV1Body([]byte(`{"url":"a.example","clip":{"x":0,"y":5,"width":10,"height":20}}`))
	if err != nil || *o.Request.Clip != (browser.Clip{X: 0, Y: 5, Width: 10, Height: 20}) {
		t.Fatalf("%+v %v", o, err)
	}

	// Every rejection is InvalidOptions and names the option.
	for body, name := range map[string]string{
		`{"url":"a.example","html":"<b>"}`:                          "html",
		`{}`:                                                        "url",
		`{"url":"a.example","bogus":1}`:                             "bogus",
		`{"url":"a.example","s3_path":"x"}`:                         "s3_path",
		`{"url":"a.example","width":0}`:                             "width",
		`{"url":"a.example","width":1.5}`:                           "width",
		`{"url":"a.example","width":"wide"}`:                        "width",
		`{"url":"a.example","full_page":"maybe"}`:                   "full_page",
		`{"url":"a.example","format":"gif"}`:                        "format",
		`{"url":"a.example","quality":50}`:                          "quality",
		`{"url":"a.example","format":"jpeg","quality":101}`:         "quality",
		`{"url":"a.example","transparent":true,"format":"jpeg"}`:    "transparent",
		`{"url":"a.example","clip":"1,2,3"}`:                        "clip",
		`{"url":"a.example","clip":{"x":1}}`:                        "clip",
		`{"url":"a.example","wait_until":"idle"}`:                   "wait_until",
		`{"url":"a.example","timeout":10}`:                          "timeout",
		`{"url":"a.example","delay":-1}`:                            "delay",
		`{"url":"a.example","header":"NoColon"}`:                    "header",
		`{"url":"a.example","header":"Host: evil"}`:                 "header",
		`{"url":"a.example","header":[1]}`:                          "header",
		`{"url":"a.example","cookie":"novalue"}`:                    "cookie",
		`{"url":"a.example","pdf_landscape":true}`:                  "pdf_landscape",
		`{"url":"a.example","format":"pdf","pdf_margin":"wide"}`:    "pdf_margin",
		`{"url":"a.example","format":"pdf","pdf_page_size":"B5"}`:   "pdf_page_size",
		`{"url":"a.example","format":"pdf","pdf_margin_unit":"in"}`: "pdf_margin_unit",
		`{"url":"a.example","metadata":[1]}`:                        "metadata",
		`{"url":"a.example","ttl":99999999}`:                        "ttl",
		`{"url":"a.example","user_agent":"a\nb"}`:                   "user_agent",
		`{"url":""}`: "url",
		`{"url":"a.example","clip":"0,0,5,5","selector":"#x"}`: "clip",
		`{"html":"<b>x</b>","cookie":"a=b"}`:                   "cookie",
		`{"url":5}`:                                            "url",
	} {
		_, err := ParseV1Body([]byte(body))
		wantRefusal(t, body, err, name)
	}
	for _, body := range []string{`[1]`, `null`, `{"url":"a"} x`, `{`} {
		if _, err := ParseV1Body([]byte(body)); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: err %v", body, err)
		}
	}
}

func TestParseV1Query(t *testing.T) {
	q, _ := url.ParseQuery(`url=example.com/x?a=1&width=640&full_page&header=A:%201&header=B:%202&metadata={"k":"v"}&ttl=10`)
	o, err := ParseV1Query(q, "webp")
	if err != nil {
		t.Fatal(err)
	}
	if o.Request.URL != "https://example.com/x?a=1" || o.Request.Format != browser.FormatWebP || o.Request.Width != 640 ||
		!o.Request.FullPage || len(o.Request.Headers) != 2 || string(o.Metadata) != `{"k":"v"}` || o.TTL != 10*time.Second {
		t.Fatalf("%+v", o)
	}
	for raw, name := range map[string]string{
		"url=a.example&format=png":          "format", // contradicts the path's webp
		"url=a.example&width=1&width=2":     "width",
		"url=a.example&metadata=[1]":        "metadata",
		"url=a.example&nope=1":              "nope",
		"url=a.example&transparent=perhaps": "transparent",
	} {
		q, _ := url.ParseQuery(raw)
		_, err := ParseV1Query(q, "webp")
		wantRefusal(t, raw, err, name)
	}
	if _, err := ParseV1Query(url.Values{"url": {"a.example"}}, "gif"); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("path format gif: %v", err)
	}
}

func TestV1CacheKey(t *testing.T) {
	parse := func(body string) *URLOptions {
		t.Helper()
		o, err := ParseV1Body([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a := parse(`{"url":"example.com","width":1280,"ttl":5,"metadata":{"a":1},"header":["B: 2","A: 1"]}`)
	b := parse(`{"header":["A: 1","B: 2"],"url":"https://example.com","force":true}`)
	if a.CacheKey("spc_1") != b.CacheKey("spc_1") {
		t.Fatal("equivalent requests have different cache keys")
	}
	if a.CacheKey("spc_1") == a.CacheKey("spc_2") {
		t.Fatal("cache key ignores the space")
	}
	if c := parse(`{"url":"https://example.com","width":1281,"header":["A: 1","B: 2"]}`); c.CacheKey("spc_1") == a.CacheKey("spc_1") {
		t.Fatal("cache key ignores the width")
	}
}

func FuzzParseV1Query(f *testing.F) {
	for _, s := range []string{"url=example.com", "html=<b>x</b>&format=pdf&pdf_margin=default", "url=a&clip=1,2,3,4&header=A:%201",
		"url=a&metadata={\"x\":1}&ttl=5&force", "url=a&cookie=a=b&cookie=c=d&width=1e3", "url=a&metadata&save_html&save_markdown=1",
		"url=a&metadata={\"x\":1}&webhook_metadata={}", "url=a&format=md&full_page",
		"url=a&format=mp4&video_fps=10&video_ease=bounce.out&video_scroll_back_duration=500&video_ease_end=back.in&video_bitrate=800",
		"url=a&watermark_url=https://i.example/x.png&watermark_width=25%25&watermark_angle=-30&watermark_blend=multiply",
		"url=a&watermark&watermark_style=opacity:0.5;transform:rotate(10deg)&fail_if_captcha&srgb&use_chromium",
		"url=a&click_x=//a[1]&hide_selector_x=(//b)[2]&disable_events=scroll,load&wait_for_x=//p[.='x']"} {
		f.Add(s, "png")
	}
	f.Fuzz(func(t *testing.T, raw, format string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, err := ParseV1Query(q, format)
		if fuzzRefused(t, err, ErrInvalidOptions) {
			return
		}
		checkV1(t, o)
	})
}

func FuzzParseV1Body(f *testing.F) {
	for _, s := range []string{`{"url":"example.com"}`, `{"html":"x","clip":{"x":1,"y":2,"width":3,"height":4}}`,
		`{"url":"a","header":["A: b"],"metadata":{"a":[1,{"b":null}]}}`, `{"url":"a","format":"pdf","pdf_margin_left":"2.5"}`, `{`,
		`{"url":"a","metadata":true,"save_metadata":true,"webhook_metadata":{"k":1},"format":"avif","quality":50}`,
		`{"url":"a","format":"webm","video_codec":"vp8","video_time":2.5,"video_scroll":false,"video_aspect":1.5,"video_crop_w":300}`,
		`{"url":"a","watermark_text":"x","watermark_repeat":"repeat","watermark_style":"color:red;font-size:20px","srgb":false}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseV1Body(body)
		if fuzzRefused(t, err, ErrInvalidOptions) {
			return
		}
		checkV1(t, o)
	})
}

// checkV1 asserts what every accepted request satisfies.
func checkV1(t *testing.T, o *URLOptions) {
	t.Helper()
	r := o.Request
	if (r.URL == "") == (r.HTML == "") {
		t.Fatalf("url %q and html %q: want exactly one", r.URL, r.HTML)
	}
	if r.URL != "" && !strings.Contains(r.URL, "://") {
		t.Fatalf("url without scheme accepted: %q", r.URL)
	}
	if _, err := browser.ParseURLFormat(string(r.Format)); err != nil {
		t.Fatalf("format %q accepted", r.Format)
	}
	if r.Width < 1 || r.Width > maxV1Dimension || r.Height < 1 || r.Height > maxV1Dimension || r.Quality < 0 || r.Quality > 100 {
		t.Fatalf("out of range: %+v", r)
	}
	if r.Delay < 0 || r.Delay > maxV1Delay || r.Timeout < 0 || r.Timeout > MaxV1Timeout || o.TTL < 0 || o.TTL > MaxV1TTL {
		t.Fatalf("durations out of range: %+v", o)
	}
	for k, v := range r.Headers {
		if strings.ContainsAny(k+v, "\r\n") || forbiddenHeaders[k] {
			t.Fatalf("header %q: %q accepted", k, v)
		}
	}
	if o.Metadata != nil {
		var m map[string]any
		if err := json.Unmarshal(o.Metadata, &m); err != nil || m == nil {
			t.Fatalf("metadata %s is not an object", o.Metadata)
		}
	}
	if r.Format != browser.FormatPDF && (r.PDF != browser.PDFOptions{}) {
		t.Fatalf("pdf options on %s", r.Format)
	}
	if r.Format.IsText() && (r.FullPage || r.Selector != "" || r.Clip != nil || r.ThumbWidth > 0 || r.ThumbHeight > 0) {
		t.Fatalf("capture options on %s", r.Format)
	}
	if !r.Format.IsVideo() && (r.Video != browser.VideoOptions{}) || r.Video.Frames() > browser.MaxVideoFrames {
		t.Fatalf("video options %+v on %s", r.Video, r.Format)
	}
	if r.Extract.Metadata != (o.SaveMetadata || o.PageMetadata) {
		t.Fatalf("extract metadata %v with save_metadata %v, metadata %v", r.Extract.Metadata, o.SaveMetadata, o.PageMetadata)
	}
	if len(o.CacheKey("spc")) != 64 {
		t.Fatal("cache key is not a sha256")
	}
}
