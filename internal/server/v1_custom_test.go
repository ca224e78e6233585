package server_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestV1CustomDataEndToEnd: custom_data_variable through Chromium: the
// page variable's value is customData in the sync answer, and in the
// async render's status answer and render.succeeded webhook.
func TestV1CustomDataEndToEnd(t *testing.T) {
	e, site := v1Server(t)
	const page = `<p>x</p><script>window.app = {state: {n: 7, tags: ["a", "<b>"], ok: true}};</script>`
	want := map[string]any{"n": 7.0, "tags": []any{"a", "<b>"}, "ok": true}

	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"html": page, "custom_data_variable": "app.state"})
	if got := r.JSON(t)["customData"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("sync customData = %#v, want %#v (%s)", got, want, r.Body)
	}
	r = e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"html": page, "custom_data_variable": "app.missing.deeper"})
	if got, ok := r.JSON(t)["customData"]; !ok || got != nil {
		t.Fatalf("a missing variable: customData = %#v (present %v), want null", got, ok)
	}

	r = e.mustDo(201, "POST", "/v1/render/async", e.token, map[string]any{
		"html": page, "custom_data_variable": "app.state", "webhook_url": site.URL + "/hook",
	})
	st := e.waitV1(r.JSON(t)["renderId"].(string))
	if st["status"] != "succeeded" || !reflect.DeepEqual(st["customData"], want) {
		t.Fatalf("status %v", st)
	}
	var p struct {
		Result struct {
			CustomData map[string]any `json:"customData"`
		} `json:"result"`
	}
	hk := site.waitHook(t)
	if err := json.Unmarshal(hk.Body, &p); err != nil || !reflect.DeepEqual(p.Result.CustomData, want) {
		t.Fatalf("webhook %s (%v)", hk.Body, err)
	}

	e.mustDo(400, "POST", "/v1/render/sync", e.token, map[string]any{"html": page, "custom_data_variable": "app['x']"})
}
