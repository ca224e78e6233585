package server_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/egress/egresstest"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/server/servertest"
	"github.com/renderhook/renderhook/webhook"
)

// hook is one POST a receiver got.
type hook = servertest.Hook

// receiver is a webhook receiver on loopback (servertest.Receiver) with
// the server tests' check of what it got.
type receiver struct{ *servertest.Receiver }

func newReceiver(t *testing.T, script ...int) receiver {
	return receiver{servertest.NewReceiver(t, script...)}
}

// succeededRenders checks that everything rc received is a render.succeeded
// event signed (Standard Webhooks) with secret, and returns the renders
// they name, how many events (webhook-ids) and how many POSTs came: an
// event delivered twice has one webhook-id.
func (rc receiver) succeededRenders(t *testing.T, secret string, tolerance time.Duration) (renders map[string]bool, events, posts int) {
	t.Helper()
	got := rc.Got()
	seen := map[string]string{} // webhook-id → renderId
	for _, h := range got {
		if err := webhook.VerifyStandard(h.Body, h.Header, secret, tolerance); err != nil {
			t.Fatalf("bad signature: %v", err)
		}
		var p struct{ Event, RenderID string }
		_ = json.Unmarshal(h.Body, &p)
		if p.Event != "render.succeeded" {
			t.Fatalf("event %s: %s", p.Event, h.Body)
		}
		seen[h.Header.Get("webhook-id")] = p.RenderID
	}
	renders = map[string]bool{}
	for _, id := range seen {
		renders[id] = true
	}
	return renders, len(seen), len(got)
}

func webhookServer(t *testing.T, allowLoopback bool) *env {
	cfg := server.Config{
		Browser:  browser.Config{MaxTabs: 2, RenderTimeout: 3 * time.Second},
		Webhooks: delivery.Config{Schedule: []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond}},
	}
	if allowLoopback {
		cfg.Egress.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	return startServerCfg(t, cfg)
}

func (e *env) spaceSecret() string {
	sp, err := e.srv.Store.GetSpace(context.Background(), e.space)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp.WebhookSecret
}

// verifyBoth checks both signature schemes of a webhook.
func verifyBoth(t *testing.T, h hook, secret string) {
	t.Helper()
	if err := webhook.Verify(h.Body, h.Header.Get(webhook.HeaderSignature), secret, time.Minute); err != nil {
		t.Fatalf("X-Renderhook-Signature: %v", err)
	}
	if err := webhook.VerifyStandard(h.Body, h.Header, secret, time.Minute); err != nil {
		t.Fatalf("Standard Webhooks signature: %v", err)
	}
}

func TestAsyncRenderWebhook(t *testing.T) {
	e := webhookServer(t, true)
	_, pageID := e.cardPage(e.token, nil)
	rc := newReceiver(t)

	r := e.mustDo(202, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "async": true, "webhook_url": rc.URL + "/hook"})
	m := r.JSON(t)
	renderID := m["renderId"].(string)
	if m["status"] != "queued" || m["statusUrl"] != e.base+"/api/renders/"+renderID {
		t.Fatalf("202 answer %s", r.Body)
	}
	h := rc.Wait(t, 1)[0]
	verifyBoth(t, h, e.spaceSecret())
	if !strings.HasPrefix(string(h.Body), `{"event":"render.succeeded","renderId":"`+renderID+`","result":{"renderUrl":"`) {
		t.Fatalf("payload shape: %s", h.Body)
	}
	var p struct {
		Result struct {
			RenderURL string `json:"renderUrl"`
			Size      int    `json:"size"`
		} `json:"result"`
		Meta struct{ StartTime, EndTime string } `json:"meta"`
	}
	if err := json.Unmarshal(h.Body, &p); err != nil {
		t.Fatal(err)
	}
	img := e.download(p.Result.RenderURL)
	if len(img) != p.Result.Size {
		t.Fatalf("renderUrl has %d bytes, payload says %d", len(img), p.Result.Size)
	}
	decodePNG(t, img)
	for _, ts := range []string{p.Meta.StartTime, p.Meta.EndTime} {
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts); err != nil {
			t.Fatalf("meta time %q: %v", ts, err)
		}
	}
	st := e.mustDo(200, "GET", "/api/renders/"+renderID, e.token, nil).JSON(t)
	if st["status"] != "succeeded" || !e.sameFile(st["renderUrl"].(string), p.Result.RenderURL) || st["size"] != float64(p.Result.Size) {
		t.Fatalf("status %v", st)
	}
	// Another space cannot see it.
	_, other := e.newSpace("other")
	e.mustDo(404, "GET", "/api/renders/"+renderID, other, nil)
	// The log entry links the delivery.
	l := e.waitLog(r.Header.Get("X-Request-Id"), func(l map[string]any) bool { return l["deliveries"] != nil })
	if d := l["deliveries"].([]any); len(d) != 1 || d[0].(map[string]any)["status"] != "succeeded" {
		t.Fatalf("log deliveries %v", l["deliveries"])
	}
	e.waitCredits(1)
}

