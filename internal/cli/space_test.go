package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
	if err != nil {
		t.Fatal(err)
	}
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
	st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sp, err := st.GetSpace(context.Background(), qs.SpaceID)
	if err != nil {
		t.Fatal(err)
	}
	if qs.WebhookSecret == "" || qs.WebhookSecret != sp.WebhookSecret || qs.RenderKey != sp.RenderKey || qs.RenderSecret != sp.RenderSecret {
		t.Fatalf("quickstart.json %+v, space %+v", qs, sp)
	}
	if !strings.Contains(out.String(), sp.WebhookSecret) {
		t.Fatalf("the webhook secret is not printed:\n%s", out.String())
	}
}

// TestSpaceSetRateLimit sets, reads back and removes a space's limit, and
// refuses an unknown space or a negative value without writing anything.
func TestSpaceSetRateLimit(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"space", "create", "--name", "s", "--json", "--data-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var sp spaceCreated
	if err := json.Unmarshal(out.Bytes(), &sp); err != nil {
		t.Fatal(err)
	}
	limit := func() int {
		st, err := sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "renderhook.db")})
		if err != nil {
			t.Fatal(err)
		}
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
