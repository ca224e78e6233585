package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite"
)

// TestSpaceCreatePrintsRenderKeys checks that `space create --json` prints
// the keys signed render links need, as stored.
func TestSpaceCreatePrintsRenderKeys(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"space", "create", "--name", "s", "--json", "--data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got spaceCreated
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if got.RenderKey == "" || len(got.RenderSecret) != 64 || got.GetRenderToken == "" {
		t.Fatalf("keys missing: %s", out.String())
	}
	st := openStore(t, dir)
	defer st.Close()
	sp, err := st.GetSpaceByRenderKey(context.Background(), got.RenderKey)
	if err != nil || sp.ID != got.SpaceID || sp.RenderSecret != got.RenderSecret || sp.GetRenderToken != got.GetRenderToken {
		t.Fatalf("stored %+v %v, printed %+v", sp, err, got)
	}
	st.Close()

	// `space list --json` shows the public render key, never the secrets.
	out.Reset()
	if code := Main([]string{"space", "list", "--json", "--data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("list: %v: %s", err, out.String())
	}
	if rows[0]["renderKey"] != got.RenderKey {
		t.Errorf("list renderKey %v, want %s", rows[0]["renderKey"], got.RenderKey)
	}
	if strings.Contains(out.String(), got.RenderSecret) || strings.Contains(out.String(), got.GetRenderToken) {
		t.Errorf("list printed a secret: %s", out.String())
	}
}

// TestQuickstartGivesTheWebhookSecret checks that `make run`'s quickstart
// prints the space's webhook signing secret and keeps it, with the render
// key and secret, in quickstart.json: a user who started there can verify
// webhooks and sign links without rotating anything.
func TestQuickstartGivesTheWebhookSecret(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"quickstart", "--data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "quickstart.json"))
	if err != nil {
		t.Fatal(err)
	}
	var qs quickstartFile
	if err := json.Unmarshal(b, &qs); err != nil {
		t.Fatal(err)
	}
	sp := storedSpace(t, dir, qs.SpaceID)
	if qs.WebhookSecret == "" || qs.WebhookSecret != sp.WebhookSecret || qs.RenderKey != sp.RenderKey || qs.RenderSecret != sp.RenderSecret {
		t.Fatalf("quickstart.json %+v, space %+v", qs, sp)
	}
	if !strings.Contains(out.String(), sp.WebhookSecret) {
		t.Fatalf("the webhook secret is not printed:\n%s", out.String())
	}
}

// TestSpaceRotate checks `space rotate-render-secret` and
// `space rotate-get-render-token`: the new value is printed once and
// stored, the previous one is kept until the overlap ends.
func TestSpaceRotate(t *testing.T) {
	dir := t.TempDir()
	created := createSpaceCLI(t, dir)
	var out, errb bytes.Buffer
	rotate := func(which string, extra ...string) map[string]any {
		t.Helper()
		out.Reset()
		args := append([]string{"space", which, "--space", created.SpaceID, "--json", "--data-dir", dir}, extra...)
		if code := Main(args, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", which, code, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		return m
	}
	before := time.Now()
	rs := rotate("rotate-render-secret", "--render-secret-overlap", "2h")
	gt := rotate("rotate-get-render-token")
	sp := storedSpace(t, dir, created.SpaceID)
	if rs["renderSecret"] != sp.RenderSecret || sp.RenderSecret == created.RenderSecret || sp.RenderSecretPrev != created.RenderSecret ||
		sp.RenderSecretPrevUntil == nil || sp.RenderSecretPrevUntil.Before(before.Add(2*time.Hour-time.Second)) || sp.RenderSecretPrevUntil.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("render secret: printed %v, stored %+v", rs, sp)
	}
	if gt["getRenderToken"] != sp.GetRenderToken || sp.GetRenderTokenPrev != created.GetRenderToken ||
		sp.GetRenderTokenPrevUntil == nil || sp.GetRenderTokenPrevUntil.Before(before.Add(24*time.Hour-time.Second)) {
		t.Errorf("GET-render token: printed %v, stored %+v", gt, sp)
	}
	for _, args := range [][]string{
		{"space", "rotate-render-secret", "--data-dir", dir},
		{"space", "rotate-render-secret", "--space", "spc_nope", "--data-dir", dir},
		{"space", "rotate-get-render-token", "--space", created.SpaceID, "--render-secret-overlap", "-1s", "--data-dir", dir},
	} {
		if code := Main(args, &out, &errb); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

// TestLinkSign checks that `link sign` prints a link bound to the page and
// its query, with exp when asked, under the space's render secret.
func TestLinkSign(t *testing.T) {
	dir := t.TempDir()
	created := createSpaceCLI(t, dir)
	var out, errb bytes.Buffer
	ctx := context.Background()
	st := openStore(t, dir)
	now := time.Now().UTC()
	tpl := &store.Template{ID: store.NewID("tpl"), SpaceID: created.SpaceID, Name: "t", HTML: "x", Width: 1, Height: 1, RequireGetRenderToken: true, CreatedAt: now, UpdatedAt: now}
	pg := &store.Page{ID: store.NewID("pg"), SpaceID: created.SpaceID, Draft: store.PageVersion{TemplateID: tpl.ID}, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePage(ctx, pg); err != nil {
		t.Fatal(err)
	}
	st.Close()

	sign := func(extra ...string) *url.URL {
		t.Helper()
		out.Reset()
		args := append([]string{"link", "sign", "--page", pg.ID, "--query", "tweak:title=Hi", "--data-dir", dir}, extra...)
		if code := Main(args, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		u, err := url.Parse(strings.TrimSpace(out.String()))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := sign("--public-url", "https://img.example/")
	if u.Host != "img.example" || u.Path != "/api/render/"+pg.ID {
		t.Fatalf("link %s", u)
	}
	if err := capability.VerifyPage([]string{created.RenderSecret}, pg.ID, u.RawQuery, now); err != nil {
		t.Fatalf("link does not verify: %v (%s)", err, u)
	}
	if err := capability.VerifyPage([]string{created.RenderSecret}, "pg_other", u.RawQuery, now); err == nil {
		t.Fatal("link verifies for another page")
	}
	exp := sign("--expires-in", "1h")
	if err := capability.VerifyPage([]string{created.RenderSecret}, pg.ID, exp.RawQuery, now); err != nil || !exp.Query().Has("exp") {
		t.Fatalf("expiring link: %v (%s)", err, exp)
	}
	if err := capability.VerifyPage([]string{created.RenderSecret}, pg.ID, exp.RawQuery, now.Add(2*time.Hour)); err == nil {
		t.Fatal("expiring link verifies after its exp")
	}
	if code := Main([]string{"link", "sign", "--page", "pg_nope", "--data-dir", dir}, &out, &errb); code == 0 {
		t.Fatal("unknown page: exit 0")
	}
}

// TestSpaceSetRateLimit sets, reads back and removes a space's limit, and
// refuses an unknown space or a negative value without writing anything.
func TestSpaceSetRateLimit(t *testing.T) {
	dir := t.TempDir()
	sp := createSpaceCLI(t, dir)
	var out, errb bytes.Buffer
	limit := func() int {
		st := openStore(t, dir)
		defer st.Close()
		n, err := st.GetRateLimit(context.Background(), sp.SpaceID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	run := func(args ...string) int {
		out.Reset()
		errb.Reset()
		return Main(append([]string{"space", "set-rate-limit", "--data-dir", dir}, args...), &out, &errb)
	}
	if code := run("--space", sp.SpaceID, "--per-minute", "120"); code != 0 || limit() != 120 {
		t.Fatalf("set: exit %d, limit %d: %s", code, limit(), errb.String())
	}
	if code := run("--space", "spc_nope", "--per-minute", "5"); code == 0 {
		t.Fatalf("unknown space accepted: %s", out.String())
	}
	if code := run("--space", sp.SpaceID, "--per-minute", "-3"); code == 0 || limit() != 120 {
		t.Fatalf("negative accepted: exit %d, limit %d", code, limit())
	}
	if code := run("--space", sp.SpaceID, "--per-minute", "0"); code != 0 || limit() != 0 {
		t.Fatalf("remove: exit %d, limit %d: %s", code, limit(), errb.String())
	}
}

// createSpaceCLI creates a space with `space create --json` in dir and
// returns what it printed.
func createSpaceCLI(t *testing.T, dir string) spaceCreated {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main([]string{"space", "create", "--name", "s", "--json", "--data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var created spaceCreated
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	return created
}

// openStore opens the SQLite store of data dir dir; the caller closes it.
func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// storedSpace reads space id from the store of data dir dir.
func storedSpace(t *testing.T, dir, id string) *store.Space {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	sp, err := st.GetSpace(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