func TestFailedRenderWebhook(t *testing.T) {
	e := webhookServer(t, true)
	rc := newReceiver(t)
	imgURL, _ := slowImage(t)
	tpl := e.mustDo(201, "POST", "/api/templates", e.token, map[string]any{"name": "slow", "html": `<img src="` + imgURL + `/x.gif">`, "width": 50, "height": 50}).JSON(t)
	pg := e.mustDo(201, "POST", "/api/pages", e.token, map[string]any{"templateId": tpl["id"], "publish": true}).JSON(t)
	e.mustDo(422, "POST", "/api/render", e.token, map[string]any{"pageId": pg["id"], "webhook_url": rc.URL})
	h := rc.Wait(t, 1)[0]
	verifyBoth(t, h, e.spaceSecret())
	if !strings.HasPrefix(string(h.Body), `{"event":"render.failed","renderId":"`) || !strings.Contains(string(h.Body), `"error":{"message":"`) {
		t.Fatalf("payload %s", h.Body)
	}
	// The async form fails the same way, and its status says so.
	r := e.mustDo(202, "POST", "/api/render", e.token, map[string]any{"pageId": pg["id"], "async": true, "webhook_url": rc.URL})
	rc.Wait(t, 2)
	st := e.mustDo(200, "GET", "/api/renders/"+r.JSON(t)["renderId"].(string), e.token, nil).JSON(t)
	if st["status"] != "failed" || st["error"] == nil {
		t.Fatalf("status %v", st)
	}
	if used, _, _, _ := e.usage(); used != 0 {
		t.Fatalf("failed renders cost %d credits", used)
	}
}

