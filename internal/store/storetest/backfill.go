package storetest

import (
	"context"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
)

// Backfill004 checks that spaces created before migration 004 get a render
// key, render secret and GET-render token, all distinct. st is migrated;
// rollback are the driver's statements that undo 004 (and what depends on
// it), run with exec; then two spaces are added as 003 knew them and st
// migrated again.
func Backfill004(t *testing.T, st store.Store, exec func(ctx context.Context, q string) error, rollback ...string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range append(rollback, `DELETE FROM renderhook_migrations WHERE version = 4`,
		`INSERT INTO spaces(id, name, created_at) VALUES ('spc_old1', 'a', 1), ('spc_old2', 'b', 2)`) {
		if err := exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err1 := st.GetSpace(ctx, "spc_old1")
	b, err2 := st.GetSpace(ctx, "spc_old2")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, sp := range []*store.Space{a, b} {
		if len(sp.RenderKey) < 20 || len(sp.RenderSecret) != 64 || len(sp.GetRenderToken) != 32 {
			t.Fatalf("not backfilled: %+v", sp)
		}
	}
	if a.RenderKey == b.RenderKey || a.RenderSecret == b.RenderSecret || a.GetRenderToken == b.GetRenderToken {
		t.Fatal("backfilled values are shared")
	}
	if got, err := st.GetSpaceByRenderKey(ctx, a.RenderKey); err != nil || got.ID != a.ID {
		t.Fatalf("%+v %v", got, err)
	}
}
