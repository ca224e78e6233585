package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
)

// TestTemplateRenderType: the templates page offers the renderer of each
// template and saves the choice through the page rules (a bad one is
// refused, nothing changed); after an auto template renders, the page
// shows what auto decided, and a log entry says which renderer ran.
func TestTemplateRenderType(t *testing.T) {
	if err := takumi.Available(takumi.Config{}); err != nil {
		t.Skipf("takumi helper not installed (run scripts/install-deps.sh): %v", err)
	}
	e := setup(t, server.Config{})
	tplID, pageID := e.cardPage(t, e.token, nil)
	c := e.client(t)
	c.login(t, e.token)
	csrf := c.csrf(t)

	page := c.get(t, "/ui/templates")
	if page.Status != 200 || !strings.Contains(string(page.Body), `action="/ui/templates/`+tplID+`/render-type"`) ||
		!strings.Contains(string(page.Body), `<option value="html" selected>html</option>`) {
		t.Fatalf("templates page offers no renderer choice (%d):\n%s", page.Status, page.Body)
	}
	if r := c.post(t, "/ui/templates/"+tplID+"/render-type", url.Values{"_csrf": {csrf}, "renderType": {"gpu"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("renderType gpu: %d %s", r.Status, r.Body)
	}
	if got, _ := e.srv.Store.GetTemplate(t.Context(), e.space, tplID); got.RenderType != store.RenderTypeHTML {
		t.Fatalf("a refused choice changed the template: %q", got.RenderType)
	}
	if r := c.post(t, "/ui/templates/"+tplID+"/render-type", url.Values{"_csrf": {csrf}, "renderType": {"auto"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("renderType auto: %d %s", r.Status, r.Body)
	}
	if got, _ := e.srv.Store.GetTemplate(t.Context(), e.space, tplID); got.RenderType != store.RenderTypeAuto {
		t.Fatalf("template render type %q after saving auto", got.RenderType)
	}
	if body := string(c.get(t, "/ui/templates").Body); !strings.Contains(body, "auto decides at this version") {
		t.Fatalf("no pending auto decision shown:\n%s", body)
	}
	r := e.api(t, 200, "GET", "/api/render/"+pageID, e.token, nil)
	ran := r.Header.Get("X-Renderer")
	body := string(c.get(t, "/ui/templates").Body)
	if !strings.Contains(body, "auto renders with <span class=\"badge st-") || !strings.Contains(body, ">"+ran+"</span>") {
		t.Fatalf("auto's decision (%s ran) not shown:\n%s", ran, body)
	}
	logPage := string(c.get(t, "/ui/logs/"+r.Header.Get("X-Request-Id")).Body)
	if !strings.Contains(logPage, `<dd class="renderer">`+ran+`</dd>`) {
		t.Fatalf("log entry does not say %s ran:\n%s", ran, logPage)
	}
}