func TestEndpointRetriesRedeliverAndGone(t *testing.T) {
	e := webhookServer(t, true)
	_, pageID := e.cardPage(e.token, nil)
	rc := newReceiver(t, 500, 503)
	ep := e.mustDo(201, "POST", "/api/webhooks", e.token, map[string]any{"url": rc.URL + "/ep", "events": []string{"render.succeeded"}, "description": "mine"}).JSON(t)
	secret := ep["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("endpoint secret %q", secret)
	}
	if l := e.mustDo(200, "GET", "/api/webhooks/"+ep["id"].(string), e.token, nil).JSON(t); l["secret"] != nil {
		t.Fatal("the secret is shown again after creation")
	}

	r := e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
	hooks := rc.Wait(t, 3)
	id := hooks[0].Header.Get("webhook-id")
	for _, h := range hooks {
		if h.Header.Get("webhook-id") != id {
			t.Fatalf("webhook-id changed across retries: %q vs %q", h.Header.Get("webhook-id"), id)
		}
		verifyBoth(t, h, secret)
	}
	// Each attempt is signed afresh.
	if hooks[0].Header.Get(webhook.HeaderSignature) == hooks[2].Header.Get(webhook.HeaderSignature) &&
		hooks[0].At.Unix() != hooks[2].At.Unix() {
		t.Fatal("retries reuse the first attempt's signature")
	}
	q := "/api/webhook-deliveries?renderId=" + r.Header.Get("X-Render-Id")
	var d map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := e.mustDo(200, "GET", q, e.token, nil).JSON(t)["data"].([]any)
		if len(list) == 1 && list[0].(map[string]any)["status"] == "succeeded" {
			d = e.mustDo(200, "GET", "/api/webhook-deliveries/"+list[0].(map[string]any)["id"].(string), e.token, nil).JSON(t)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	atts := d["attempts"].([]any)
	if len(atts) != 3 || d["id"] != id {
		t.Fatalf("delivery %v", d)
	}
	for i, want := range []float64{500, 503, 200} {
		a := atts[i].(map[string]any)
		if a["statusCode"] != want || a["responseBody"] != servertest.ReceiverAnswer(int(want)) {
			t.Fatalf("attempt %d: %v", i, a)
		}
	}

	t.Run("redeliver", func(t *testing.T) {
		e := e.with(t)
		e.mustDo(202, "POST", "/api/webhook-deliveries/"+id+"/redeliver", e.token, nil)
		h := rc.Wait(t, 4)[3]
		if h.Header.Get("webhook-id") != id {
			t.Fatalf("redelivery has webhook-id %q, want %q", h.Header.Get("webhook-id"), id)
		}
		verifyBoth(t, h, secret)
		_, other := e.newSpace("other")
		e.mustDo(404, "POST", "/api/webhook-deliveries/"+id+"/redeliver", other, nil)
	})

	t.Run("410 disables the endpoint", func(t *testing.T) {
		e := e.with(t)
		gone := newReceiver(t, 410)
		g := e.mustDo(201, "POST", "/api/webhooks", e.token, map[string]any{"url": gone.URL}).JSON(t)
		e.mustDo(202, "POST", "/api/webhooks/"+g["id"].(string)+"/test", e.token, nil)
		if h := gone.Wait(t, 1)[0]; !strings.HasPrefix(string(h.Body), `{"event":"webhook.test"`) {
			t.Fatalf("test event %s", h.Body)
		}
		if ge := e.waitDisabled(g["id"].(string)); !strings.Contains(ge["disabledReason"].(string), "410") {
			t.Fatalf("reason %v", ge["disabledReason"])
		}
		// A disabled endpoint gets no more events: the render's deliveries
		// are made in its transaction, and none is the disabled one's.
		e.mustDo(200, "GET", "/api/render/"+pageID, e.token, nil)
		rc.Wait(t, 5)
		if ds := e.mustDo(200, "GET", "/api/webhook-deliveries?endpointId="+g["id"].(string), e.token, nil).JSON(t)["data"].([]any); len(ds) != 1 {
			t.Fatalf("disabled endpoint has %d deliveries, want its test event's", len(ds))
		}
		if n := len(gone.Got()); n != 1 {
			t.Fatalf("disabled endpoint got %d webhooks", n)
		}
	})
}

func TestRefusedWebhookTargets(t *testing.T) {
	requireChromium(t)
	rc := newReceiver(t)
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
	resolver, _ := egresstest.FakeResolver(netip.MustParseAddr("127.0.0.1"))
	e := startServerCfg(t, server.Config{
		Browser:  browser.Config{MaxTabs: 1},
		Egress:   egress.Config{Resolver: resolver},
		Webhooks: delivery.Config{Schedule: []time.Duration{0}},
	})
	_, pageID := e.cardPage(e.token, nil)
	for _, u := range []string{
		rc.URL, "http://localhost:" + port, "http://[::1]:" + port, "http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/", "http://0x7f.1:" + port, "ftp://example.com/", "http://[::ffff:127.0.0.1]:" + port,
	} {
		r := e.mustDo(400, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "webhook_url": u})
		if !strings.Contains(r.JSON(t)["error"].(map[string]any)["message"].(string), "webhook_url") {
			t.Fatalf("%s: %s", u, r.Body)
		}
		e.mustDo(422, "POST", "/api/webhooks", e.token, map[string]any{"url": u})
	}
	// A host name passes the request-time check, but it resolves to
	// loopback: the connect-time guard refuses it, and nothing arrives.
	r := e.mustDo(200, "POST", "/api/render", e.token, map[string]any{"pageId": pageID, "binary": true, "webhook_url": "http://rebind.example.com:" + port + "/hook"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		list := e.mustDo(200, "GET", "/api/webhook-deliveries?renderId="+r.Header.Get("X-Render-Id"), e.token, nil).JSON(t)["data"].([]any)
		if len(list) == 1 && list[0].(map[string]any)["status"] == "exhausted" {
			d := e.mustDo(200, "GET", "/api/webhook-deliveries/"+list[0].(map[string]any)["id"].(string), e.token, nil).JSON(t)
			if msg := d["attempts"].([]any)[0].(map[string]any)["error"].(string); !strings.Contains(msg, "forbidden address") {
				t.Fatalf("attempt error %q", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := rc.Got(); len(got) != 0 {
		t.Fatalf("a refused target received %d webhooks", len(got))
	}
}

func TestEndpointFailingTooLongIsDisabled(t *testing.T) {
	e := startServerCfg(t, server.Config{
		Browser: browser.Config{MaxTabs: 1},
		Egress:  egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Webhooks: delivery.Config{
			Schedule:     []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond},
			DisableAfter: 500 * time.Millisecond,
		},
	})
	rc := newReceiver(t, 500, 500, 500, 500)
	ep := e.mustDo(201, "POST", "/api/webhooks", e.token, map[string]any{"url": rc.URL}).JSON(t)
	e.mustDo(202, "POST", "/api/webhooks/"+ep["id"].(string)+"/test", e.token, nil)
	rc.Wait(t, 3)
	if got := e.waitDisabled(ep["id"].(string)); !strings.Contains(got["disabledReason"].(string), "failed since") {
		t.Fatalf("reason %v", got["disabledReason"])
	}
}

// waitDisabled polls until endpoint id is disabled, and returns it.
func (e *env) waitDisabled(id string) map[string]any {
	e.t.Helper()
	var got map[string]any
	eventually(e.t, 10*time.Second, "endpoint "+id+" still enabled", func() bool {
		got = e.mustDo(200, "GET", "/api/webhooks/"+id, e.token, nil).JSON(e.t)
		return got["enabled"] == false
	})
	return got
}

// TestWebhookBreakerVisible: an endpoint whose receiver fails opens its
// breaker, and the API shows it: the endpoint's breaker state and parked
// count, and each parked delivery as held.
func TestWebhookBreakerVisible(t *testing.T) {
	e := startServerCfg(t, server.Config{Egress: egressAllow("127.0.0.0/8"), Webhooks: delivery.Config{
		BreakAfter: 2, BreakerCooldown: time.Minute, Schedule: []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond}}})
	down := newReceiver(t, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	ep := e.mustDo(201, "POST", "/api/webhooks", e.token, map[string]any{"url": down.URL}).JSON(t)
	id := ep["id"].(string)
	if got := e.mustDo(200, "GET", "/api/webhooks/"+id, e.token, nil).JSON(t); got["breaker"] != "closed" || got["parked"] != 0.0 || got["capped"] != 0.0 {
		t.Fatalf("a new endpoint: %v", got)
	}
	for range 6 {
		e.mustDo(202, "POST", "/api/webhooks/"+id+"/test", e.token, nil)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := e.mustDo(200, "GET", "/api/webhooks/"+id, e.token, nil).JSON(t)
		if got["breaker"] == "open" && got["parked"].(float64) >= 3 && got["breakerOpenUntil"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker never showed open with parked deliveries: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	list := e.mustDo(200, "GET", "/api/webhook-deliveries?endpointId="+id, e.token, nil).JSON(t)["data"].([]any)
	held := 0
	for _, d := range list {
		if d.(map[string]any)["held"] == "parked" {
			held++
			one := e.mustDo(200, "GET", "/api/webhook-deliveries/"+d.(map[string]any)["id"].(string), e.token, nil).JSON(t)
			if one["held"] != "parked" {
				t.Fatalf("the delivery alone: %v", one)
			}
		}
	}
	if held < 3 {
		t.Fatalf("%d deliveries listed as parked: %v", held, list)
	}
}
