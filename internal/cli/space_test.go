package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
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
}
