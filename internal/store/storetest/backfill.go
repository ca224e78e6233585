package storetest

import (
	"context"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
)

// Backfill004 checks that spaces created before migration 004 get a render
// key, render secret and GET-render token, all distinct. It opens and
// migrates a store, runs rollback, the driver's statements that undo 004
// (and what depends on it), adds two spaces as 003 knew them and migrates
// again.
func Backfill004(t *testing.T, open func(t *testing.T) (store.Store, error), rollback ...string) {
	t.Helper()
	ctx := context.Background()
	st := migrated(t, open)
	for _, q := range append(rollback, `DELETE FROM renderhook_migrations WHERE version = 4`,
		`INSERT INTO spaces(id, name, created_at) VALUES ('spc_old1', 'a', 1), ('spc_old2', 'b', 2)`) {
		if err := execScript(ctx, st, q); err != nil {
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

// execScript runs a statement without arguments on the store's own
// database handle.
func execScript(ctx context.Context, st store.Store, q string) error {
	if db := st.QueueDB(); db.SQL != nil {
		_, err := db.SQL.ExecContext(ctx, q)
		return err
	}
	_, err := st.QueueDB().Pgx.Exec(ctx, q)
	return err
}
