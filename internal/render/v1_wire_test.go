package render

import (
	"net/url"
	"strings"
	"testing"
)

// TestV1WireOptionsParse: each wire option lands in its URLOptions field,
// and a bad value is a 400 naming it.
func TestV1WireOptionsParse(t *testing.T) {
	for _, c := range []struct {
		opts  map[string]any
		check func(o *URLOptions) bool
	}{
		{map[string]any{"response_type": "base64"}, func(o *URLOptions) bool { return o.ResponseType == ResponseBase64 }},
		{map[string]any{"response_type": "JSON"}, func(o *URLOptions) bool { return o.ResponseType == ResponseJSON }},
		{map[string]any{"response_type": "jsondebug"}, func(o *URLOptions) bool { return o.ResponseType == ResponseJSON }},
		{map[string]any{"response_type": "none"}, func(o *URLOptions) bool { return o.ResponseType == ResponseNone }},
		{map[string]any{"json": true}, func(o *URLOptions) bool { return o.ResponseType == ResponseJSON }},
		{map[string]any{"json": false}, func(o *URLOptions) bool { return o.ResponseType == "" }},
		{map[string]any{"download": "shot é.png"}, func(o *URLOptions) bool { return o.Download == "shot é.png" }},
		{map[string]any{"skip_webhooks": "true"}, func(o *URLOptions) bool { return o.SkipWebhooks }},
		{map[string]any{"custom_id": "order-42"}, func(o *URLOptions) bool { return o.CustomID == "order-42" }},
		{map[string]any{"unique": "2024-01-01"}, func(o *URLOptions) bool { return o.Unique == "2024-01-01" }},
		{map[string]any{"referrer": "https://ref.example/"}, func(o *URLOptions) bool { return o.Request.Referer == "https://ref.example/" }},
	} {
		o, err := parseWith(t, c.opts)
		if err != nil || !c.check(o) {
			t.Errorf("%v: %+v %v", c.opts, o, err)
		}
	}
	wantRefused(t, []refusal{
		{map[string]any{"response_type": "xml"}, "response_type"},
		{map[string]any{"response_type": "json", "json": true, "download": "../etc/passwd"}, "download"},
		{map[string]any{"download": "a/b.png"}, "download"},
		{map[string]any{"download": ".."}, "download"},
		{map[string]any{"download": "a\x00.png"}, "download"},
		{map[string]any{"download": strings.Repeat("a", maxV1Filename+1)}, "download"},
		{map[string]any{"response_type": "base64", "json": true}, "json"},
		{map[string]any{"custom_id": "a\nb"}, "custom_id"},
		{map[string]any{"custom_id": strings.Repeat("x", maxV1CustomID+1)}, "custom_id"},
		{map[string]any{"custom_id": 7}, "custom_id"},
		{map[string]any{"unique": strings.Repeat("x", maxV1Unique+1)}, "unique"},
		{map[string]any{"skip_webhooks": "maybe"}, "skip_webhooks"},
	})
}

// TestV1UniqueChangesTheCacheKey: unique values make different cache keys;
// the other wire options change nothing of the file, so not the key either.
func TestV1UniqueChangesTheCacheKey(t *testing.T) {
	key := func(opts map[string]any) string { return cacheKey(t, "spc_1", opts) }
	plain := key(nil)
	a, b := key(map[string]any{"unique": "a"}), key(map[string]any{"unique": "b"})
	if a == plain || b == plain || a == b {
		t.Fatalf("unique left the key alone: %s %s %s", plain, a, b)
	}
	if a != key(map[string]any{"unique": "a"}) {
		t.Fatal("the same unique made two keys")
	}
	same := key(map[string]any{"response_type": "base64", "download": "x.png", "skip_webhooks": true, "custom_id": "c"})
	if same != plain {
		t.Fatal("a wire option that does not change the file changed the cache key")
	}
}

// TestV1WireQuery: the wire options read from a signed link's query.
func TestV1WireQuery(t *testing.T) {
	q, _ := url.ParseQuery("url=a.example&response_type=binary&download=a.png&skip_webhooks&custom_id=c1&unique=u1")
	o, err := ParseV1Query(q, "png")
	if err != nil || o.ResponseType != ResponseBinary || o.Download != "a.png" || !o.SkipWebhooks || o.CustomID != "c1" || o.Unique != "u1" {
		t.Fatalf("%+v %v", o, err)
	}
}

// TestV1CheckAsync: an async request may not ask for a file answer.
func TestV1CheckAsync(t *testing.T) {
	for opts, bad := range map[string]string{
		`{"response_type":"binary"}`: "response_type", `{"response_type":"none"}`: "response_type",
		`{"download":"a.png"}`: "download", `{"redirect_after":5}`: "redirect_after", `{"response_type":"json"}`: "", `{"ttl":5}`: "",
	} {
		o, err := ParseV1Body([]byte(`{"url":"a.example",` + strings.TrimPrefix(opts, "{")))
		if err != nil {
			t.Fatal(opts, err)
		}
		err = o.CheckAsync()
		if (bad == "") != (err == nil) || (bad != "" && !strings.Contains(err.Error(), `"`+bad+`"`)) {
			t.Errorf("%s: %v", opts, err)
		}
	}
}

// TestV1StayOutReasons: the options renderhook stays out of answer a 400
// that names them and gives the reason.
func TestV1StayOutReasons(t *testing.T) {
	for _, name := range []string{"gpu", "solve_captchas", "allow_coin",
		"use_chrome", "engine_version", "renderer", "color_profile", "display_p3", "hdr10"} {
		row := v1Index[name]
		if row == nil || row.Supported || row.Refusal == "" {
			t.Errorf("%s: not a refused row with a reason", name)
			continue
		}
		_, err := parseWith(t, map[string]any{name: "1"})
		if err == nil || !strings.Contains(err.Error(), `option "`+name+`"`) || !strings.Contains(err.Error(), row.Refusal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
